//! The engine: the whole state and the deterministic `apply` — retries answered, mandates and
//! case holds checked, the risk screen, then the kind's handler (`kinds`).
//!
//! Each handler checks first (pure reads, checked arithmetic) and commits only once every check
//! has passed, so a rejected command leaves no trace but its remembered outcome.

use crate::kinds::{self, Call, Step};
use crate::prefetch::{Hint, Lookahead};
pub(crate) use credit::CreditLine;
use credit::calendar::Calendar;
use credit::instalments::NewPlan;
use credit::withdrawal::Challenges;
use ledger::idempotency::{Remembered, RememberedIds};
pub(crate) use ledger::{Authorization, Captured, Ledger, MerchantAccount, Postings, UserAccount};
use model::product::Overpayment;
use model::risk::Decision;
use model::{Accepted, Outcome, Posting, Rejection};
use model::{Command, CommandId, CommandKind, Funding, MerchantId, UserId};
use risk::Risk;
use risk::features::{MerchantRisk, UserRisk};

/// A user as the queries show one: the ledger accounts, the credit line and the risk record,
/// which the engine keeps apart by slot.
#[derive(Clone, Copy, Debug)]
pub struct User<'a> {
    /// The credit and balance accounts.
    pub account: &'a UserAccount,
    /// Billing, score and withdrawal totals.
    pub credit: &'a CreditLine,
    /// Risk aggregates and account-action flags.
    pub risk: &'a UserRisk,
}

/// A merchant as the queries show one: the account and its risk aggregates.
#[derive(Clone, Copy, Debug)]
pub struct Merchant<'a> {
    /// The settlement account.
    pub account: &'a MerchantAccount,
    /// Risk aggregates.
    pub risk: &'a MerchantRisk,
}

/// The ledger state machine. Create with [`Engine::default`], feed with [`Engine::apply`].
#[derive(Default)]
pub struct Engine {
    pub(crate) now_ms: u64,
    pub(crate) commands_applied: u64,
    /// Accounts, payments, holds and the expiry queue.
    pub(crate) ledger: Ledger,
    /// Each user's credit line, by the user's slot.
    pub(crate) lines: Vec<CreditLine>,
    /// Product versions and the calendar they run.
    pub(crate) calendar: Calendar,
    /// Withdrawals waiting for their step-up verification; they share the ledger's expiries.
    pub(crate) challenges: Challenges,
    pub(crate) remembered: RememberedIds,
    /// Reused buffer for fingerprints; not part of the state.
    pub(crate) scratch: Vec<u8>,
    /// Who sent the command being applied (recorded on the cases it opens, decides or
    /// appeals); not part of the state between commands.
    pub(crate) actor: model::ActorId,
    /// Whether the command being applied came from a merchant; not state either.
    pub(crate) initiator: model::Initiator,
    /// Mandates in force, by user and merchant (ordered: snapshots iterate them).
    pub(crate) mandates: std::collections::BTreeMap<(UserId, MerchantId), crate::mandates::Mandate>,
    /// Rules, ties, cases, parked commands and each account's risk record.
    pub(crate) risk: Risk,
    /// The risk decision on the command being applied, if it was scored; not part of the state.
    pub(crate) last_decision: Option<Decision>,
}

impl Engine {
    /// Applies a batch in order, appending one outcome per command and the postings made.
    pub fn apply_batch(&mut self, commands: &[Command], outcomes: &mut Vec<Outcome>, postings: &mut Vec<Posting>) {
        self.apply_batch_decided(commands, outcomes, postings, &mut Vec::new());
    }

    /// [`Engine::apply_batch`], also appending (command index, decision) for every notable risk
    /// decision: one where a rule fired (active or shadow) or the command was not simply allowed.
    pub fn apply_batch_decided(
        &mut self,
        commands: &[Command],
        outcomes: &mut Vec<Outcome>,
        postings: &mut Vec<Posting>,
        decisions: &mut Vec<(u32, Decision)>,
    ) {
        let mut lookahead = Lookahead::default();
        for (index, command) in commands.iter().enumerate() {
            let hint = lookahead.next(self, commands, index);
            let index = u32::try_from(index).expect("batches are far smaller than 2^32 commands");
            outcomes.push(self.apply_hinted(command, index, hint, postings));
            if let Some(decision) = self.last_decision.take_if(|decision| decision.is_notable()) {
                decisions.push((index, decision));
            }
        }
    }

    /// Applies one command. A retry of a remembered id with the same body returns the first
    /// outcome and changes nothing; with a different body it is rejected.
    pub fn apply(&mut self, command: &Command, command_index: u32, postings: &mut Vec<Posting>) -> Outcome {
        self.apply_hinted(command, command_index, Hint::default(), postings)
    }

    /// [`Engine::apply`] with the account slots a [`Lookahead`] resolved for the command: a hint
    /// only, checked against the records before use, so it changes no outcome.
    pub fn apply_hinted(
        &mut self,
        command: &Command,
        command_index: u32,
        hint: Hint,
        postings: &mut Vec<Posting>,
    ) -> Outcome {
        self.now_ms = self.now_ms.max(command.time_ms);
        self.actor = command.actor;
        self.initiator = command.initiator;
        self.commands_applied += 1;
        self.remembered.advance(self.now_ms);
        let mut postings = Postings::new(postings, command_index);
        let mut step = Step { id: command.id, hint, postings: &mut postings };
        // Ticks come from the server's clock, not a client: nothing to retry, nothing to remember.
        if matches!(command.kind, CommandKind::Tick) {
            return self.execute(&command.kind, &mut step);
        }
        let fingerprint = kinds::fingerprint(&command.kind, &mut self.scratch);
        if let Some(remembered) = self.remembered.get(&command.id) {
            return match remembered.fingerprint == fingerprint {
                true => remembered.outcome,
                false => Err(Rejection::IdempotencyConflict),
            };
        }
        let outcome = self.execute(&command.kind, &mut step);
        let sequence = self.commands_applied;
        self.remembered.insert(command.id, Remembered { sequence, fingerprint, outcome });
        outcome
    }

    /// The risk decision on the last applied command, when the rules scored it.
    pub fn last_decision(&self) -> Option<&Decision> {
        self.last_decision.as_ref()
    }

    /// Checks a merchant's mandate and an open case's hold, scores the command, then runs it if
    /// the decision lets it through.
    fn execute(&mut self, kind: &CommandKind, step: &mut Step<'_, '_>) -> Outcome {
        self.last_decision = None;
        let mandated = self.check_mandate(self.initiator, kind)?;
        if kinds::moves_hold(kind).is_some_and(|(hold, _)| self.risk.held_by_open_case(hold)) {
            return Err(Rejection::HeldByCase);
        }
        let outcome = match self.screen(kind, step) {
            Some(outcome) => outcome,
            None => kinds::run(kind, self, step),
        };
        if let (Ok(_), Some((user, merchant, amount))) = (outcome, mandated) {
            self.count_on_mandate(user, merchant, amount);
        }
        outcome
    }

    /// Today's local day and month key in the products' time zone (every version shares it;
    /// UTC before any product).
    pub(crate) fn local_today(&self) -> (i64, i64) {
        self.calendar.local_today(self.now_ms)
    }

    /// The time, local day and month key the withdrawal caps count in.
    pub(crate) fn today(&self) -> (u64, i64, i64) {
        let (day, month) = self.local_today();
        (self.now_ms, day, month)
    }

    /// The overpayment rule of the product in force (refuse without one).
    pub(crate) fn overpayment(&self) -> Overpayment {
        self.product_at(self.now_ms).map_or(Overpayment::Refuse, |product| product.billing.overpayment)
    }

    /// A new instalment plan named `id`, priced by the product in force.
    pub(crate) fn new_plan(&self, id: CommandId, periods: u8) -> Result<NewPlan, Rejection> {
        Ok(NewPlan { id, periods, fee_ppm: self.calendar.instalment_fee_ppm(self.now_ms, periods)? })
    }

    /// Refuses the call's id when a payment, a hold, a pending withdrawal or a parked command
    /// has it (the parked command itself aside, when the call runs it).
    pub(crate) fn check_new_payment_id(&self, call: Call) -> Result<(), Rejection> {
        let id = call.id;
        let parked = !call.unparked && self.risk.parked(id).is_some();
        match self.ledger.holds_payment_id(id) || self.challenges.contains(id) || parked {
            true => Err(Rejection::PaymentExists),
            false => Ok(()),
        }
    }

    /// The user's and the merchant's slots and the total of a spend they may make.
    #[inline]
    pub(crate) fn check_spend(
        &self,
        call: Call,
        (user, merchant): (UserId, MerchantId),
        funding: Funding,
    ) -> Result<(usize, usize, u64), Rejection> {
        let user_slot = call.user(&self.ledger, user)?;
        let merchant_slot = call.merchant(&self.ledger, merchant)?;
        let total = self.ledger.check_spend(user_slot, merchant_slot, funding)?;
        Ok((user_slot, merchant_slot, total))
    }

    /// A captured payment as the credit line and the risk features see it.
    #[inline]
    pub(crate) fn on_captured(&mut self, captured: Captured) -> Accepted {
        self.risk.on_captured(&self.ledger, &captured, self.now_ms);
        let funding = captured.funding;
        self.lines[captured.user].billing.spend(funding.credit_minor);
        Accepted::Split { credit_minor: funding.credit_minor, balance_minor: funding.balance_minor }
    }

    /// Checks a hold under the step's id: the id new, the spend allowed, the expiry in range;
    /// returns the user's slot.
    pub(crate) fn check_hold(&self, call: Call, authorization: &Authorization) -> Result<usize, Rejection> {
        self.check_new_payment_id(call)?;
        let (user, merchant) = (authorization.user, authorization.merchant);
        let (user_slot, _, _) = self.check_spend(call, (user, merchant), authorization.funding)?;
        Ledger::check_hold_expiry(authorization.expires_at_ms, self.now_ms)?;
        Ok(user_slot)
    }
}
