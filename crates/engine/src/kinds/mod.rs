//! One handler per command kind, each in its own file: the accounts the kind names for the
//! look-ahead, whether and how the rules score it, its fingerprint for retries, and what it does.
//!
//! [`Handler`] is the contract; [`dispatch!`] is the one match over [`CommandKind`], so adding a
//! kind is its struct in `model::kind`, its file here, its line in the match, and its journal
//! place (appended).

mod adjust_score;
mod agent_cash_out;
mod appeal_case;
mod assign_case;
mod authorize;
mod capture;
mod convert_statement;
mod convert_to_instalments;
mod decide_case;
mod grant_mandate;
mod install_product;
mod install_rules;
mod lift_action;
mod link_tie;
mod merchant_to_merchant;
mod merchant_transfer;
mod open_merchant;
mod open_user;
mod pay;
mod pay_off_instalments;
mod payout_merchant;
mod propose_rules;
mod record_refused_attempt;
mod refund;
mod release;
mod repay;
mod repay_statement;
mod request_withdrawal;
mod review_credit_line;
mod revoke_mandate;
mod set_credit_frozen;
mod set_credit_limit;
mod set_score_frozen;
mod tick;
mod top_up;
mod transfer;
mod verify_challenge;
mod verify_withdrawal;
mod withdraw_to_bank;

use crate::apply::Engine;
use crate::prefetch::Hint;
use ledger::{Ledger, Postings, Wallet};
use model::risk::Held;
use model::{Accepted, CommandId, CommandKind, Funding, MerchantId, Outcome, Rejection, UserId};
use risk::ScoredEvent;

/// The user and merchant records a command reads: up to two users, one merchant.
pub(crate) type Parties = ([Option<UserId>; 2], Option<MerchantId>);

/// What holding a command for review left held, for its case.
pub(crate) type Review = Result<Held, Rejection>;

/// One command being checked: its id and the account slots the look-ahead resolved for it.
#[derive(Clone, Copy)]
pub(crate) struct Call {
    pub(crate) id: CommandId,
    pub(crate) hint: Hint,
    /// Whether the command is a parked one run on its verification: its own parking under
    /// `id` does not make the id taken.
    pub(crate) unparked: bool,
}

impl Call {
    /// The slot of an open user: the hint's when it holds that user, else the index's.
    #[inline]
    pub(crate) fn user(&self, ledger: &Ledger, user: UserId) -> Result<usize, Rejection> {
        self.hint.user(ledger, user).ok_or(Rejection::UnknownUser)
    }

    /// The slot of an open merchant, as [`Call::user`] finds a user's.
    #[inline]
    pub(crate) fn merchant(&self, ledger: &Ledger, merchant: MerchantId) -> Result<usize, Rejection> {
        self.hint.merchant(ledger, merchant).ok_or(Rejection::UnknownMerchant)
    }
}

/// One command being applied: its id, the account slots the look-ahead resolved for it, and
/// where its postings go.
pub(crate) struct Step<'s, 'p> {
    pub(crate) id: CommandId,
    pub(crate) hint: Hint,
    pub(crate) postings: &'s mut Postings<'p>,
}

impl Step<'_, '_> {
    /// The command's id and hint, for a check.
    #[inline]
    pub(crate) fn call(&self) -> Call {
        Call { id: self.id, hint: self.hint, unparked: false }
    }
}

/// What the engine does with one command kind. [`Handler::check`] and [`Handler::commit`] are
/// required: a kind the rules do not score, that names no account worth fetching ahead and
/// charges no mandate keeps the other defaults.
pub(crate) trait Handler {
    /// What [`Handler::check`] found for [`Handler::commit`] to write: the slots, amounts and
    /// checked operations of the lower crates.
    type Plan;

    /// The records the command reads, for the look-ahead: those its body names, and for one
    /// naming a payment or hold instead of its user, that payment's or hold's user. Read a chunk
    /// ahead, that record's miss overlaps the others of the chunk instead of starting a chain.
    /// By default: a charge's user and merchant, or the user of the hold the command moves and
    /// its merchant.
    #[inline]
    fn parties(&self, ledger: &Ledger) -> Parties {
        if let Some((user, merchant, _)) = self.charge() {
            return ([Some(user), None], Some(merchant));
        }
        match self.moves_hold() {
            Some((hold, merchant)) => ([ledger.authorization(hold).map(|hold| hold.user), None], Some(merchant)),
            None => ([None, None], None),
        }
    }

    /// The event the rules score the command as, its accounts resolved; `None` for commands the
    /// rules do not see, and for commands naming unknown accounts (which `check` refuses).
    #[inline]
    fn scored(&self, _engine: &Engine, _hint: Hint) -> Option<ScoredEvent> {
        None
    }

    /// The user, merchant and amount the command charges, when a merchant sending it on its own
    /// needs the user's mandate for it.
    #[inline]
    fn charge(&self) -> Option<(UserId, MerchantId, Funding)> {
        None
    }

    /// The hold the command moves and the merchant it names: while an open case holds it, only
    /// the case's verdict may move it.
    #[inline]
    fn moves_hold(&self) -> Option<(CommandId, MerchantId)> {
        None
    }

    /// Holds the command for an analyst's review: by default parks it (its id checked to be new)
    /// to run on approval.
    fn hold_for_review(&self, engine: &mut Engine, kind: &CommandKind, step: &mut Step<'_, '_>) -> Review {
        engine.check_new_payment_id(step.call())?;
        Ok(Held::Parked(Box::new(kind.clone())))
    }

    /// The fingerprint of the body a retry must repeat (see `ledger::idempotency`): by default
    /// of its canonical encoding; the kinds sent by the million hash their fields as words.
    #[inline]
    fn fingerprint(&self, kind: &CommandKind, scratch: &mut Vec<u8>) -> u64 {
        ledger::idempotency::encoded_fingerprint(kind, scratch)
    }

    /// Every refusal the command can meet past the risk screen, found by reading alone: the
    /// state is unchanged whatever it returns.
    fn check(&self, engine: &Engine, call: Call) -> Result<Self::Plan, Rejection>;

    /// Writes what `check` planned, right after it: posts, records and fans the ledger's facts
    /// out to credit and risk. It cannot refuse; what `check` established, it asserts.
    fn commit(&self, plan: Self::Plan, engine: &mut Engine, step: &mut Step<'_, '_>) -> Accepted;

    /// Runs the command past the risk screen: `check`, then `commit` on success, so a refusal
    /// changes nothing.
    #[inline]
    fn run(&self, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
        let plan = self.check(engine, step.call())?;
        Ok(self.commit(plan, engine, step))
    }
}

/// The one match over command kinds: binds `$handler` to the kind's [`Handler`] and evaluates
/// `$body` with it (statically: each arm is its own type).
macro_rules! dispatch {
    ($kind:expr, $handler:ident => $body:expr) => {
        match $kind {
            CommandKind::OpenUser($handler) => $body,
            CommandKind::OpenMerchant($handler) => $body,
            CommandKind::SetCreditLimit($handler) => $body,
            CommandKind::SetCreditFrozen($handler) => $body,
            CommandKind::TopUp($handler) => $body,
            CommandKind::Pay($handler) => $body,
            CommandKind::Authorize($handler) => $body,
            CommandKind::Capture($handler) => $body,
            CommandKind::Release($handler) => $body,
            CommandKind::Refund($handler) => $body,
            CommandKind::Transfer($handler) => $body,
            CommandKind::WithdrawToBank($handler) => $body,
            CommandKind::PayoutMerchant($handler) => $body,
            CommandKind::Repay($handler) => $body,
            CommandKind::Tick => {
                let $handler = &tick::Tick;
                $body
            }
            CommandKind::InstallProduct($handler) => $body,
            CommandKind::ConvertToInstalments($handler) => $body,
            CommandKind::PayOffInstalments($handler) => $body,
            CommandKind::RequestWithdrawal($handler) => $body,
            CommandKind::VerifyWithdrawal($handler) => $body,
            CommandKind::AdjustScore($handler) => $body,
            CommandKind::SetScoreFrozen($handler) => $body,
            CommandKind::RepayStatement($handler) => $body,
            CommandKind::ConvertStatementToInstalments($handler) => $body,
            CommandKind::ReviewCreditLine($handler) => $body,
            CommandKind::PayFor($handler) => $body,
            CommandKind::LinkTie($handler) => $body,
            CommandKind::InstallRules($handler) => $body,
            CommandKind::VerifyChallenge($handler) => $body,
            CommandKind::DecideCase($handler) => $body,
            CommandKind::AppealCase($handler) => $body,
            CommandKind::LiftAction($handler) => $body,
            CommandKind::GrantMandate($handler) => $body,
            CommandKind::RevokeMandate($handler) => $body,
            CommandKind::MerchantTransfer($handler) => $body,
            CommandKind::AgentCashOut($handler) => $body,
            CommandKind::MerchantToMerchant($handler) => $body,
            CommandKind::RecordRefusedAttempt($handler) => $body,
            CommandKind::ProposeRules($handler) => $body,
            CommandKind::ApproveRules($handler) => $body,
            CommandKind::AssignCase($handler) => $body,
        }
    };
}

/// See [`Handler::parties`].
#[inline]
pub(crate) fn parties(kind: &CommandKind, ledger: &Ledger) -> Parties {
    dispatch!(kind, handler => handler.parties(ledger))
}

/// See [`Handler::scored`].
#[inline]
pub(crate) fn scored(kind: &CommandKind, engine: &Engine, hint: Hint) -> Option<ScoredEvent> {
    dispatch!(kind, handler => handler.scored(engine, hint))
}

/// See [`Handler::charge`].
#[inline]
pub(crate) fn charge(kind: &CommandKind) -> Option<(UserId, MerchantId, Funding)> {
    dispatch!(kind, handler => handler.charge())
}

/// See [`Handler::moves_hold`].
#[inline]
pub(crate) fn moves_hold(kind: &CommandKind) -> Option<(CommandId, MerchantId)> {
    dispatch!(kind, handler => handler.moves_hold())
}

/// See [`Handler::hold_for_review`].
pub(crate) fn hold_for_review(
    engine: &mut Engine,
    kind: &CommandKind,
    step: &mut Step<'_, '_>,
) -> Result<Held, Rejection> {
    dispatch!(kind, handler => handler.hold_for_review(engine, kind, step))
}

/// See [`Handler::fingerprint`].
#[inline]
pub(crate) fn fingerprint(kind: &CommandKind, scratch: &mut Vec<u8>) -> u64 {
    dispatch!(kind, handler => handler.fingerprint(kind, scratch))
}

/// See [`Handler::check`]; the plan is dropped (a command that runs another checks it first).
pub(crate) fn check(kind: &CommandKind, engine: &Engine, call: Call) -> Result<(), Rejection> {
    dispatch!(kind, handler => handler.check(engine, call).map(drop))
}

/// See [`Handler::run`].
#[inline]
pub(crate) fn run(kind: &CommandKind, engine: &mut Engine, step: &mut Step<'_, '_>) -> Outcome {
    dispatch!(kind, handler => handler.run(engine, step))
}

/// A scored event moving `funding` (see [`ScoredEvent`]); the caller sets the payee.
#[inline]
pub(crate) fn event(
    kind: model::risk::EventKind,
    (user, merchant): (Option<usize>, Option<usize>),
    funding: Funding,
    beneficiary: Option<model::risk::Tie>,
) -> ScoredEvent {
    ScoredEvent {
        kind,
        user,
        merchant,
        payee: None,
        amount_minor: funding.credit_minor.saturating_add(funding.balance_minor),
        credit_minor: funding.credit_minor,
        beneficiary,
    }
}

/// Checks a move of `amount` between two wallets; returns them for [`commit_move`].
#[inline]
pub(crate) fn check_move(
    engine: &Engine,
    (from, to): (Wallet, Wallet),
    amount: model::Amount,
) -> Result<(Wallet, Wallet), Rejection> {
    engine.ledger.check_move(from, to, amount)?;
    Ok((from, to))
}

/// Moves `amount` between two wallets [`check_move`] passed.
#[inline]
pub(crate) fn commit_move(
    engine: &mut Engine,
    (from, to): (Wallet, Wallet),
    amount: model::Amount,
    step: &mut Step<'_, '_>,
) -> Accepted {
    engine.ledger.move_between(from, to, amount, step.postings);
    Accepted::Done
}

/// Takes a checked repayment on its user's line.
pub(crate) fn repay(engine: &mut Engine, repayment: credit::servicing::Repayment, step: &mut Step<'_, '_>) {
    let line = (&mut engine.ledger, &mut engine.lines[repayment.slot()]);
    credit::servicing::repay(line, repayment, step.postings);
}

/// Funding entirely from the balance (transfers, payouts, withdrawals to a bank).
#[inline]
pub(crate) fn from_balance(amount: model::Amount) -> Funding {
    Funding { credit_minor: 0, balance_minor: amount.minor() }
}

#[cfg(test)]
mod tests {
    use model::{CommandId, CommandKind, kind};

    #[test]
    fn every_field_of_a_fixed_layout_changes_the_fingerprint() {
        use model::Amount;
        use model::{Funding, MerchantId, RepaySource, UserId, WithdrawalPurpose};
        fn amount(minor: u64) -> Amount {
            Amount::new(minor).expect("small")
        }
        fn source(bit: u64) -> RepaySource {
            if bit.is_multiple_of(2) { RepaySource::Bank } else { RepaySource::Balance }
        }
        fn purpose(bit: u64) -> WithdrawalPurpose {
            if bit.is_multiple_of(2) { WithdrawalPurpose::Travel } else { WithdrawalPurpose::Home }
        }
        fn funding(credit_minor: u64, balance_minor: u64) -> Funding {
            Funding { credit_minor, balance_minor }
        }
        type Layout = (usize, fn(&[u64]) -> CommandKind);
        let layouts: [Layout; 12] = [
            (4, |f| {
                CommandKind::Pay(kind::Pay {
                    user: UserId(f[0]),
                    merchant: MerchantId(f[1]),
                    funding: funding(f[2], f[3]),
                })
            }),
            (5, |f| {
                CommandKind::Authorize(kind::Authorize {
                    user: UserId(f[0]),
                    merchant: MerchantId(f[1]),
                    funding: funding(f[2], f[3]),
                    hold_ms: f[4],
                })
            }),
            (3, |f| {
                CommandKind::Capture(kind::Capture {
                    authorization: CommandId(f[0]),
                    merchant: MerchantId(f[1]),
                    amount: amount(f[2]),
                })
            }),
            (2, |f| CommandKind::Release(kind::Release { authorization: CommandId(f[0]), merchant: MerchantId(f[1]) })),
            (3, |f| {
                CommandKind::Refund(kind::Refund {
                    payment: CommandId(f[0]),
                    merchant: MerchantId(f[1]),
                    amount: amount(f[2]),
                })
            }),
            (3, |f| {
                CommandKind::Transfer(kind::Transfer { from: UserId(f[0]), to: UserId(f[1]), amount: amount(f[2]) })
            }),
            (2, |f| CommandKind::TopUp(kind::TopUp { user: UserId(f[0]), amount: amount(f[1]) })),
            (3, |f| CommandKind::Repay(kind::Repay { user: UserId(f[0]), amount: amount(f[1]), source: source(f[2]) })),
            (3, |f| {
                CommandKind::RepayStatement(kind::RepayStatement {
                    user: UserId(f[0]),
                    source: source(f[1]),
                    in_full: f[2] % 2 == 1,
                })
            }),
            (2, |f| CommandKind::WithdrawToBank(kind::WithdrawToBank { user: UserId(f[0]), amount: amount(f[1]) })),
            (2, |f| {
                CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant: MerchantId(f[0]), amount: amount(f[1]) })
            }),
            (3, |f| {
                CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
                    user: UserId(f[0]),
                    amount: amount(f[1]),
                    purpose: purpose(f[2]),
                })
            }),
        ];
        let mut scratch = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (fields, make) in layouts {
            let base: Vec<u64> = (0..fields as u64).map(|field| 10 * field + 2).collect();
            let reference = super::fingerprint(&make(&base), &mut scratch);
            assert_eq!(
                super::fingerprint(&make(&base), &mut scratch),
                reference,
                "the same body, the same fingerprint"
            );
            assert!(seen.insert(reference), "{:?} shares a fingerprint with another kind", make(&base));
            for field in 0..fields {
                let mut changed = base.clone();
                changed[field] += 1;
                assert_ne!(super::fingerprint(&make(&changed), &mut scratch), reference, "{:?}", make(&changed));
            }
        }
        // The other commands hash their encoding, apart from every fixed layout.
        assert!(seen.insert(super::fingerprint(
            &CommandKind::SetCreditLimit(kind::SetCreditLimit { user: UserId(2), limit_minor: 12 }),
            &mut scratch
        )));
    }
}
