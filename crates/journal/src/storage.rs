//! The storage seam: every byte the journal and the snapshots read or write goes through
//! [`Storage`], so the same code runs on real files ([`FileStorage`]) and on a simulated disk
//! ([`MemoryStorage`]) that loses unsynced writes on a crash, tears writes, flips bits and fails
//! writes and syncs on demand — thousands of faults a second, in-process, from a seed.
//!
//! The operations are path-based and few: what a log-structured store needs (append, sync,
//! positional read and write, truncate, rename, list, remove, directory sync, free space).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// What the journal needs of a disk. Implementations must be safe to share between the writer
/// and readers (the projector tails while the writer appends).
pub trait Storage: Send + Sync + fmt::Debug {
    /// Creates a directory and its parents (owner-only permissions on a real disk).
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The names of the entries directly in `directory`, in no particular order.
    fn list(&self, directory: &Path) -> io::Result<Vec<String>>;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Reads up to `buffer.len()` bytes at `offset`; returns how many (0 at the end).
    fn read_at(&self, path: &Path, offset: u64, buffer: &mut [u8]) -> io::Result<usize>;
    /// A file's length in bytes.
    fn length(&self, path: &Path) -> io::Result<u64>;
    /// Creates an empty file; fails if it exists.
    fn create_new(&self, path: &Path) -> io::Result<()>;
    /// Appends `parts`, one after the other, at the end of a file (one write where the system
    /// allows; not durable until [`Storage::sync`]).
    fn append(&self, path: &Path, parts: &[&[u8]]) -> io::Result<()>;
    /// Overwrites bytes at `offset` (not durable until [`Storage::sync`]).
    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Makes a file's content durable (`fdatasync`).
    fn sync(&self, path: &Path) -> io::Result<()>;
    /// Cuts a file to `length` bytes.
    fn truncate(&self, path: &Path, length: u64) -> io::Result<()>;
    /// Renames a file, replacing any file at `to` (durable after [`Storage::sync_directory`]).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals in a directory durable.
    fn sync_directory(&self, directory: &Path) -> io::Result<()>;
    /// Bytes free for writing on the file system holding `path`.
    fn available_bytes(&self, path: &Path) -> io::Result<u64>;
}

/// Writes a whole file durably and atomically: a temporary file, synced, renamed over `path`,
/// and the directory synced. A failure removes the temporary file (best effort), so no partial
/// copy is left behind.
/// The temporary file is named `<name>.<pid>.<n>.tmp`, `n` unique in the process, so two threads
/// or two processes saving the same file never write into each other's copy; a file of that name
/// can only be a dead process's leftover (its pid reused), and is replaced.
pub fn write_atomically(storage: &dyn Storage, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    static NEXT_TEMPORARY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let number = NEXT_TEMPORARY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.{number}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let written = (|| {
        match storage.create_new(&temporary) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                storage.remove(&temporary)?;
                storage.create_new(&temporary)?;
            }
            other => other?,
        }
        storage.append(&temporary, parts)?;
        storage.sync(&temporary)?;
        storage.rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = storage.remove(&temporary);
    }
    written?;
    storage.sync_directory(path.parent().unwrap_or(Path::new(".")))
}

/// Removes the temporary files [`write_atomically`] left in `directory` when a crash, a full
/// disk or a failed rename interrupted it; returns how many. Call it only where no other thread
/// is writing into the directory (at start-up).
pub fn remove_temporary_files(storage: &dyn Storage, directory: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for name in storage.list(directory)?.into_iter().filter(|name| name.ends_with(".tmp")) {
        storage.remove(&directory.join(&name))?;
        tracing::warn!(directory = %directory.display(), %name, "removed a partial file left by an interrupted write");
        removed += 1;
    }
    if removed > 0 {
        storage.sync_directory(directory)?;
    }
    Ok(removed)
}

/// Real files. Files are created owner-only (0600) and directories 0700: a journal holds every
/// customer's payments. The most recently appended file keeps its handle open, so the writer's
/// append and sync cost no `open`.
#[derive(Debug, Default)]
pub struct FileStorage {
    appending: Mutex<Option<(PathBuf, std::fs::File)>>,
}

impl FileStorage {
    /// A shared handle to the real file system.
    pub fn shared() -> Arc<dyn Storage> {
        Arc::new(FileStorage::default())
    }

    fn with_append_handle<T>(
        &self,
        path: &Path,
        run: impl FnOnce(&mut std::fs::File) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut appending = lock(&self.appending);
        if appending.as_ref().is_none_or(|(open, _)| open != path) {
            let file = std::fs::OpenOptions::new().append(true).open(path)?;
            *appending = Some((path.to_owned(), file));
        }
        run(&mut appending.as_mut().expect("set above").1)
    }

    fn forget(&self, path: &Path) {
        let mut appending = lock(&self.appending);
        if appending.as_ref().is_some_and(|(open, _)| open == path) {
            *appending = None;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind, still consistent for our use.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Storage for FileStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)
    }

    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(directory)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_at(&self, path: &Path, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        std::fs::File::open(path)?.read_at(buffer, offset)
    }

    fn length(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn create_new(&self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map(drop)
    }

    fn append(&self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        use std::io::Write;
        self.with_append_handle(path, |file| parts.iter().try_for_each(|part| file.write_all(part)))
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        std::fs::OpenOptions::new().write(true).open(path)?.write_all_at(bytes, offset)
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        self.with_append_handle(path, |file| file.sync_data())
    }

    fn truncate(&self, path: &Path, length: u64) -> io::Result<()> {
        std::fs::OpenOptions::new().write(true).open(path)?.set_len(length)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.forget(from);
        self.forget(to);
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.forget(path);
        std::fs::remove_file(path)
    }

    fn sync_directory(&self, directory: &Path) -> io::Result<()> {
        std::fs::File::open(directory)?.sync_all()
    }

    fn available_bytes(&self, path: &Path) -> io::Result<u64> {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `name` is a NUL-terminated path and `stats` is writable memory of the right type.
        let result = unsafe { libc::statvfs(name.as_ptr(), stats.as_mut_ptr()) };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: statvfs returned 0, so it filled `stats`.
        let stats = unsafe { stats.assume_init() };
        // The field types are 32-bit on some targets.
        #[allow(clippy::useless_conversion)]
        Ok(u64::from(stats.f_bavail).saturating_mul(u64::from(stats.f_frsize)))
    }
}

/// A fault the simulated disk returns on the next matching operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next append or positional write fails with EIO, having written nothing.
    WriteError,
    /// The next append writes only this many bytes, then fails with EIO (a short write).
    ShortWrite(usize),
    /// The next sync fails with EIO; as Linux does, the dirty data is then marked clean without
    /// being written, so a later sync does not retry it and a crash loses it.
    SyncError,
    /// Writes fail with ENOSPC while the disk holds more than this many bytes in all.
    DiskFull(u64),
    /// The process is killed: this operation and every later one fail, and nothing more
    /// reaches the disk, until [`MemoryStorage::crash`] or [`MemoryStorage::restart`]. Applies
    /// once every fault queued before it has been taken.
    Halt,
}

/// One file's bytes: what a read sees, and what survives a crash.
#[derive(Clone, Debug, Default)]
struct Inode {
    content: Vec<u8>,
    durable: Vec<u8>,
    /// Whether `content` has changes a sync would write.
    dirty: bool,
}

#[derive(Debug, Default)]
struct Disk {
    inodes: BTreeMap<u64, Inode>,
    next_inode: u64,
    /// Directory entries as the running system sees them.
    entries: BTreeMap<PathBuf, u64>,
    /// Directory entries as a crash would leave them (updated by directory syncs).
    durable_entries: BTreeMap<PathBuf, u64>,
    directories: BTreeSet<PathBuf>,
    faults: Vec<Fault>,
    halted: bool,
}

/// A simulated disk in memory, for tests: it keeps, per file, the bytes a crash would leave
/// (synced data only, directory changes only once the directory is synced) apart from what
/// reads see, and injects [`Fault`]s. `crash` models power loss: unsynced data is lost, or
/// partly kept (a torn write) at a prefix the caller picks.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    disk: Mutex<Disk>,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{} does not exist", path.display()))
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

impl Disk {
    fn inode(&mut self, path: &Path) -> io::Result<&mut Inode> {
        let number = *self.entries.get(path).ok_or_else(|| not_found(path))?;
        Ok(self.inodes.get_mut(&number).expect("every entry names an inode"))
    }

    /// Takes the first pending fault that `applies` accepts.
    fn take_fault(&mut self, applies: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let position = self.faults.iter().position(applies)?;
        Some(self.faults.remove(position))
    }

    fn used_bytes(&self) -> u64 {
        self.inodes.values().map(|inode| inode.content.len() as u64).sum()
    }

    fn check_space(&self, growth: usize) -> io::Result<()> {
        match self.faults.iter().find_map(|fault| match fault {
            Fault::DiskFull(capacity) => Some(*capacity),
            _ => None,
        }) {
            Some(capacity) if self.used_bytes() + growth as u64 > capacity => {
                Err(io::Error::from_raw_os_error(libc::ENOSPC))
            }
            _ => Ok(()),
        }
    }

    fn parent_exists(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(parent) if !self.directories.contains(parent) => Err(not_found(parent)),
            _ => Ok(()),
        }
    }
}

impl MemoryStorage {
    /// A fresh, empty disk.
    pub fn new() -> Arc<MemoryStorage> {
        Arc::new(MemoryStorage::default())
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        lock(&self.disk)
    }

    /// The disk for an operation of the process, which fails once the process is halted.
    fn live(&self) -> io::Result<MutexGuard<'_, Disk>> {
        let mut disk = self.disk();
        if disk.faults.first() == Some(&Fault::Halt) {
            disk.faults.remove(0);
            disk.halted = true;
        }
        match disk.halted {
            true => Err(eio()),
            false => Ok(disk),
        }
    }

    /// The process restarts without a power loss: the page cache (what reads see) survives,
    /// including data a failed sync left clean but unwritten; pending faults are dropped.
    pub fn restart(&self) {
        let mut disk = self.disk();
        disk.faults.clear();
        disk.halted = false;
    }

    /// Queues a fault for the next operation it applies to (a `DiskFull` stays until cleared).
    pub fn inject(&self, fault: Fault) {
        self.disk().faults.push(fault);
    }

    /// Bytes held by all files, as reads see them (to set a [`Fault::DiskFull`] capacity).
    pub fn used_bytes(&self) -> u64 {
        self.disk().used_bytes()
    }

    /// Drops every pending fault (a full disk gets space again).
    pub fn clear_faults(&self) {
        self.disk().faults.clear();
    }

    /// Power loss: every file goes back to its synced bytes, plus, for a file with unsynced
    /// appends, the first `torn(path, unsynced_bytes)` of them (a write the disk had partly
    /// done); directory entries go back to their last directory sync.
    pub fn crash(&self, mut torn: impl FnMut(&Path, usize) -> usize) {
        let mut disk = self.disk();
        let entries = disk.durable_entries.clone();
        for (path, number) in &entries {
            let inode = disk.inodes.get_mut(number).expect("every entry names an inode");
            let kept = match inode.content.starts_with(&inode.durable) && inode.dirty {
                true => torn(path, inode.content.len() - inode.durable.len()),
                false => 0,
            };
            let durable_length = inode.durable.len();
            inode.durable.extend_from_slice(&inode.content[durable_length..durable_length + kept]);
            inode.content = inode.durable.clone();
            inode.dirty = false;
        }
        let live: BTreeSet<u64> = entries.values().copied().collect();
        disk.inodes.retain(|number, _| live.contains(number));
        disk.entries = entries;
        disk.faults.clear();
        disk.halted = false;
    }

    /// Flips one bit of a file, in what reads see and in what survives a crash (media damage).
    pub fn flip_bit(&self, path: &Path, bit: u64) -> io::Result<()> {
        let mut disk = self.disk();
        let inode = disk.inode(path)?;
        let byte = usize::try_from(bit / 8).map_err(io::Error::other)?;
        if byte >= inode.content.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bit past the end of the file"));
        }
        inode.content[byte] ^= 1 << (bit % 8);
        if byte < inode.durable.len() {
            inode.durable[byte] ^= 1 << (bit % 8);
        }
        Ok(())
    }

    /// Cuts a file durably (an operator's or a tool's damage, not a crash).
    pub fn cut(&self, path: &Path, length: u64) -> io::Result<()> {
        let mut disk = self.disk();
        let inode = disk.inode(path)?;
        let length = usize::try_from(length).map_err(io::Error::other)?.min(inode.content.len());
        inode.content.truncate(length);
        inode.durable.truncate(length);
        Ok(())
    }

    /// Deletes a file durably (an operator's or a tool's damage, not a crash).
    pub fn delete(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        let number = disk.entries.remove(path).ok_or_else(|| not_found(path))?;
        disk.durable_entries.remove(path);
        disk.inodes.remove(&number);
        Ok(())
    }
}

impl Storage for MemoryStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        for ancestor in path.ancestors() {
            disk.directories.insert(ancestor.to_owned());
        }
        Ok(())
    }

    fn list(&self, directory: &Path) -> io::Result<Vec<String>> {
        let disk = self.live()?;
        if !disk.directories.contains(directory) {
            return Err(not_found(directory));
        }
        let files = disk.entries.keys().filter(|path| path.parent() == Some(directory));
        let subdirectories = disk.directories.iter().filter(|path| path.parent() == Some(directory));
        Ok(files
            .chain(subdirectories)
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        Ok(self.live()?.inode(path)?.content.clone())
    }

    fn read_at(&self, path: &Path, offset: u64, buffer: &mut [u8]) -> io::Result<usize> {
        let mut disk = self.live()?;
        let content = &disk.inode(path)?.content;
        let start = usize::try_from(offset).map_err(io::Error::other)?.min(content.len());
        let read = buffer.len().min(content.len() - start);
        buffer[..read].copy_from_slice(&content[start..start + read]);
        Ok(read)
    }

    fn length(&self, path: &Path) -> io::Result<u64> {
        Ok(self.live()?.inode(path)?.content.len() as u64)
    }

    fn create_new(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        disk.parent_exists(path)?;
        if disk.entries.contains_key(path) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", path.display())));
        }
        let number = disk.next_inode;
        disk.next_inode += 1;
        disk.inodes.insert(number, Inode::default());
        disk.entries.insert(path.to_owned(), number);
        Ok(())
    }

    fn append(&self, path: &Path, parts: &[&[u8]]) -> io::Result<()> {
        let mut disk = self.live()?;
        disk.inode(path)?;
        if disk.take_fault(|fault| *fault == Fault::WriteError).is_some() {
            return Err(eio());
        }
        let bytes = parts.concat();
        disk.check_space(bytes.len())?;
        let short = disk.take_fault(|fault| matches!(fault, Fault::ShortWrite(_)));
        let inode = disk.inode(path)?;
        inode.dirty = true;
        match short {
            Some(Fault::ShortWrite(written)) => {
                inode.content.extend_from_slice(&bytes[..written.min(bytes.len())]);
                Err(eio())
            }
            _ => {
                inode.content.extend_from_slice(&bytes);
                Ok(())
            }
        }
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut disk = self.live()?;
        disk.inode(path)?;
        if disk.take_fault(|fault| *fault == Fault::WriteError).is_some() {
            return Err(eio());
        }
        let inode = disk.inode(path)?;
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        if inode.content.len() < start + bytes.len() {
            inode.content.resize(start + bytes.len(), 0);
        }
        inode.content[start..start + bytes.len()].copy_from_slice(bytes);
        inode.dirty = true;
        Ok(())
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        disk.inode(path)?;
        let failed = disk.take_fault(|fault| *fault == Fault::SyncError).is_some();
        let inode = disk.inode(path)?;
        if failed {
            inode.dirty = false;
            return Err(eio());
        }
        if inode.dirty {
            inode.durable = inode.content.clone();
            inode.dirty = false;
        }
        Ok(())
    }

    fn truncate(&self, path: &Path, length: u64) -> io::Result<()> {
        let mut disk = self.live()?;
        let inode = disk.inode(path)?;
        inode.content.truncate(usize::try_from(length).map_err(io::Error::other)?);
        inode.dirty = true;
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        disk.parent_exists(to)?;
        let number = disk.entries.remove(from).ok_or_else(|| not_found(from))?;
        if let Some(replaced) = disk.entries.insert(to.to_owned(), number)
            && !disk.durable_entries.values().any(|durable| *durable == replaced)
        {
            disk.inodes.remove(&replaced);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        let number = disk.entries.remove(path).ok_or_else(|| not_found(path))?;
        if !disk.durable_entries.values().any(|durable| *durable == number) {
            disk.inodes.remove(&number);
        }
        Ok(())
    }

    fn sync_directory(&self, directory: &Path) -> io::Result<()> {
        let mut disk = self.live()?;
        let in_directory = |path: &PathBuf| path.parent() == Some(directory);
        disk.durable_entries.retain(|path, _| !in_directory(path));
        let current: Vec<(PathBuf, u64)> =
            disk.entries.iter().filter(|(path, _)| in_directory(path)).map(|(p, n)| (p.clone(), *n)).collect();
        disk.durable_entries.extend(current);
        let live: BTreeSet<u64> = disk.entries.values().chain(disk.durable_entries.values()).copied().collect();
        disk.inodes.retain(|number, _| live.contains(number));
        Ok(())
    }

    fn available_bytes(&self, _path: &Path) -> io::Result<u64> {
        let disk = self.live()?;
        Ok(disk
            .faults
            .iter()
            .find_map(|fault| match fault {
                Fault::DiskFull(capacity) => Some(capacity.saturating_sub(disk.used_bytes())),
                _ => None,
            })
            .unwrap_or(u64::MAX))
    }
}
