//! Command ids remembered for idempotent retries.
//!
//! Ids are kept in two generations, one per window of command time: the current window's and the
//! previous one's. When command time enters a new window the previous generation is emptied whole
//! (its tables kept for the new window's ids, or shrunk to the size the window just ended needed
//! when they are far larger) and the current one takes its place, so no id is ever removed one by
//! one. Removing ids one at a time, a day after they were stored, missed the cache on every
//! command (11 % of the bench's engine time). An id is therefore remembered until the end of the
//! window after its own: at least [`IDEMPOTENCY_WINDOW_MS`], at most twice that.

use crate::table::Map;
use model::Outcome;
use model::{CommandId, CommandKind};
use serde::{Deserialize, Serialize};

/// The shortest time a command id is remembered for idempotent retries, in command time; windows
/// start at UTC midnight, so an id is remembered until the end of the next UTC day.
pub const IDEMPOTENCY_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// What a command id's first application left: enough to answer a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// The journal sequence of the first application (the engine applies every journaled
    /// command in order, so this is `commands_applied` at that time).
    pub sequence: u64,
    /// The body's fingerprint (see [`Tag`]), to tell a retry from another command reusing the id.
    pub fingerprint: u64,
    /// The outcome a retry gets back.
    pub outcome: Outcome,
}

/// The fingerprint of a command body (id and time excluded) is remembered with its id to tell a
/// retry from another command reusing the id. The commands sent by the million — payments,
/// holds, captures, releases, refunds, transfers, top-ups, repayments, payouts, withdrawals —
/// hash a fixed layout ([`hash_words`]): their [`Tag`], then each field as a little-endian word.
/// Every other command hashes a zero word, then its canonical (postcard) encoding
/// ([`encoded_fingerprint`]); the tags keep the layouts apart. Writing whole words lets the hash
/// read them straight back, where a postcard encoding written byte by byte stalled each of the
/// hash's 8-byte reads on store forwarding. Fingerprints are remembered in snapshots: a tag or a
/// layout never changes.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Tag {
    /// `Pay`: user, merchant, credit, balance.
    Pay = 1,
    /// `Authorize`: user, merchant, credit, balance, hold duration.
    Authorize = 2,
    /// `Capture`: authorization, merchant, amount.
    Capture = 3,
    /// `Release`: authorization, merchant.
    Release = 4,
    /// `Refund`: payment, merchant, amount.
    Refund = 5,
    /// `Transfer`: from, to, amount.
    Transfer = 6,
    /// `TopUp`: user, amount.
    TopUp = 7,
    /// `Repay`: user, amount, source.
    Repay = 8,
    /// `RepayStatement`: user, source, in full.
    RepayStatement = 9,
    /// `WithdrawToBank`: user, amount.
    WithdrawToBank = 10,
    /// `PayoutMerchant`: merchant, amount.
    PayoutMerchant = 11,
    /// `RequestWithdrawal`: user, amount, purpose.
    RequestWithdrawal = 12,
}

/// The fingerprint of a fixed layout: the xxh3 hash of the words — the kind's [`Tag`], then its
/// fields — each as 8 little-endian bytes.
#[inline]
pub fn hash_words<const N: usize>(words: [u64; N]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(words.map(u64::to_le_bytes).as_flattened())
}

/// The fingerprint of a command without a fixed layout: a zero word, then its canonical
/// encoding, hashed.
pub fn encoded_fingerprint(kind: &CommandKind, scratch: &mut Vec<u8>) -> u64 {
    scratch.clear();
    scratch.extend_from_slice(&0u64.to_le_bytes());
    model::codec::encode_into(kind, scratch);
    xxhash_rust::xxh3::xxh3_64(scratch)
}

/// The remembered ids of the current and the previous window.
#[derive(Default)]
pub struct RememberedIds {
    /// Index of the current window (command time / [`IDEMPOTENCY_WINDOW_MS`]).
    window: u64,
    current: Map<CommandId, Remembered>,
    previous: Map<CommandId, Remembered>,
}

/// The encoded form: the current window's index, then the previous and the current generation,
/// each sorted by id.
pub type RememberedSnapshot = (u64, [Vec<(CommandId, Remembered)>; 2]);

impl RememberedIds {
    /// Moves to the window of `now_ms`, forgetting the ids of windows before the previous one.
    #[inline]
    pub fn advance(&mut self, now_ms: u64) {
        let window = now_ms / IDEMPOTENCY_WINDOW_MS;
        if window == self.window {
            return;
        }
        // The generation dropped is cleared and reused for the new window, sized for as many
        // ids as the window just ended saw: in steady state its tables keep their memory, so no
        // window allocates, frees or faults in memory again; after a burst they shrink, so the
        // lookups of quieter windows stay within cache-sized tables.
        let expected = self.current.len();
        self.previous.clear_for(expected);
        if window == self.window + 1 {
            std::mem::swap(&mut self.previous, &mut self.current);
        } else {
            self.current.clear_for(expected);
        }
        self.window = window;
    }

    /// What `id` left, if it is still remembered.
    #[inline]
    pub fn get(&self, id: &CommandId) -> Option<&Remembered> {
        self.current.get(id).or_else(|| self.previous.get(id))
    }

    /// Remembers a first application of `id` (the caller has checked it is not remembered).
    #[inline]
    pub fn insert(&mut self, id: CommandId, remembered: Remembered) {
        self.current.insert_new(id, remembered);
    }

    /// Number of ids remembered.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The canonical encoding of both generations.
    pub fn to_snapshot(&self) -> RememberedSnapshot {
        let sorted = |map: &Map<CommandId, Remembered>| {
            let mut entries: Vec<(CommandId, Remembered)> = map.iter().map(|(id, value)| (*id, *value)).collect();
            entries.sort_unstable_by_key(|(id, _)| *id);
            entries
        };
        (self.window, [sorted(&self.previous), sorted(&self.current)])
    }

    /// Rebuilds the ids from [`RememberedIds::to_snapshot`].
    pub fn from_snapshot((window, [previous, current]): RememberedSnapshot) -> RememberedIds {
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
        Remembered { sequence, fingerprint: sequence, outcome: Err(model::Rejection::InvalidAmount) }
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
