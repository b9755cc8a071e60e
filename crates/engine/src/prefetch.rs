//! Software prefetch of the records a command will touch, a few commands ahead in a batch.
//!
//! Once the users outgrow the CPU caches the engine is bound by memory latency: each command's
//! user and merchant records are misses, and the ledger and the risk features wait on them one
//! after another. [`Engine::apply_batch_decided`] asks for the records of the command
//! [`DISTANCE`] places ahead, so those misses overlap with the work on the current one, and half
//! as far ahead (when the records have arrived) the risk aggregates they point to. A prefetch is
//! only a hint: it changes no state and no outcome.

use crate::command::{CommandKind, MerchantId, UserId};
use crate::ledger::Engine;

/// How many commands ahead records are asked for.
pub(crate) const DISTANCE: usize = 6;

/// The user and merchant records a command reads, as far as its body names them.
fn parties(kind: &CommandKind) -> ([Option<UserId>; 2], Option<MerchantId>) {
    match *kind {
        CommandKind::Pay { user, merchant, .. }
        | CommandKind::PayFor { user, merchant, .. }
        | CommandKind::Authorize { user, merchant, .. } => ([Some(user), None], Some(merchant)),
        CommandKind::Transfer { from, to, .. } => ([Some(from), Some(to)], None),
        CommandKind::TopUp { user, .. }
        | CommandKind::Repay { user, .. }
        | CommandKind::RepayStatement { user, .. }
        | CommandKind::WithdrawToBank { user, .. }
        | CommandKind::RequestWithdrawal { user, .. }
        | CommandKind::ConvertToInstalments { user, .. } => ([Some(user), None], None),
        CommandKind::Refund { merchant, .. }
        | CommandKind::Capture { merchant, .. }
        | CommandKind::Release { merchant, .. }
        | CommandKind::PayoutMerchant { merchant, .. } => ([None, None], Some(merchant)),
        _ => ([None, None], None),
    }
}

impl Engine {
    /// Asks the CPU for the records `kind` will read: the user and merchant records themselves
    /// (`stage` [`Stage::Records`]), or what they point to, once they are cached
    /// ([`Stage::Aggregates`]).
    pub(crate) fn prefetch(&self, kind: &CommandKind, stage: Stage) {
        let (users, merchant) = parties(kind);
        for user in users.into_iter().flatten() {
            if let Some(slot) = self.user_index.get(&user) {
                let user = &self.users[*slot as usize];
                match stage {
                    Stage::Records => record(user),
                    Stage::Aggregates => user.risk.prefetch(),
                }
            }
        }
        if let Some(slot) = merchant.and_then(|merchant| self.merchant_index.get(&merchant)) {
            let merchant = &self.merchants[*slot as usize];
            match stage {
                Stage::Records => record(merchant),
                Stage::Aggregates => merchant.risk.prefetch(),
            }
        }
    }
}

/// What [`Engine::prefetch`] asks for.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    /// The user and merchant records.
    Records,
    /// The risk aggregates on the heap the records point to.
    Aggregates,
}

/// Every cache line of a record.
fn record<T>(value: &T) {
    slice(std::slice::from_ref(value));
}

/// Every cache line of a slice.
pub(crate) fn slice<T>(values: &[T]) {
    let start = values.as_ptr().cast::<u8>();
    for offset in (0..size_of_val(values)).step_by(64) {
        line(start.wrapping_add(offset));
    }
}

#[cfg(target_arch = "x86_64")]
fn line(address: *const u8) {
    // SAFETY: a prefetch is a hint without memory effects, valid for any address; SSE, which
    // provides it, is part of the x86_64 baseline.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn line(_address: *const u8) {}
