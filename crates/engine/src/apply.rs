//! The engine: the whole ledger state and the deterministic `apply`.
//!
//! Each handler validates first (pure reads, checked arithmetic) and mutates only once every
//! check has passed, so a rejected command leaves no trace but its remembered outcome.

use crate::prefetch::{Hint, Lookahead};
pub(crate) use credit::CreditLine;
use credit::calendar::Calendar;
use credit::withdrawal::Challenges;
use ledger::idempotency::{Remembered, RememberedIds, fingerprint};
use ledger::provenance::Origins;
pub(crate) use ledger::{Authorization, Captured, Ledger, MerchantAccount, Postings, UserAccount, Wallet};
use model::kind;
use model::product::Overpayment;
use model::risk::Decision;
use model::{Accepted, Outcome, Posting, Rejection};
use model::{Amount, Currency};
use model::{Command, CommandId, CommandKind, Funding, IdentityLevel, MerchantId, UserId};
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
    /// The look-ahead's account slots for the command being applied (see `prefetch`): checked
    /// against the records before use, not part of the state.
    pub(crate) hint: Hint,
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
            self.look_ahead(commands, index, &mut lookahead);
            let index = u32::try_from(index).expect("batches are far smaller than 2^32 commands");
            outcomes.push(self.apply(command, index, postings));
            if let Some(decision) = self.last_decision.take_if(|decision| decision.is_notable()) {
                decisions.push((index, decision));
            }
        }
    }

    /// Applies one command. A retry of a remembered id with the same body returns the first
    /// outcome and changes nothing; with a different body it is rejected.
    pub fn apply(&mut self, command: &Command, command_index: u32, postings: &mut Vec<Posting>) -> Outcome {
        self.now_ms = self.now_ms.max(command.time_ms);
        self.actor = command.actor;
        self.initiator = command.initiator;
        self.commands_applied += 1;
        self.remembered.advance(self.now_ms);
        let mut ledger = Postings::new(postings, command_index);
        // Ticks come from the server's clock, not a client: nothing to retry, nothing to remember.
        if matches!(command.kind, CommandKind::Tick) {
            return self.execute(command.id, &command.kind, &mut ledger);
        }
        let fingerprint = fingerprint(&command.kind, &mut self.scratch);
        if let Some(remembered) = self.remembered.get(&command.id) {
            return match remembered.fingerprint == fingerprint {
                true => remembered.outcome,
                false => Err(Rejection::IdempotencyConflict),
            };
        }
        let outcome = self.execute(command.id, &command.kind, &mut ledger);
        let sequence = self.commands_applied;
        self.remembered.insert(command.id, Remembered { sequence, fingerprint, outcome });
        outcome
    }

    /// The risk decision on the last applied command, when the rules scored it.
    pub fn last_decision(&self) -> Option<&Decision> {
        self.last_decision.as_ref()
    }

    /// Scores the command, then runs it if the decision lets it through.
    fn execute(&mut self, id: CommandId, kind: &CommandKind, ledger: &mut Postings<'_>) -> Outcome {
        self.last_decision = None;
        let mandated = self.check_mandate(self.initiator, kind)?;
        if let CommandKind::Capture(kind::Capture { authorization, .. })
        | CommandKind::Release(kind::Release { authorization, .. }) = *kind
            && self.risk.held_by_open_case(authorization)
        {
            return Err(Rejection::HeldByCase);
        }
        let outcome = match self.screen(id, kind, ledger) {
            Some(outcome) => outcome,
            None => self.run(id, kind, ledger),
        };
        if let (Ok(_), Some((user, merchant, amount))) = (outcome, mandated) {
            self.count_on_mandate(user, merchant, amount);
        }
        outcome
    }

    /// Runs a command past the risk screen. Handlers update the online risk features of the
    /// accounts they touch as they post.
    pub(crate) fn run(&mut self, id: CommandId, kind: &CommandKind, ledger: &mut Postings<'_>) -> Outcome {
        match *kind {
            CommandKind::OpenUser(kind::OpenUser { user, currency, identity }) => {
                self.open_user(user, currency, identity)
            }
            CommandKind::OpenMerchant(kind::OpenMerchant { merchant, currency, category, verification, partner }) => {
                self.open_merchant(MerchantAccount {
                    id: merchant,
                    currency,
                    category,
                    verification,
                    partner,
                    settlement_minor: 0,
                    opened_at_ms: self.now_ms,
                    provenance: Origins::default(),
                })
            }
            CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor }) => {
                let slot = self.user_slot(user)?;
                credit::servicing::set_limit(&mut self.ledger, &self.lines[slot], slot, limit_minor)
            }
            CommandKind::SetCreditFrozen(kind::SetCreditFrozen { user, frozen }) => {
                let slot = self.user_slot(user)?;
                self.ledger.set_credit_frozen(slot, frozen);
                Ok(Accepted::Done)
            }
            CommandKind::TopUp(kind::TopUp { user, amount }) => {
                self.ledger.top_up(self.user_slot(user)?, amount, ledger)?;
                Ok(Accepted::Done)
            }
            // Whom an order is for matters to the risk features only (noted when it is scored).
            CommandKind::Pay(kind::Pay { user, merchant, funding })
            | CommandKind::PayFor(kind::PayFor { user, merchant, funding, .. }) => {
                self.pay(id, (user, merchant, funding), ledger)
            }
            CommandKind::Authorize(kind::Authorize { user, merchant, funding, hold_ms }) => {
                let expires_at_ms = self.now_ms.saturating_add(hold_ms);
                self.authorize(id, Authorization { user, merchant, funding, expires_at_ms })
            }
            CommandKind::Capture(kind::Capture { authorization, merchant, amount }) => {
                let captured = self.ledger.capture(authorization, merchant, amount, self.now_ms, ledger)?;
                Ok(self.on_captured(captured))
            }
            CommandKind::Release(kind::Release { authorization, merchant }) => {
                self.ledger.live_authorization(authorization, merchant, self.now_ms)?;
                self.ledger.drop_authorization(authorization);
                Ok(Accepted::Done)
            }
            CommandKind::Refund(kind::Refund { payment, merchant, amount }) => {
                self.refund(id, payment, merchant, amount, ledger)
            }
            CommandKind::Transfer(kind::Transfer { from, to, amount }) => self.transfer(from, to, amount, ledger),
            CommandKind::WithdrawToBank(kind::WithdrawToBank { user, amount }) => {
                self.ledger.pay_out(Wallet::User(self.user_slot(user)?), amount, ledger)?;
                Ok(Accepted::Done)
            }
            CommandKind::PayoutMerchant(kind::PayoutMerchant { merchant, amount }) => {
                self.payout_merchant(merchant, amount, ledger)
            }
            CommandKind::Repay(kind::Repay { user, amount, source }) => {
                let slot = self.user_slot(user)?;
                let rule = self.overpayment();
                credit::servicing::repay(
                    (&mut self.ledger, &mut self.lines[slot]),
                    slot,
                    (amount, source),
                    rule,
                    ledger,
                )
            }
            CommandKind::Tick => Ok(self.tick(ledger)),
            CommandKind::InstallProduct(kind::InstallProduct { ref product, effective_at_ms }) => {
                self.calendar.install(product, effective_at_ms, self.now_ms)?;
                Ok(Accepted::Done)
            }
            CommandKind::ConvertToInstalments(kind::ConvertToInstalments { user, payment, periods }) => {
                self.convert_to_instalments(id, user, payment, periods)
            }
            CommandKind::PayOffInstalments(kind::PayOffInstalments { user, plan, source }) => {
                self.pay_off_instalments(user, plan, source, ledger)
            }
            CommandKind::RequestWithdrawal(kind::RequestWithdrawal { user, amount, purpose }) => {
                self.request_withdrawal(id, (user, amount, purpose), ledger)
            }
            CommandKind::VerifyWithdrawal(kind::VerifyWithdrawal { user, withdrawal }) => {
                self.verify_withdrawal(user, withdrawal, ledger)
            }
            CommandKind::AdjustScore(kind::AdjustScore { user, points }) => {
                let slot = self.user_slot(user)?;
                let (_, month) = self.local_today();
                credit::servicing::adjust_score(
                    &self.ledger,
                    &mut self.lines[slot],
                    slot,
                    points,
                    (self.now_ms, month),
                );
                Ok(Accepted::Done)
            }
            CommandKind::ConvertStatementToInstalments(kind::ConvertStatementToInstalments { user, periods }) => {
                self.convert_statement(id, user, periods)
            }
            CommandKind::ReviewCreditLine(kind::ReviewCreditLine { user }) => {
                let slot = self.user_slot(user)?;
                let product = self.calendar.product_at(self.now_ms).ok_or(Rejection::NoProduct)?;
                let (_, month) = self.calendar.local_today(self.now_ms);
                credit::servicing::review(&mut self.ledger, &self.lines[slot], slot, product, month)
            }
            CommandKind::RepayStatement(kind::RepayStatement { user, source, in_full }) => {
                let slot = self.user_slot(user)?;
                let rule = self.overpayment();
                let line = (&mut self.ledger, &mut self.lines[slot]);
                credit::servicing::repay_statement(line, slot, (source, in_full), rule, ledger)
            }
            CommandKind::SetScoreFrozen(kind::SetScoreFrozen { user, frozen }) => {
                let slot = self.user_slot(user)?;
                self.lines[slot].score.frozen = frozen;
                Ok(Accepted::Done)
            }
            CommandKind::LinkTie(kind::LinkTie { party, tie }) => {
                self.risk.link_tie(&self.ledger, self.now_ms, party, tie)
            }
            CommandKind::InstallRules(kind::InstallRules { ref rules }) => self.risk.install_rules(rules),
            CommandKind::VerifyChallenge(kind::VerifyChallenge { user, challenge }) => {
                self.verify_challenge(user, challenge, ledger)
            }
            CommandKind::DecideCase(kind::DecideCase { case, approve, label }) => {
                self.decide_case(case, approve, label, ledger)
            }
            CommandKind::AppealCase(kind::AppealCase { case, ref evidence, ref text }) => {
                self.appeal_case(case, evidence, text)
            }
            CommandKind::LiftAction(kind::LiftAction { user, action }) => self.lift_action(user, action),
            CommandKind::GrantMandate(kind::GrantMandate {
                user,
                merchant,
                per_payment_max_minor,
                per_month_max_minor,
            }) => self.grant_mandate(user, merchant, per_payment_max_minor, per_month_max_minor),
            CommandKind::RevokeMandate(kind::RevokeMandate { user, merchant }) => self.revoke_mandate(user, merchant),
            // A merchant's settlement to a user's balance; a user's balance to the agent that
            // hands over the cash.
            CommandKind::MerchantTransfer(kind::MerchantTransfer { merchant, to, amount }) => {
                let from = Wallet::Merchant(self.merchant_slot(merchant)?);
                self.ledger.move_between(from, Wallet::User(self.user_slot(to)?), amount, ledger)?;
                Ok(Accepted::Done)
            }
            CommandKind::AgentCashOut(kind::AgentCashOut { user, agent, amount }) => {
                let from = Wallet::User(self.user_slot(user)?);
                self.ledger.move_between(from, Wallet::Merchant(self.merchant_slot(agent)?), amount, ledger)?;
                Ok(Accepted::Done)
            }
            CommandKind::MerchantToMerchant(kind::MerchantToMerchant { merchant, to, amount }) => {
                self.merchant_to_merchant(merchant, to, amount, ledger)
            }
            CommandKind::RecordRefusedAttempt(kind::RecordRefusedAttempt { user, .. }) => {
                let slot = self.user_slot(user)?;
                self.risk.note_refused(slot, self.now_ms);
                Ok(Accepted::Done)
            }
        }
    }

    pub(crate) fn user_slot(&self, user: UserId) -> Result<usize, Rejection> {
        self.find_user(user).ok_or(Rejection::UnknownUser)
    }

    pub(crate) fn merchant_slot(&self, merchant: MerchantId) -> Result<usize, Rejection> {
        self.find_merchant(merchant).ok_or(Rejection::UnknownMerchant)
    }

    fn open_user(&mut self, id: UserId, currency: Currency, identity: IdentityLevel) -> Outcome {
        let slot = self.ledger.open_user(id, currency, identity, self.now_ms)?;
        self.lines.push(CreditLine::default());
        self.risk.open_user();
        let (_, month) = self.local_today();
        credit::score::rescore(&self.ledger.users()[slot], &mut self.lines[slot], self.now_ms, month, true);
        Ok(Accepted::Done)
    }

    fn open_merchant(&mut self, merchant: MerchantAccount) -> Outcome {
        self.ledger.open_merchant(merchant)?;
        self.risk.open_merchant();
        Ok(Accepted::Done)
    }

    /// Today's local day and month key in the products' time zone (every version shares it;
    /// UTC before any product).
    pub(crate) fn local_today(&self) -> (i64, i64) {
        self.calendar.local_today(self.now_ms)
    }

    /// The overpayment rule of the product in force (refuse without one).
    fn overpayment(&self) -> Overpayment {
        self.product_at(self.now_ms).map_or(Overpayment::Refuse, |product| product.billing.overpayment)
    }

    /// Refuses an id already taken by a payment, a hold, a pending withdrawal or a parked command.
    pub(crate) fn check_new_payment_id(&self, id: CommandId) -> Result<(), Rejection> {
        let taken = self.ledger.holds_payment_id(id);
        match taken || self.challenges.contains(id) || self.risk.parked(id).is_some() {
            true => Err(Rejection::PaymentExists),
            false => Ok(()),
        }
    }

    /// The user's and the merchant's slots and the total of a spend they may make.
    fn check_spend(
        &self,
        user: UserId,
        merchant: MerchantId,
        funding: Funding,
    ) -> Result<(usize, usize, u64), Rejection> {
        let user_slot = self.user_slot(user)?;
        let merchant_slot = self.merchant_slot(merchant)?;
        let total = self.ledger.check_spend(user_slot, merchant_slot, funding)?;
        Ok((user_slot, merchant_slot, total))
    }

    fn pay(
        &mut self,
        id: CommandId,
        (user, merchant, funding): (UserId, MerchantId, Funding),
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        self.check_new_payment_id(id)?;
        let (user_slot, merchant_slot, _) = self.check_spend(user, merchant, funding)?;
        let captured = self.ledger.capture_payment(id, (user_slot, merchant_slot), funding, self.now_ms, ledger)?;
        Ok(self.on_captured(captured))
    }

    /// A captured payment as the credit line and the risk features see it.
    fn on_captured(&mut self, captured: Captured) -> Accepted {
        self.risk.on_captured(&self.ledger, &captured, self.now_ms);
        let funding = captured.funding;
        self.lines[captured.user].billing.spend(funding.credit_minor);
        Accepted::Split { credit_minor: funding.credit_minor, balance_minor: funding.balance_minor }
    }

    pub(crate) fn authorize(&mut self, id: CommandId, authorization: Authorization) -> Outcome {
        self.check_new_payment_id(id)?;
        let (user_slot, _, _) = self.check_spend(authorization.user, authorization.merchant, authorization.funding)?;
        self.ledger.authorize(id, user_slot, authorization, self.now_ms)?;
        Ok(Accepted::Done)
    }

    fn tick(&mut self, ledger: &mut Postings<'_>) -> Accepted {
        let authorizations = self.expire_holds();
        self.lapse_actions();
        let statements = self.calendar.run_days(self.now_ms, &mut self.lines, &mut self.ledger, ledger);
        Accepted::Ticked { authorizations, statements }
    }

    /// Drops every hold, pending withdrawal and parked command whose expiry has come.
    fn expire_holds(&mut self) -> u32 {
        let mut released = 0u32;
        while let Some(&(expires_at_ms, id)) = self.ledger.expiries().first() {
            if expires_at_ms > self.now_ms {
                break;
            }
            if !self.ledger.drop_authorization(id)
                && !self.challenges.drop_expired(&mut self.ledger, &mut self.lines, id)
            {
                self.risk.drop_parked(&mut self.ledger, id);
            }
            released = released.saturating_add(1);
        }
        released
    }

    fn refund(
        &mut self,
        id: CommandId,
        payment: CommandId,
        merchant: MerchantId,
        amount: Amount,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let refunded = self.ledger.refund(id, payment, merchant, amount, ledger)?;
        let (line, split) = (&mut self.lines[refunded.user], refunded.split);
        let rest = line.billing.refund_plan(payment, split.credit_minor);
        line.billing.refund(rest);
        self.risk.on_refunded(&self.ledger, &refunded, amount.minor(), self.now_ms);
        Ok(Accepted::Split { credit_minor: split.credit_minor, balance_minor: split.balance_minor })
    }

    fn transfer(&mut self, from: UserId, to: UserId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        if from == to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = self.user_slot(from)?;
        let to_slot = self.user_slot(to)?;
        self.ledger.move_between(Wallet::User(from_slot), Wallet::User(to_slot), amount, ledger)?;
        self.risk.on_transfer(&self.ledger, (from_slot, to_slot), amount.minor(), self.now_ms);
        Ok(Accepted::Done)
    }

    /// Moves money between two merchants' settlement accounts; for the payer's risk features it
    /// is money paid out.
    fn merchant_to_merchant(
        &mut self,
        merchant: MerchantId,
        to: MerchantId,
        amount: Amount,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        if merchant == to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = self.merchant_slot(merchant)?;
        let to_slot = self.merchant_slot(to)?;
        self.ledger.move_between(Wallet::Merchant(from_slot), Wallet::Merchant(to_slot), amount, ledger)?;
        self.risk.on_merchant_payout(from_slot, amount.minor(), self.now_ms);
        Ok(Accepted::Done)
    }

    fn payout_merchant(&mut self, merchant: MerchantId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.merchant_slot(merchant)?;
        self.ledger.pay_out(Wallet::Merchant(slot), amount, ledger)?;
        self.risk.on_merchant_payout(slot, amount.minor(), self.now_ms);
        Ok(Accepted::Done)
    }
}
