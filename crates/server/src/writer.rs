//! The single writer: owns the engine and the journal, forms batches from concurrent requests,
//! applies them, makes them durable with one fsync, and only then replies (group commit).
//!
//! Reads of engine state go through the same queue, so a read sees every write acknowledged
//! before it was sent. Nothing else touches the engine: no locks on the hot path.

use crate::metrics as names;
use crate::store::{self, Recovered};
use engine::Engine;
use model::risk::Decision;
use model::{ActorId, Command, CommandId, CommandKind, Initiator, Outcome, codec};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Tunables of the writer.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    /// The most commands in one journal record (one fsync).
    pub batch_max_commands: usize,
    /// Requests waiting beyond this are refused with `overloaded`.
    pub queue_capacity: usize,
    /// A sandbox: the clock may be moved forward by [`WriterHandle::advance_clock`].
    pub sandbox: bool,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig { batch_max_commands: 8_192, queue_capacity: 16_384, sandbox: false }
    }
}

/// The most a sandbox clock moves in one call: 400 days, in milliseconds.
pub const CLOCK_ADVANCE_MAX_MS: u64 = 400 * 24 * 60 * 60 * 1000;

/// A command as a client sent it, with the key that sent it: the writer stamps the time.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The client's command id.
    pub id: CommandId,
    /// The sending key.
    pub actor: ActorId,
    /// Whether a merchant key sent it (then its payments need the user's mandate).
    pub initiator: Initiator,
    /// What to do.
    pub kind: CommandKind,
}

/// A command's durable result: its journal sequence, outcome and notable risk decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed {
    /// Journal sequence of the command's first application (for a retry: the original's).
    pub sequence: u64,
    /// Whether this was a retry answered with the remembered outcome.
    pub replayed: bool,
    /// What the engine decided.
    pub outcome: Outcome,
    /// The risk decision, when a rule fired or the command was not simply allowed.
    pub decision: Option<Box<Decision>>,
}

/// Why a request got no outcome. None of these acknowledges anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The queue is full; retry later.
    #[error("the writer queue is full; retry with the same command ids")]
    Overloaded,
    /// The writer stopped (shutdown or a storage fault).
    #[error("the writer has stopped; nothing in this request was acknowledged")]
    Stopped,
}

type ReadFn = Box<dyn FnOnce(&Engine) + Send>;

enum Request {
    Write {
        drafts: Vec<Draft>,
        reply: oneshot::Sender<Vec<Committed>>,
    },
    Read(ReadFn),
    /// Moves a sandbox clock forward; replies with the clock after the ticks it caused, or
    /// `None` on a server that is not a sandbox.
    AdvanceClock {
        by_ms: u64,
        reply: oneshot::Sender<Option<u64>>,
    },
}

/// Progress shared with the projector, metrics and health.
#[derive(Debug, Default)]
pub struct Progress {
    /// The sequence after the last durable command.
    pub durable_end: AtomicU64,
    /// The sequence after the last command in the read model.
    pub projected_end: AtomicU64,
    /// Why the server is unhealthy, by component (`writer`, `projector`, `snapshots`); empty
    /// when healthy. Set when a component stops or fails, cleared when it recovers.
    faults: std::sync::Mutex<std::collections::BTreeMap<&'static str, String>>,
    /// Woken when the writer stops on a storage fault, so the server shuts down (exit 70).
    pub writer_stopped: tokio::sync::Notify,
}

impl Progress {
    /// Records (or, with `None`, clears) a component's fault.
    pub fn set_fault(&self, component: &'static str, fault: Option<String>) {
        let mut faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match fault {
            Some(reason) => faults.insert(component, reason),
            None => faults.remove(component),
        };
    }

    /// The current faults, as `component: reason` lines, sorted.
    pub fn faults(&self) -> Vec<String> {
        let faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        faults.iter().map(|(component, reason)| format!("{component}: {reason}")).collect()
    }

    /// The writer's fault, if it stopped on one.
    pub fn writer_fault(&self) -> Option<String> {
        let faults = self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        faults.get(WRITER).cloned()
    }
}

/// The writer's component name in [`Progress`] faults.
pub const WRITER: &str = "writer";
/// How often, at most, the writer records the journal's high-water mark.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// A cheap, cloneable handle to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    sender: SyncSender<Request>,
}

impl WriterHandle {
    /// Submits commands; resolves once they are durable, with one result per command in order.
    pub async fn submit(&self, drafts: Vec<Draft>) -> Result<Vec<Committed>, WriteError> {
        let (reply, receive) = oneshot::channel();
        self.send(Request::Write { drafts, reply })?;
        receive.await.map_err(|_| WriteError::Stopped)
    }

    /// Runs `read` against the engine after every earlier write.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> Result<T, WriteError> {
        let (reply, receive) = oneshot::channel();
        self.send(Request::Read(Box::new(move |engine| {
            let _ = reply.send(read(engine));
        })))?;
        receive.await.map_err(|_| WriteError::Stopped)
    }

    /// Moves a sandbox's clock forward by `by_ms` (1 to [`CLOCK_ADVANCE_MAX_MS`], checked by the
    /// caller) and runs the ticks the wall clock would have run (holds lapse, days end,
    /// statements close, penalties accrue); resolves with the clock after them. On a server that
    /// is not a sandbox it does nothing and resolves with `None`.
    pub async fn advance_clock(&self, by_ms: u64) -> Result<Option<u64>, WriteError> {
        let (reply, receive) = oneshot::channel();
        self.send(Request::AdvanceClock { by_ms, reply })?;
        receive.await.map_err(|_| WriteError::Stopped)
    }

    fn send(&self, request: Request) -> Result<(), WriteError> {
        self.sender.try_send(request).map_err(|error| match error {
            TrySendError::Full(_) => WriteError::Overloaded,
            TrySendError::Disconnected(_) => WriteError::Stopped,
        })
    }
}

fn wall_clock_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Starts the writer thread. It stops when every handle is dropped, after a final snapshot.
/// Periodic snapshots are the projector's job, so that encoding the state never stalls writes.
/// `durable` receives each new durable end (for the projector).
pub fn spawn(
    recovered: Recovered,
    config: WriterConfig,
    progress: Arc<Progress>,
    durable: mpsc::Sender<u64>,
) -> std::io::Result<(WriterHandle, std::thread::JoinHandle<()>)> {
    let (sender, receiver) = mpsc::sync_channel(config.queue_capacity);
    progress.durable_end.store(recovered.journal.next_sequence(), Ordering::Release);
    // A sandbox's clock runs ahead of the wall clock by what it was moved: after a restart the
    // engine's time says by how much.
    let clock_offset_ms = match config.sandbox {
        true => recovered.engine.now_ms().saturating_sub(wall_clock_ms()),
        false => 0,
    };
    let mut writer = Writer {
        recovered,
        config,
        progress,
        durable,
        now_ms: 0,
        clock_offset_ms,
        checkpointed: Instant::now(),
        stopped: false,
    };
    let thread = std::thread::Builder::new().name("writer".into()).spawn(move || writer.run(receiver))?;
    Ok((WriterHandle { sender }, thread))
}

struct Writer {
    recovered: Recovered,
    config: WriterConfig,
    progress: Arc<Progress>,
    durable: mpsc::Sender<u64>,
    now_ms: u64,
    /// How far a sandbox's clock runs ahead of the wall clock (0 on a real server).
    clock_offset_ms: u64,
    checkpointed: Instant,
    /// Set after a storage fault: nothing more is appended, every request gets `Stopped`.
    stopped: bool,
}

/// Commands collected for one journal record, with who is waiting for which slice.
#[derive(Default)]
struct Batch {
    commands: Vec<Command>,
    waiting: Vec<(usize, oneshot::Sender<Vec<Committed>>)>,
}

impl Writer {
    fn run(&mut self, receiver: Receiver<Request>) {
        let mut batch = Batch::default();
        loop {
            match receiver.recv_timeout(Duration::from_millis(500)) {
                Ok(request) => self.take(request, &mut batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while batch.commands.len() < self.config.batch_max_commands {
                match receiver.try_recv() {
                    Ok(request) => self.take(request, &mut batch),
                    Err(_) => break,
                }
            }
            self.flush(&mut batch);
            if self.stopped {
                return;
            }
            self.checkpoint(false);
        }
        self.flush(&mut batch);
        if self.stopped {
            return;
        }
        self.checkpoint(true);
        let sequence = self.recovered.journal.next_sequence();
        let _ = store::save_snapshot(&self.recovered.snapshots, sequence, &self.recovered.engine);
    }

    /// Records the journal's high-water mark, at most once a `CHECKPOINT_INTERVAL` unless `now`.
    fn checkpoint(&mut self, now: bool) {
        if !now && self.checkpointed.elapsed() < CHECKPOINT_INTERVAL {
            return;
        }
        self.checkpointed = Instant::now();
        if let Err(error) = self.recovered.journal.checkpoint() {
            self.stop(format!("recording the journal's high-water mark failed: {error}"));
        }
    }

    /// Stops on a storage fault: what is in flight gets `Stopped` (HTTP 503, nothing
    /// acknowledged), health turns unhealthy, and the server shuts down so that a restart
    /// recovers a state consistent with what is durable.
    fn stop(&mut self, reason: String) {
        tracing::error!(%reason, "storage fault; the writer stops and the server shuts down");
        self.progress.set_fault(WRITER, Some(reason));
        self.stopped = true;
        self.progress.writer_stopped.notify_one();
    }

    fn take(&mut self, request: Request, batch: &mut Batch) {
        match request {
            Request::Write { .. } | Request::Read(_) | Request::AdvanceClock { .. } if self.stopped => {}
            Request::AdvanceClock { reply, .. } if !self.config.sandbox => {
                let _ = reply.send(None);
            }
            Request::AdvanceClock { by_ms, reply } => {
                self.flush(batch);
                self.clock_offset_ms = self.clock_offset_ms.saturating_add(by_ms);
                self.flush(batch);
                let _ = reply.send(Some(self.now_ms));
            }
            Request::Write { drafts, reply } => {
                let start = batch.commands.len();
                let commands = drafts.into_iter().map(|Draft { id, actor, initiator, kind }| Command {
                    id,
                    time_ms: 0,
                    actor,
                    initiator,
                    kind,
                });
                batch.commands.extend(commands);
                batch.waiting.push((start, reply));
            }
            Request::Read(read) => {
                self.flush(batch);
                read(&self.recovered.engine);
            }
        }
    }

    /// Stamps, applies, journals (one fsync) and replies; a storage fault stops the writer
    /// (see `stop`) so that a restart rebuilds the engine from what is durable.
    fn flush(&mut self, batch: &mut Batch) {
        if self.stopped {
            batch.commands.clear();
            batch.waiting.clear();
            return;
        }
        self.now_ms = self.now_ms.max(wall_clock_ms().saturating_add(self.clock_offset_ms));
        let engine = &mut self.recovered.engine;
        let waited = batch.commands.len();
        if engine.next_tick_ms().is_some_and(|due_ms| due_ms <= self.now_ms) {
            batch.commands.push(Command {
                id: CommandId(0),
                time_ms: 0,
                kind: CommandKind::Tick,
                actor: ActorId::SERVER,
                initiator: Initiator::Platform,
            });
        }
        if batch.commands.is_empty() {
            return;
        }
        for command in &mut batch.commands {
            command.time_ms = self.now_ms;
        }
        let (mut outcomes, mut postings) = (Vec::with_capacity(batch.commands.len()), Vec::new());
        let mut decisions = Vec::new();
        let applying = Instant::now();
        engine.apply_batch_decided(&batch.commands, &mut outcomes, &mut postings, &mut decisions);
        metrics::histogram!(names::BATCH_APPLY_SECONDS).record(applying.elapsed().as_secs_f64());
        let mut payload = Vec::with_capacity(batch.commands.len() * 32);
        codec::encode_batch(&batch.commands, &mut payload);
        let count = u32::try_from(batch.commands.len()).expect("batches are bounded by batch_max_commands");
        let started = Instant::now();
        let first_sequence = match self.recovered.journal.append(&payload, count) {
            Ok(sequence) => sequence,
            Err(error) => {
                // The engine has applied what the journal does not hold: it must not answer again.
                batch.commands.clear();
                batch.waiting.clear();
                self.stop(format!("journal append failed: {error}"));
                return;
            }
        };
        metrics::histogram!(names::JOURNAL_APPEND_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(names::BATCH_COMMANDS).record(f64::from(count));
        metrics::gauge!(names::JOURNAL_BYTES).set(self.recovered.journal.size_bytes() as f64);
        let end = self.recovered.journal.next_sequence();
        self.progress.durable_end.store(end, Ordering::Release);
        let _ = self.durable.send(end);
        let waiting = std::mem::take(&mut batch.waiting);
        let ends: Vec<usize> = waiting.iter().skip(1).map(|(start, _)| *start).chain([waited]).collect();
        let mut decisions = decisions.into_iter().peekable();
        for ((start, reply), stop) in waiting.into_iter().zip(ends) {
            let committed = (start..stop)
                .map(|index| {
                    let decision = decisions.next_if(|(at, _)| *at as usize == index).map(|(_, decision)| decision);
                    let mut committed =
                        self.committed(&batch.commands[index], first_sequence + index as u64, outcomes[index]);
                    committed.decision = decision.map(Box::new);
                    committed
                })
                .collect();
            let _ = reply.send(committed);
        }
        batch.commands.clear();
    }

    /// The result of one command journaled at `sequence`; a retry points at the original.
    fn committed(&self, command: &Command, sequence: u64, outcome: model::Outcome) -> Committed {
        let original = match outcome {
            Err(model::Rejection::IdempotencyConflict) => None,
            _ => self.recovered.engine.first_sequence(command.id),
        };
        let first = original.unwrap_or(sequence);
        Committed { sequence: first, replayed: first != sequence, outcome, decision: None }
    }
}
