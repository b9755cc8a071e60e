//! Software prefetch of the records a command will touch, a few commands ahead in a batch.
//!
//! Once the users outgrow the CPU caches the engine is bound by memory latency: each command's
//! user and merchant records are misses, and the ledger and the risk features wait on them one
//! after another. [`Engine::apply_batch_decided`] runs a [`Lookahead`] over its batch as a pass
//! of its own, a step ahead of the commands it applies (and a caller that applies commands one at
//! a time, to look at each outcome, runs one the same way: [`Lookahead::next`], then
//! [`Engine::apply_hinted`]):
//! - every [`CHUNK`] commands it resolves the account slots of the next chunk in one tight loop,
//!   so the index lookups' own misses overlap one another instead of each stalling the engine
//!   (the same loop reads the payment or hold a refund, capture or release is for, to learn its
//!   user, for the same reason);
//! - it asks for the records of the command [`DISTANCE`] places ahead, and, half as far ahead
//!   (when the records have arrived), for the risk aggregates they point to.
//!
//! The slots are hints: a prefetch changes no state and no outcome, so a hint gone stale (an
//! account opened within the chunk) costs nothing but a miss. The [`Hint`] of the command about
//! to be applied goes with it into the engine and spares its account lookups, once checked
//! against the record it points to.

use crate::apply::Engine;
use ledger::Ledger;
use ledger::prefetch::record;
use model::{Command, MerchantId, UserId};

/// How many commands ahead records are asked for.
const DISTANCE: usize = 6;
/// How many commands' slots are resolved at a time.
const CHUNK: usize = 32;

/// The slots of one command's user and merchant records, resolved ahead of time by a
/// [`Lookahead`]; the default knows none. Checked against the records before use.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hint {
    users: [Option<u32>; 2],
    merchant: Option<u32>,
}

impl Hint {
    /// The slot of `user`: the hint's when it holds that user's record, else the index's. One
    /// gone stale costs only the index lookup it would have saved.
    #[inline]
    pub(crate) fn user(&self, ledger: &Ledger, user: UserId) -> Option<usize> {
        ledger.find_user(user, self.users)
    }

    /// The slot of `merchant`, as [`Hint::user`] finds a user's.
    #[inline]
    pub(crate) fn merchant(&self, ledger: &Ledger, merchant: MerchantId) -> Option<usize> {
        ledger.find_merchant(merchant, self.merchant)
    }

    // Spelled out for both user slots: written as `array::map` and an iterator chain, the
    // compiler at times left this as a call (~80 instructions a command).
    fn of(command: &Command, ledger: &Ledger) -> Hint {
        let ([first, second], merchant) = crate::kinds::parties(&command.kind, ledger);
        let user = |user: Option<UserId>| user.and_then(|user| ledger.user_slot(user));
        Hint {
            users: [user(first), user(second)],
            merchant: merchant.and_then(|merchant| ledger.merchant_slot(merchant)),
        }
    }
}

/// Slots resolved for the current and the next chunk of a slice of commands (a ring of two
/// chunks).
pub struct Lookahead {
    hints: [Hint; 2 * CHUNK],
}

impl Default for Lookahead {
    fn default() -> Self {
        Lookahead { hints: [Hint::default(); 2 * CHUNK] }
    }
}

impl Lookahead {
    /// Call before applying command `index` of `commands` (in order, from 0, with one
    /// [`Lookahead`] per slice): resolves slots a chunk ahead and asks the CPU for the records
    /// and aggregates of the commands ahead; returns command `index`'s [`Hint`] for
    /// [`Engine::apply_hinted`]. It changes no state and no outcome.
    pub fn next(&mut self, engine: &Engine, commands: &[Command], index: usize) -> Hint {
        if index.is_multiple_of(CHUNK) {
            let from = if index == 0 { 0 } else { index + CHUNK };
            for (at, command) in commands.iter().enumerate().take(index + 2 * CHUNK).skip(from) {
                self.hints[at % (2 * CHUNK)] = Hint::of(command, &engine.ledger);
            }
        }
        if index + DISTANCE < commands.len() {
            let hint = self.hints[(index + DISTANCE) % (2 * CHUNK)];
            engine.prefetch(
                hint,
                |slot| {
                    record(&engine.ledger.users()[slot]);
                    record(&engine.lines[slot]);
                    engine.risk.prefetch_user(slot, false);
                },
                |slot| {
                    record(&engine.ledger.merchants()[slot]);
                    engine.risk.prefetch_merchant(slot, false);
                },
            );
        }
        if index + DISTANCE / 2 < commands.len() {
            let hint = self.hints[(index + DISTANCE / 2) % (2 * CHUNK)];
            engine.prefetch(
                hint,
                |slot| engine.risk.prefetch_user(slot, true),
                |slot| engine.risk.prefetch_merchant(slot, true),
            );
        }
        self.hints[index % (2 * CHUNK)]
    }
}

impl Engine {
    /// Calls `user` and `merchant` with the hint's slots that hold records (a slot's records
    /// are all present or all absent: accounts open with their credit line and risk record).
    fn prefetch(&self, hint: Hint, user: impl Fn(usize), merchant: impl Fn(usize)) {
        for slot in hint.users.iter().flatten().map(|slot| *slot as usize) {
            if slot < self.lines.len() {
                user(slot);
            }
        }
        if let Some(slot) = hint.merchant.map(|slot| slot as usize).filter(|slot| *slot < self.ledger.merchants().len())
        {
            merchant(slot);
        }
    }
}
