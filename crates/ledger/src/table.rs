//! The ledger's containers. [`Map`] is one hashbrown table that shrinks when it empties (ADR
//! 0017: it replaced a map split into 256 tables, which bought no latency the bench could see).
//! `RecordMap` keeps large records in chunks that never move; `SlotIndex` finds a record's slot
//! from its id, directly for ids that are small numbers.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::{BuildHasher, Hash};

/// Tables at or below this capacity never shrink (shrinking them saves nothing).
const SHRINK_FROM: usize = 64;

type Hasher = foldhash::fast::RandomState;

/// A hash map on one hashbrown table that shrinks when it empties (see [`Map::remove`] and
/// [`Map::clear_for`]). Iteration order is unspecified: callers that need a deterministic order
/// (snapshots) sort.
#[derive(Clone, Debug)]
pub struct Map<K, V> {
    hasher: Hasher,
    table: HashTable<(K, V)>,
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map { hasher: Hasher::default(), table: HashTable::new() }
    }
}

impl<K: Hash + Eq, V> Map<K, V> {
    /// The value for `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        let hash = self.hasher.hash_one(key);
        self.table.find(hash, |(candidate, _)| candidate == key).map(|(_, value)| value)
    }

    /// Whether `key` is present.
    #[inline]
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Inserts, returning the previous value.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.entry(key) {
            (Entry::Occupied(mut occupied), _) => Some(std::mem::replace(&mut occupied.get_mut().1, value)),
            (Entry::Vacant(vacant), key) => {
                vacant.insert((key, value));
                None
            }
        }
    }

    /// Inserts a key the caller has just found absent, without looking for it again (a key
    /// already present would be kept twice; debug builds check).
    pub fn insert_new(&mut self, key: K, value: V) {
        debug_assert!(!self.contains_key(&key), "insert_new of a key already present");
        let Map { hasher, table } = self;
        let hash = hasher.hash_one(&key);
        table.insert_unique(hash, (key, value), |(stored, _)| hasher.hash_one(stored));
    }

    /// Removes, returning the value.
    /// A table that emptied to an eighth of its capacity shrinks, so a burst that grew a map
    /// (say, holds that then settle) does not leave lookups spread over cold memory.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let hash = self.hasher.hash_one(key);
        let (entry, _) = self.table.find_entry(hash, |(candidate, _)| candidate == key).ok()?.remove();
        shrink_if_sparse(&mut self.table, &self.hasher);
        Some(entry.1)
    }

    /// Removes every entry `take` picks and hands it to `keep`; a table left sparse shrinks, as
    /// after [`Map::remove`].
    pub fn remove_where(&mut self, mut take: impl FnMut(&K) -> bool, mut keep: impl FnMut(K, V)) {
        for (key, value) in self.table.extract_if(|(key, _)| take(key)) {
            keep(key, value);
        }
        shrink_if_sparse(&mut self.table, &self.hasher);
    }

    /// The value for `key`, inserting `V::default()` first if absent.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        match self.entry(key) {
            (Entry::Occupied(occupied), _) => &mut occupied.into_mut().1,
            (Entry::Vacant(vacant), key) => &mut vacant.insert((key, V::default())).into_mut().1,
        }
    }

    /// Removes every entry and sizes the table for about `entries` to come. The table keeps its
    /// memory unless it is over four times what they need, and then shrinks to what they need,
    /// so a burst (a bulk import, a busy day) does not leave every later lookup spread over cold
    /// memory, while counts that merely vary never reallocate.
    pub fn clear_for(&mut self, entries: usize) {
        let Map { hasher, table } = self;
        table.clear();
        if table.capacity() > SHRINK_FROM && table.capacity() > 4 * entries {
            table.shrink_to(entries, |(stored, _)| hasher.hash_one(stored));
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All entries, in unspecified order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.table.iter().map(|(key, value)| (key, value))
    }

    /// The key's entry (the key is handed back for a vacant entry to keep).
    fn entry(&mut self, key: K) -> (Entry<'_, (K, V)>, K) {
        let Map { hasher, table } = self;
        let hash = hasher.hash_one(&key);
        let entry = table.entry(hash, |(candidate, _)| *candidate == key, |(stored, _)| hasher.hash_one(stored));
        (entry, key)
    }
}

/// A key that is a number, for `SlotIndex`.
pub(crate) trait Numbered: Copy + Hash + Eq {
    /// The number.
    fn number(self) -> u64;
    /// The key of a number.
    fn from_number(number: u64) -> Self;
}

/// The ids that are numbers: `Numbered` for each newtype of a `u64`.
macro_rules! numbered {
    ($($id:ident),+) => {$(
        impl Numbered for model::$id {
            fn number(self) -> u64 {
                self.0
            }

            fn from_number(number: u64) -> Self {
                model::$id(number)
            }
        }
    )+};
}

numbered!(UserId, MerchantId, CommandId);

/// No slot, in a [`SlotIndex`]'s array.
const NO_SLOT: u32 = u32::MAX;
/// Slots per chunk of a [`SlotIndex`]'s array: 16,384 (64 KiB).
const SLOT_CHUNK: usize = 16_384;

/// Maps ids to slots (account records, payment records). Ids that are small numbers (as most
/// platforms number accounts and commands, from a sequence) sit in an array indexed by the id:
/// two loads, no hashing, 4 bytes a number. Any other id goes to a [`Map`]. The array
/// grows by whole chunks that never move (no pause to copy it), and only while it stays within
/// four times the number of ids plus a chunk (16 bytes an id at most, less than the map takes),
/// so sparse ids never make it large. An id the array reaches is never in the map (growth moves
/// the ids it now reaches out of the map), so a lookup there, found or not, is two loads.
#[derive(Clone, Debug)]
pub(crate) struct SlotIndex<K> {
    chunks: Vec<Box<[u32]>>,
    map: Map<K, u32>,
    /// The smallest number among the map's ids (`u64::MAX` when it has none): growth looks
    /// through the map only when some id there is within the array's new reach, so sparse ids
    /// beyond it never make growth scan them.
    map_lowest: u64,
    length: usize,
}

impl<K> Default for SlotIndex<K> {
    fn default() -> Self {
        SlotIndex { chunks: Vec::new(), map: Map::default(), map_lowest: u64::MAX, length: 0 }
    }
}

impl<K: Numbered> SlotIndex<K> {
    /// The array's slot for `key`, if the array reaches that far.
    fn array_slot(&self, key: &K) -> Option<&u32> {
        let number = usize::try_from(key.number()).ok()?;
        self.chunks.get(number / SLOT_CHUNK).map(|chunk| &chunk[number % SLOT_CHUNK])
    }

    /// The slot of `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<&u32> {
        match self.array_slot(key) {
            Some(slot) => (*slot != NO_SLOT).then_some(slot),
            None => self.map.get(key),
        }
    }

    /// Whether `key` has a slot.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Gives `key` (not yet present) its slot.
    pub fn insert(&mut self, key: K, slot: u32) {
        debug_assert!(!self.contains_key(&key) && slot != NO_SLOT);
        self.length += 1;
        let chunks_allowed = self.chunks.len().max((4 * self.length + SLOT_CHUNK) / SLOT_CHUNK);
        let in_array = usize::try_from(key.number()).ok().filter(|number| number / SLOT_CHUNK < chunks_allowed);
        let Some(number) = in_array else {
            self.map_lowest = self.map_lowest.min(key.number());
            self.map.insert(key, slot);
            return;
        };
        if self.chunks.len() <= number / SLOT_CHUNK {
            self.grow_to(number / SLOT_CHUNK + 1);
        }
        self.chunks[number / SLOT_CHUNK][number % SLOT_CHUNK] = slot;
    }

    /// Extends the array to `chunks` chunks and moves the ids it now reaches out of the map.
    fn grow_to(&mut self, chunks: usize) {
        self.chunks.resize_with(chunks, || vec![NO_SLOT; SLOT_CHUNK].into_boxed_slice());
        let reach = (chunks * SLOT_CHUNK) as u64;
        if self.map_lowest >= reach {
            return;
        }
        let (array, lowest) = (&mut self.chunks, &mut self.map_lowest);
        *lowest = u64::MAX;
        self.map.remove_where(
            |key| {
                let number = key.number();
                if number >= reach {
                    *lowest = (*lowest).min(number);
                }
                number < reach
            },
            |key, slot| {
                let number = key.number() as usize;
                array[number / SLOT_CHUNK][number % SLOT_CHUNK] = slot;
            },
        );
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.length
    }

    /// Every id with its slot, in unspecified order.
    pub fn iter(&self) -> impl Iterator<Item = (K, u32)> + '_ {
        let numbered = self.chunks.iter().flatten().enumerate();
        let array =
            numbered.filter(|(_, slot)| **slot != NO_SLOT).map(|(number, slot)| (K::from_number(number as u64), *slot));
        array.chain(self.map.iter().map(|(key, slot)| (*key, *slot)))
    }
}

impl<K: Numbered> std::ops::Index<&K> for SlotIndex<K> {
    type Output = u32;
    /// The slot of a key the caller knows is present; panics otherwise.
    fn index(&self, key: &K) -> &u32 {
        self.get(key).expect("the key is present")
    }
}

/// Records per chunk of a [`RecordMap`]: 4,096 (a chunk of 40-byte payments is 160 KiB).
const CHUNK: usize = 4_096;

/// A map that only grows, for many large records (payments): the records are written once, in
/// order, into fixed chunks that are never moved or freed, and a [`SlotIndex`] maps each key to
/// its record's position, directly when keys are small numbers. Growth never moves a record.
#[derive(Clone, Debug)]
pub(crate) struct RecordMap<K, V> {
    index: SlotIndex<K>,
    chunks: Vec<Vec<V>>,
}

impl<K, V> Default for RecordMap<K, V> {
    fn default() -> Self {
        RecordMap { index: SlotIndex::default(), chunks: Vec::new() }
    }
}

impl<K: Numbered, V> RecordMap<K, V> {
    fn record(&self, position: u32) -> &V {
        let position = position as usize;
        &self.chunks[position / CHUNK][position % CHUNK]
    }

    /// The value for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.index.get(key).map(|position| self.record(*position))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.index.contains_key(key)
    }

    /// Adds a key the caller has found absent (debug builds check).
    pub fn insert(&mut self, key: K, value: V) {
        let position = u32::try_from(self.index.len()).expect("an engine holds fewer than 2^32 records of a kind");
        self.index.insert(key, position);
        if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("a chunk with room was just ensured").push(value);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// All entries, in unspecified order.
    pub fn iter(&self) -> impl Iterator<Item = (K, &V)> {
        self.index.iter().map(|(key, position)| (key, self.record(position)))
    }
}

impl<K: Numbered, V> Extend<(K, V)> for RecordMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

/// Shrinks a table emptied to an eighth of its capacity to twice its entries.
fn shrink_if_sparse<K: Hash, V>(table: &mut HashTable<(K, V)>, hasher: &Hasher) {
    if table.capacity() > SHRINK_FROM && table.len() * 8 < table.capacity() {
        table.shrink_to(table.len() * 2, |(stored, _)| hasher.hash_one(stored));
    }
}

impl<K: Hash + Eq, V> std::ops::Index<&K> for Map<K, V> {
    type Output = V;
    /// The value for a key the caller knows is present; panics otherwise, like `HashMap`.
    fn index(&self, key: &K) -> &V {
        self.get(key).expect("the key is present")
    }
}

impl<K: Hash + Eq, V> Extend<(K, V)> for Map<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_counts_and_finds() {
        let mut map = Map::default();
        for key in 0..10_000u64 {
            assert_eq!(map.insert(key, key * 2), None);
        }
        assert_eq!(map.insert(7, 0), Some(14));
        assert_eq!((map.len(), map.get(&7), map.contains_key(&10_000)), (10_000, Some(&0), false));
        assert_eq!(map.remove(&7), Some(0));
        assert_eq!(map.remove(&7), None);
        *map.get_or_default(20_000) += 5;
        *map.get_or_default(20_000) += 5;
        assert_eq!((map.len(), map.get(&20_000)), (10_000, Some(&10)));
        map.insert_new(30_000, 1);
        assert_eq!((map.get(&30_000), map.len()), (Some(&1), 10_001));
        assert_eq!(map.iter().count(), map.len());
    }

    #[test]
    fn clear_for_shrinks_the_tables_after_a_burst_and_keeps_fitting_ones() {
        let capacity = |map: &Map<u64, u64>| map.table.capacity();
        let mut map = Map::default();
        map.extend((0..200_000u64).map(|key| (key, key)));
        let burst = capacity(&map);
        map.clear_for(10_000);
        let quiet = capacity(&map);
        assert_eq!((map.len(), map.get(&5)), (0, None));
        assert!(quiet >= 10_000 && quiet * 4 < burst, "{quiet} slots after a burst of {burst}");
        map.extend((0..10_000u64).map(|key| (key, key)));
        let refilled = capacity(&map);
        assert!(refilled < 2 * quiet, "at most a few tables grew again: {refilled} slots");
        map.clear_for(12_000);
        assert_eq!(capacity(&map), refilled, "tables that fit keep their memory");
    }

    proptest::proptest! {
        /// Any ids, small or large, in any order, then a run of sequential ids that grows the
        /// array over ids the map took: the index finds exactly what was inserted, its array
        /// never outgrows four times the ids plus a chunk, no id the array reaches is left in
        /// the map, and the map's lowest id is known.
        #[test]
        fn slot_index_finds_every_id_it_was_given(
            ids in proptest::collection::vec(proptest::prop_oneof![0u64..120_000, proptest::num::u64::ANY], 0..400),
            run in 0u64..30_000,
        ) {
            use model::UserId;
            let mut index = SlotIndex::default();
            let mut model = std::collections::HashMap::new();
            let mut reached = 0;
            for id in ids.into_iter().chain(0..run) {
                if model.contains_key(&id) {
                    continue;
                }
                let slot = model.len() as u32;
                index.insert(UserId(id), slot);
                model.insert(id, slot);
                let reach = index.chunks.len() * SLOT_CHUNK;
                proptest::prop_assert!(reach <= 4 * model.len() + SLOT_CHUNK);
                if reach != reached {
                    reached = reach;
                    proptest::prop_assert!(index.map.iter().all(|(key, _)| key.0 >= reach as u64));
                    let lowest = index.map.iter().map(|(key, _)| key.0).min().unwrap_or(u64::MAX);
                    proptest::prop_assert_eq!(index.map_lowest, lowest);
                }
            }
            for probe in model.keys().copied().chain((0..120_000).step_by(97)) {
                proptest::prop_assert_eq!(index.get(&UserId(probe)), model.get(&probe));
            }
            proptest::prop_assert_eq!(index.iter().count(), model.len());
        }
    }

    #[test]
    fn slot_index_moves_the_ids_its_array_grows_over_out_of_the_map() {
        use model::CommandId;
        let mut index = SlotIndex::default();
        // Ids from 100,000 while the index is nearly empty: too far for the array.
        for id in 100_000..100_010u64 {
            index.insert(CommandId(id), id as u32);
        }
        assert_eq!((index.chunks.len(), index.map.len()), (0, 10));
        for id in 0..30_000u64 {
            index.insert(CommandId(id), id as u32);
        }
        assert_eq!((index.chunks.len(), index.map.len()), (2, 10), "the array reaches only the ids it holds");
        // 30,011 ids allow 8 chunks (131,072 numbers): id 120,000 takes them, and the ten far
        // ids move into the array.
        index.insert(CommandId(120_000), 120_000);
        assert_eq!((index.chunks.len(), index.map.len(), index.len()), (8, 0, 30_011));
        assert_eq!((index[&CommandId(100_003)], index.get(&CommandId(100_010))), (100_003, None));
    }

    #[test]
    fn slot_index_keeps_sequential_ids_in_its_array() {
        use model::UserId;
        let mut index = SlotIndex::default();
        for id in 1..=50_000u64 {
            index.insert(UserId(id), id as u32 - 1);
        }
        index.insert(UserId(u64::MAX), 50_000);
        assert_eq!((index.chunks.len(), index.map.len()), (4, 1), "ids up to 50,000 fill four chunks");
        assert_eq!((index[&UserId(7)], index[&UserId(u64::MAX)]), (6, 50_000));
        assert!(!index.contains_key(&UserId(0)) && !index.contains_key(&UserId(50_001)));
    }

    #[test]
    fn slot_index_array_reaches_four_times_its_ids_plus_a_chunk_and_no_further() {
        use model::UserId;
        let mut index = SlotIndex::default();
        for id in 0..20_000u64 {
            index.insert(UserId(id), id as u32);
        }
        // 20,001 ids allow (4 × 20,001 + 16,384) / 16,384 = 5 chunks: numbers below 81,920.
        index.insert(UserId(81_919), 20_000);
        index.insert(UserId(81_920), 20_001);
        assert_eq!((index.chunks.len(), index.map.len()), (5, 1), "the last chunk allowed, then the map");
        assert_eq!((index[&UserId(81_919)], index[&UserId(81_920)]), (20_000, 20_001));
    }

    #[test]
    fn record_map_keeps_every_record_across_chunks() {
        use model::CommandId;
        let mut map = RecordMap::default();
        let count = 3 * CHUNK as u64 + 5;
        // Sequential keys, and a few far apart that the index keeps in its hash map.
        let keys: Vec<u64> = (0..count).chain((1..=3).map(|far| u64::MAX - far)).collect();
        for key in &keys {
            map.insert(CommandId(*key), key.wrapping_mul(3));
        }
        assert_eq!((map.len(), map.chunks.len()), (keys.len(), 4));
        assert_eq!((map.get(&CommandId(8)), map.get(&CommandId(count))), (Some(&24), None));
        assert_eq!(map.get(&CommandId(u64::MAX - 2)), Some(&(u64::MAX - 2).wrapping_mul(3)));
        assert!(map.contains_key(&CommandId(count - 1)) && !map.contains_key(&CommandId(u64::MAX)));
        let mut entries: Vec<(u64, u64)> = map.iter().map(|(key, value)| (key.0, *value)).collect();
        entries.sort_unstable();
        let mut expected: Vec<(u64, u64)> = keys.iter().map(|key| (*key, key.wrapping_mul(3))).collect();
        expected.sort_unstable();
        assert!(entries == expected, "every record, once, under its own key");
    }
}
