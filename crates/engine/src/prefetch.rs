//! Software prefetch of the records a command will touch, a few commands ahead in a batch.
//!
//! Once the users outgrow the CPU caches the engine is bound by memory latency: each command's
//! user and merchant records are misses, and the ledger and the risk features wait on them one
//! after another. [`Engine::apply_batch_decided`] runs a [`Lookahead`] (and a caller that applies
//! commands one at a time, to look at each outcome, can run one too with [`Engine::look_ahead`]):
//! - every [`CHUNK`] commands it resolves the account slots of the next chunk in one tight loop,
//!   so the index lookups' own misses overlap one another instead of each stalling the engine
//!   (the same loop reads the payment or hold a refund, capture or release is for, to learn its
//!   user, for the same reason);
//! - it asks for the records of the command [`DISTANCE`] places ahead, and, half as far ahead
//!   (when the records have arrived), for the risk aggregates they point to.
//!
//! The slots are hints: a prefetch changes no state and no outcome, so a hint gone stale (an
//! account opened within the chunk) costs nothing but a miss. The hint of the command about to be
//! applied also spares its account lookups ([`Engine::find_user`]), once checked against the
//! record it points to.

use crate::apply::Engine;
use ledger::prefetch::record;
use model::kind;
use model::{Command, CommandKind, MerchantId, UserId};

/// How many commands ahead records are asked for.
const DISTANCE: usize = 6;
/// How many commands' slots are resolved at a time.
const CHUNK: usize = 32;

/// The slots of one command's user and merchant records, resolved ahead of time.
#[derive(Clone, Copy, Default)]
pub(crate) struct Hint {
    users: [Option<u32>; 2],
    merchant: Option<u32>,
}

/// Slots resolved for the current and the next chunk of a slice of commands (a ring of two
/// chunks), for [`Engine::look_ahead`].
pub struct Lookahead {
    hints: [Hint; 2 * CHUNK],
}

impl Default for Lookahead {
    fn default() -> Self {
        Lookahead { hints: [Hint::default(); 2 * CHUNK] }
    }
}

impl Engine {
    /// Call before applying command `index` of `commands` (in order, from 0, with one
    /// [`Lookahead`] per slice): resolves slots a chunk ahead and asks the CPU for the records
    /// and aggregates of the commands ahead; keeps command `index`'s slots for its lookups. A
    /// hint only: it changes no state and no outcome.
    pub fn look_ahead(&mut self, commands: &[Command], index: usize, ahead: &mut Lookahead) {
        if index.is_multiple_of(CHUNK) {
            let from = if index == 0 { 0 } else { index + CHUNK };
            for (at, command) in commands.iter().enumerate().take(index + 2 * CHUNK).skip(from) {
                ahead.hints[at % (2 * CHUNK)] = self.hint(&command.kind);
            }
        }
        self.hint = ahead.hints[index % (2 * CHUNK)];
        if index + DISTANCE < commands.len() {
            let hint = ahead.hints[(index + DISTANCE) % (2 * CHUNK)];
            self.prefetch(
                hint,
                |slot| {
                    record(&self.ledger.users()[slot]);
                    record(&self.lines[slot]);
                    self.risk.prefetch_user(slot, false);
                },
                |slot| {
                    record(&self.ledger.merchants()[slot]);
                    self.risk.prefetch_merchant(slot, false);
                },
            );
        }
        if index + DISTANCE / 2 < commands.len() {
            let hint = ahead.hints[(index + DISTANCE / 2) % (2 * CHUNK)];
            self.prefetch(
                hint,
                |slot| self.risk.prefetch_user(slot, true),
                |slot| self.risk.prefetch_merchant(slot, true),
            );
        }
    }

    /// The slot of `user`: the look-ahead's slot for the command being applied when it holds
    /// that user's record, else the index's. The hint is checked against the record, so one gone
    /// stale (or left from an earlier command) costs only the index lookup it would have saved.
    pub(crate) fn find_user(&self, user: UserId) -> Option<usize> {
        self.ledger.find_user(user, self.hint.users)
    }

    /// The slot of `merchant`, as [`Engine::find_user`] finds a user's.
    pub(crate) fn find_merchant(&self, merchant: MerchantId) -> Option<usize> {
        self.ledger.find_merchant(merchant, self.hint.merchant)
    }

    // Both functions spell out their two user slots: written as `array::map` and an iterator
    // chain, the compiler at times left them as calls (~80 instructions a command).
    fn hint(&self, kind: &CommandKind) -> Hint {
        let ([first, second], merchant) = self.parties(kind);
        let user = |user: Option<UserId>| user.and_then(|user| self.ledger.user_slot(user));
        Hint {
            users: [user(first), user(second)],
            merchant: merchant.and_then(|merchant| self.ledger.merchant_slot(merchant)),
        }
    }

    /// The user and merchant records a command reads: those its body names, and for a refund,
    /// capture or release, whose body does not name the user, the payment's or the hold's user.
    /// Read a chunk ahead, that record's miss overlaps the others of the chunk instead of starting
    /// a chain (payment, then its user's record, then the user's risk) when the command runs.
    fn parties(&self, kind: &CommandKind) -> ([Option<UserId>; 2], Option<MerchantId>) {
        match *kind {
            CommandKind::Pay(kind::Pay { user, merchant, .. })
            | CommandKind::PayFor(kind::PayFor { user, merchant, .. })
            | CommandKind::Authorize(kind::Authorize { user, merchant, .. }) => ([Some(user), None], Some(merchant)),
            CommandKind::Transfer(kind::Transfer { from, to, .. }) => ([Some(from), Some(to)], None),
            CommandKind::TopUp(kind::TopUp { user, .. })
            | CommandKind::Repay(kind::Repay { user, .. })
            | CommandKind::RepayStatement(kind::RepayStatement { user, .. })
            | CommandKind::WithdrawToBank(kind::WithdrawToBank { user, .. })
            | CommandKind::RequestWithdrawal(kind::RequestWithdrawal { user, .. })
            | CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user, .. }) => ([Some(user), None], None),
            CommandKind::Refund(kind::Refund { payment, merchant, .. }) => {
                ([self.ledger.payment(payment).map(|payment| payment.user), None], Some(merchant))
            }
            CommandKind::Capture(kind::Capture { authorization, merchant, .. })
            | CommandKind::Release(kind::Release { authorization, merchant }) => {
                ([self.ledger.authorization(authorization).map(|hold| hold.user), None], Some(merchant))
            }
            CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant, .. }) => ([None, None], Some(merchant)),
            CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant, to, .. }) => {
                ([Some(to), None], Some(merchant))
            }
            CommandKind::AgentCashOut(kind::AgentCashOut { user, agent, .. }) => ([Some(user), None], Some(agent)),
            CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user, .. }) => ([Some(user), None], None),
            _ => ([None, None], None),
        }
    }

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
