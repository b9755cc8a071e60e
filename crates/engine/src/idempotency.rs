//! Command ids remembered for idempotent retries.
//!
//! Ids are kept in two generations, one per window of command time: the current window's and the
//! previous one's. When command time enters a new window the previous generation is dropped whole
//! and the current one takes its place, so no id is ever removed one by one. Removing ids one at
//! a time, a day after they were stored, missed the cache on every command (11 % of the bench's
//! engine time). An id is therefore remembered until the end of the window after its own: at least
//! [`IDEMPOTENCY_WINDOW_MS`], at most twice that.

use crate::command::CommandId;
use crate::outcome::Outcome;
use crate::table::ShardedMap;
use serde::{Deserialize, Serialize};

/// The shortest time a command id is remembered for idempotent retries, in command time; windows
/// start at UTC midnight, so an id is remembered until the end of the next UTC day.
pub const IDEMPOTENCY_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// What a command id's first application left: enough to answer a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Remembered {
    /// The journal sequence of the first application (the engine applies every journaled
    /// command in order, so this is `commands_applied` at that time).
    pub(crate) sequence: u64,
    pub(crate) fingerprint: u64,
    pub(crate) outcome: Outcome,
}

/// The remembered ids of the current and the previous window.
#[derive(Default)]
pub(crate) struct RememberedIds {
    /// Index of the current window (command time / [`IDEMPOTENCY_WINDOW_MS`]).
    window: u64,
    current: ShardedMap<CommandId, Remembered>,
    previous: ShardedMap<CommandId, Remembered>,
}

/// The encoded form: the current window's index, then the previous and the current generation,
/// each sorted by id.
pub(crate) type RememberedSnapshot = (u64, [Vec<(CommandId, Remembered)>; 2]);

impl RememberedIds {
    /// Moves to the window of `now_ms`, forgetting the ids of windows before the previous one.
    pub(crate) fn advance(&mut self, now_ms: u64) {
        let window = now_ms / IDEMPOTENCY_WINDOW_MS;
        if window == self.window {
            return;
        }
        // The generation dropped is cleared and reused for the new window, which sees about as
        // many ids: its tables keep their memory, so no window allocates, frees or faults in
        // memory again.
        self.previous.clear();
        if window == self.window + 1 {
            std::mem::swap(&mut self.previous, &mut self.current);
        } else {
            self.current.clear();
        }
        self.window = window;
    }

    /// What `id` left, if it is still remembered.
    pub(crate) fn get(&self, id: &CommandId) -> Option<&Remembered> {
        self.current.get(id).or_else(|| self.previous.get(id))
    }

    /// Remembers a first application of `id` (the caller has checked it is not remembered).
    pub(crate) fn insert(&mut self, id: CommandId, remembered: Remembered) {
        self.current.insert(id, remembered);
    }

    /// Number of ids remembered.
    pub(crate) fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// The canonical encoding of both generations.
    pub(crate) fn to_snapshot(&self) -> RememberedSnapshot {
        let sorted = |map: &ShardedMap<CommandId, Remembered>| {
            let mut entries: Vec<(CommandId, Remembered)> = map.iter().map(|(id, value)| (*id, *value)).collect();
            entries.sort_unstable_by_key(|(id, _)| *id);
            entries
        };
        (self.window, [sorted(&self.previous), sorted(&self.current)])
    }

    /// Rebuilds the ids from [`RememberedIds::to_snapshot`].
    pub(crate) fn from_snapshot((window, [previous, current]): RememberedSnapshot) -> RememberedIds {
        let mut ids = RememberedIds { window, ..RememberedIds::default() };
        ids.previous.extend(previous);
        ids.current.extend(current);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remembered(sequence: u64) -> Remembered {
        Remembered { sequence, fingerprint: sequence, outcome: Err(crate::outcome::Rejection::InvalidAmount) }
    }

    #[test]
    fn ids_live_through_the_next_window_and_no_longer() {
        let mut ids = RememberedIds::default();
        let start = 10 * IDEMPOTENCY_WINDOW_MS;
        ids.advance(start + IDEMPOTENCY_WINDOW_MS - 1);
        ids.insert(CommandId(1), remembered(1));
        // A full window later the id is still there: the shortest life is one window.
        ids.advance(start + 2 * IDEMPOTENCY_WINDOW_MS - 1);
        ids.insert(CommandId(2), remembered(2));
        assert_eq!(ids.get(&CommandId(1)).map(|entry| entry.sequence), Some(1));
        assert_eq!(ids.len(), 2);
        ids.advance(start + 2 * IDEMPOTENCY_WINDOW_MS);
        assert_eq!(ids.get(&CommandId(1)), None, "gone once its next window has ended");
        assert_eq!(ids.get(&CommandId(2)).map(|entry| entry.sequence), Some(2));
        // A jump over a whole window forgets both generations.
        ids.advance(start + 4 * IDEMPOTENCY_WINDOW_MS);
        assert_eq!((ids.get(&CommandId(2)), ids.len()), (None, 0));
    }

    #[test]
    fn the_snapshot_round_trips() {
        let mut ids = RememberedIds::default();
        ids.advance(IDEMPOTENCY_WINDOW_MS);
        ids.insert(CommandId(9), remembered(1));
        ids.advance(2 * IDEMPOTENCY_WINDOW_MS);
        ids.insert(CommandId(3), remembered(2));
        let snapshot = ids.to_snapshot();
        assert_eq!(snapshot.1, [vec![(CommandId(9), remembered(1))], vec![(CommandId(3), remembered(2))]]);
        let restored = RememberedIds::from_snapshot(snapshot.clone());
        assert_eq!(restored.to_snapshot(), snapshot);
    }
}
