//! The engine: the whole ledger state and the deterministic `apply`.
//!
//! Each handler validates first (pure reads, checked arithmetic) and mutates only once every
//! check has passed, so a rejected command leaves no trace but its remembered outcome.

use crate::billing::Billing;
use crate::idempotency::{Remembered, RememberedIds, fingerprint};
use crate::prefetch::{Hint, Lookahead};
use crate::provenance::{Origins, Provenance};
use crate::risk::RiskState;
use crate::risk::features::{Inflow, MerchantRisk, Outflow, Purchase, UserRisk, ring_like};
use crate::score::CreditScore;
use crate::table::{RecordMap, ShardedMap, SlotIndex};
use crate::withdrawal::{Challenge, WithdrawalTotals};
use model::product::{Overpayment, Product};
use model::risk::Decision;
use model::{Accepted, AccountKey, AccountKind, Outcome, Posting, Rejection};
use model::{Amount, Currency};
use model::{
    Command, CommandId, CommandKind, Funding, IdentityLevel, MerchantCategory, MerchantId, MerchantVerification,
    RepaySource, UserId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

type FastMap<K, V> = ShardedMap<K, V>;

/// The longest an authorization may hold funds.
pub const AUTHORIZATION_MAX_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// A user's two ledger accounts: the credit line (limit, used, held) and the balance (余额).
/// What else the platform knows of a user lives beside it by slot: [`CreditLine`] in
/// `Engine::lines`, [`UserRisk`] in the risk state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccount {
    /// The user's id.
    pub id: UserId,
    /// Currency of both accounts.
    pub currency: Currency,
    /// Identity verification level.
    pub identity: IdentityLevel,
    /// The credit limit in minor units (at most `Amount::MAX`).
    pub limit_minor: u64,
    /// Credit used (owed); negative when refunds exceeded what was owed (a credit balance).
    pub credit_used_minor: i64,
    /// Credit held by live authorizations.
    pub credit_held_minor: u64,
    /// Balance (余额) in minor units.
    pub balance_minor: u64,
    /// Balance held by live authorizations.
    pub balance_held_minor: u64,
    /// Whether using the credit line is frozen.
    pub credit_frozen: bool,
    /// When the user was opened.
    pub opened_at_ms: u64,
    /// What of the balance was drawn on credit lines, and by whom (at most `balance_minor`).
    pub provenance: Provenance,
}

impl UserAccount {
    /// Credit that can still be drawn: limit − used − held (may exceed the limit after refunds).
    pub fn credit_available_minor(&self) -> i128 {
        self.limit_minor as i128 - self.credit_used_minor as i128 - self.credit_held_minor as i128
    }

    /// Balance not held by authorizations.
    pub fn balance_available_minor(&self) -> u64 {
        self.balance_minor - self.balance_held_minor
    }
}

/// What the credit product keeps on a user, by the user's slot: billing, score and the
/// withdrawal caps' totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditLine {
    /// What is owed by bucket, the open cycle and the statements.
    pub billing: Billing,
    /// The credit score and its history.
    pub score: CreditScore,
    /// Withdrawals completed today and this month, for the caps.
    pub withdrawals: WithdrawalTotals,
}

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

impl User<'_> {
    /// Credit committed against the limit: principal used (fees and penalties aside) plus held.
    /// A limit may never be below it.
    pub fn credit_committed_minor(&self) -> i128 {
        committed_minor(self.account, self.credit)
    }
}

/// Credit committed against a limit: principal used (fees and penalties aside) plus held.
pub(crate) fn committed_minor(account: &UserAccount, credit: &CreditLine) -> i128 {
    account.credit_used_minor as i128 - credit.billing.charges_minor() as i128 + account.credit_held_minor as i128
}

/// A merchant and its settlement account. Its risk aggregates live beside it by slot, in the
/// risk state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantAccount {
    /// The merchant's id.
    pub id: MerchantId,
    /// Currency of the settlement account.
    pub currency: Currency,
    /// What it sells.
    pub category: MerchantCategory,
    /// Verification level.
    pub verification: MerchantVerification,
    /// Whether it is a platform partner.
    pub partner: bool,
    /// Money owed to the merchant, in minor units.
    pub settlement_minor: u64,
    /// When the merchant was opened.
    pub opened_at_ms: u64,
    /// What of the settlement account was drawn on credit lines, and by whom (at most
    /// `settlement_minor`); kept inline, as nearly every merchant holds some and merchants are
    /// few next to users.
    pub provenance: Origins,
}

/// A merchant as the queries show one: the account and its risk aggregates.
#[derive(Clone, Copy, Debug)]
pub struct Merchant<'a> {
    /// The settlement account.
    pub account: &'a MerchantAccount,
    /// Risk aggregates.
    pub risk: &'a MerchantRisk,
}

/// A captured payment, never changed once captured: its refunds are records of their own
/// ([`Engine::refunds`], summed by [`Engine::refunded`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The paying user.
    pub user: UserId,
    /// The merchant paid.
    pub merchant: MerchantId,
    /// When it was captured.
    pub captured_at_ms: u64,
    /// What was captured, by funding source.
    pub captured: Funding,
}

/// A live hold of funds for a merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// The user whose funds are held.
    pub user: UserId,
    /// The merchant the hold is for.
    pub merchant: MerchantId,
    /// Held amounts by funding source.
    pub funding: Funding,
    /// When the hold lapses.
    pub expires_at_ms: u64,
}

/// The ledger state machine. Create with [`Engine::default`], feed with [`Engine::apply`].
#[derive(Default)]
pub struct Engine {
    pub(crate) now_ms: u64,
    pub(crate) commands_applied: u64,
    pub(crate) users: Vec<UserAccount>,
    /// Each user's credit line, by the user's slot.
    pub(crate) lines: Vec<CreditLine>,
    pub(crate) user_index: SlotIndex<UserId>,
    pub(crate) merchants: Vec<MerchantAccount>,
    pub(crate) merchant_index: SlotIndex<MerchantId>,
    /// The platform's bank clearing position per currency (debit positive), sorted by currency.
    pub(crate) bank_clearing: Vec<(Currency, i64)>,
    /// The platform's fee income per currency (debit positive, so negative), sorted by currency.
    pub(crate) fee_income: Vec<(Currency, i64)>,
    /// Installed product versions with the time each takes effect, in version order.
    pub(crate) products: Vec<(u64, Product)>,
    /// Slots of users with past-due work every day (`Billing::has_past_due_work`); users who
    /// settle leave at the next day's end. Derived from the users, so snapshots rebuild it.
    pub(crate) daily_billing: BTreeSet<u32>,
    /// (due date, slot) of every latest statement whose due date is still ahead. Derived too.
    pub(crate) due_dates: BTreeSet<(u64, u32)>,
    /// The last local day whose end billing has processed (None before any product).
    pub(crate) billed_through_day: Option<i64>,
    pub(crate) payments: RecordMap<CommandId, Payment>,
    pub(crate) authorizations: FastMap<CommandId, Authorization>,
    /// Withdrawals waiting for their step-up verification; they share `expiries`.
    pub(crate) challenges: FastMap<CommandId, Challenge>,
    pub(crate) expiries: BTreeSet<(u64, CommandId)>,
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
    /// Refunds of each refunded payment: refund command id and split, oldest first.
    pub(crate) refunds: FastMap<CommandId, Vec<(CommandId, Funding)>>,
    /// Rules, ties, cases and risk challenges.
    pub(crate) risk: RiskState,
}

/// Checks a funding split: each part in range, not both zero, total in range.
fn checked_funding(funding: Funding) -> Result<u64, Rejection> {
    let total = funding.credit_minor.checked_add(funding.balance_minor).ok_or(Rejection::InvalidAmount)?;
    if total == 0 || total > Amount::MAX {
        return Err(Rejection::InvalidAmount);
    }
    Ok(total)
}

/// The slot of a currency's platform account, created at zero if missing.
pub(crate) fn platform_slot(accounts: &mut Vec<(Currency, i64)>, currency: Currency) -> usize {
    match accounts.binary_search_by_key(&currency, |(code, _)| *code) {
        Ok(slot) => slot,
        Err(slot) => {
            accounts.insert(slot, (currency, 0));
            slot
        }
    }
}

/// An account money moves between on the platform, by its slot: a user's balance or a
/// merchant's settlement account.
#[derive(Clone, Copy)]
enum Wallet {
    User(usize),
    Merchant(usize),
}

/// Adds to an unsigned balance, keeping it within `Amount::MAX`.
fn credit_to(balance: u64, amount: u64) -> Result<u64, Rejection> {
    balance.checked_add(amount).filter(|sum| *sum <= Amount::MAX).ok_or(Rejection::AmountOverflow)
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
            if let Some(decision) = self.risk.last_decision.take_if(|decision| decision.is_notable()) {
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
        let mut ledger = Postings { postings, command_index };
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
        self.risk.last_decision.as_ref()
    }

    /// Scores the command, then runs it if the decision lets it through.
    fn execute(&mut self, id: CommandId, kind: &CommandKind, ledger: &mut Postings<'_>) -> Outcome {
        self.risk.last_decision = None;
        let mandated = self.check_mandate(self.initiator, kind)?;
        if let CommandKind::Capture { authorization, .. } | CommandKind::Release { authorization, .. } = *kind
            && self.held_by_open_case(authorization)
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
            CommandKind::OpenUser { user, currency, identity } => self.open_user(user, currency, identity),
            CommandKind::OpenMerchant { merchant, currency, category, verification, partner } => {
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
            CommandKind::SetCreditLimit { user, limit_minor } => self.set_credit_limit(user, limit_minor),
            CommandKind::SetCreditFrozen { user, frozen } => {
                let slot = self.user_slot(user)?;
                self.users[slot].credit_frozen = frozen;
                Ok(Accepted::Done)
            }
            CommandKind::TopUp { user, amount } => self.top_up(user, amount, ledger),
            // Whom an order is for matters to the risk features only (noted when it is scored).
            CommandKind::Pay { user, merchant, funding } | CommandKind::PayFor { user, merchant, funding, .. } => {
                self.pay(id, (user, merchant, funding), ledger)
            }
            CommandKind::Authorize { user, merchant, funding, hold_ms } => {
                let expires_at_ms = self.now_ms.saturating_add(hold_ms);
                self.authorize(id, Authorization { user, merchant, funding, expires_at_ms })
            }
            CommandKind::Capture { authorization, merchant, amount } => {
                self.capture(authorization, merchant, amount, ledger)
            }
            CommandKind::Release { authorization, merchant } => self.release(authorization, merchant),
            CommandKind::Refund { payment, merchant, amount } => self.refund(id, payment, merchant, amount, ledger),
            CommandKind::Transfer { from, to, amount } => self.transfer(from, to, amount, ledger),
            CommandKind::WithdrawToBank { user, amount } => self.withdraw_to_bank(user, amount, ledger),
            CommandKind::PayoutMerchant { merchant, amount } => self.payout_merchant(merchant, amount, ledger),
            CommandKind::Repay { user, amount, source } => self.repay(user, amount, source, ledger),
            CommandKind::Tick => Ok(self.tick(ledger)),
            CommandKind::InstallProduct { ref product, effective_at_ms } => {
                self.install_product(product, effective_at_ms)
            }
            CommandKind::ConvertToInstalments { user, payment, periods } => {
                self.convert_to_instalments(id, user, payment, periods)
            }
            CommandKind::PayOffInstalments { user, plan, source } => {
                self.pay_off_instalments(user, plan, source, ledger)
            }
            CommandKind::RequestWithdrawal { user, amount, purpose } => {
                self.request_withdrawal(id, (user, amount, purpose), ledger)
            }
            CommandKind::VerifyWithdrawal { user, withdrawal } => self.verify_withdrawal(user, withdrawal, ledger),
            CommandKind::AdjustScore { user, points } => self.adjust_score(user, points),
            CommandKind::ConvertStatementToInstalments { user, periods } => self.convert_statement(id, user, periods),
            CommandKind::ReviewCreditLine { user } => self.review_credit_line(user),
            CommandKind::RepayStatement { user, source, in_full } => {
                self.repay_statement(user, source, in_full, ledger)
            }
            CommandKind::SetScoreFrozen { user, frozen } => {
                let slot = self.user_slot(user)?;
                self.lines[slot].score.frozen = frozen;
                Ok(Accepted::Done)
            }
            CommandKind::LinkTie { party, tie } => self.link_tie(party, tie),
            CommandKind::InstallRules { ref rules } => self.install_rules(rules),
            CommandKind::VerifyChallenge { user, challenge } => self.verify_challenge(user, challenge, ledger),
            CommandKind::DecideCase { case, approve, label } => self.decide_case(case, approve, label, ledger),
            CommandKind::AppealCase { case, ref evidence, ref text } => self.appeal_case(case, evidence, text),
            CommandKind::LiftAction { user, action } => self.lift_action(user, action),
            CommandKind::GrantMandate { user, merchant, per_payment_max_minor, per_month_max_minor } => {
                self.grant_mandate(user, merchant, per_payment_max_minor, per_month_max_minor)
            }
            CommandKind::RevokeMandate { user, merchant } => self.revoke_mandate(user, merchant),
            // A merchant's settlement to a user's balance; a user's balance to the agent that
            // hands over the cash.
            CommandKind::MerchantTransfer { merchant, to, amount } => {
                let from = Wallet::Merchant(self.merchant_slot(merchant)?);
                self.move_between(from, Wallet::User(self.user_slot(to)?), amount, ledger)
            }
            CommandKind::AgentCashOut { user, agent, amount } => {
                let from = Wallet::User(self.user_slot(user)?);
                self.move_between(from, Wallet::Merchant(self.merchant_slot(agent)?), amount, ledger)
            }
            CommandKind::MerchantToMerchant { merchant, to, amount } => {
                self.merchant_to_merchant(merchant, to, amount, ledger)
            }
            CommandKind::RecordRefusedAttempt { user, .. } => {
                let slot = self.user_slot(user)?;
                self.risk.users[slot].refused_at_ms = Some(self.now_ms);
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

    fn bank_slot(&mut self, currency: Currency) -> usize {
        platform_slot(&mut self.bank_clearing, currency)
    }

    fn open_user(&mut self, id: UserId, currency: Currency, identity: IdentityLevel) -> Outcome {
        if self.user_index.contains_key(&id) {
            return Err(Rejection::UserExists);
        }
        let slot = u32::try_from(self.users.len()).map_err(|_| Rejection::AmountOverflow)?;
        self.users.push(UserAccount {
            id,
            currency,
            identity,
            limit_minor: 0,
            credit_used_minor: 0,
            credit_held_minor: 0,
            balance_minor: 0,
            balance_held_minor: 0,
            credit_frozen: false,
            opened_at_ms: self.now_ms,
            provenance: Provenance::default(),
        });
        self.lines.push(CreditLine::default());
        self.risk.users.push(UserRisk::default());
        self.user_index.insert(id, slot);
        let (_, month) = self.local_today();
        let slot = slot as usize;
        crate::score::rescore(&self.users[slot], &mut self.lines[slot], self.now_ms, month, true);
        self.bank_slot(currency);
        Ok(Accepted::Done)
    }

    fn open_merchant(&mut self, merchant: MerchantAccount) -> Outcome {
        if self.merchant_index.contains_key(&merchant.id) {
            return Err(Rejection::MerchantExists);
        }
        let slot = u32::try_from(self.merchants.len()).map_err(|_| Rejection::AmountOverflow)?;
        self.merchant_index.insert(merchant.id, slot);
        self.bank_slot(merchant.currency);
        self.merchants.push(merchant);
        self.risk.merchants.push(MerchantRisk::default());
        Ok(Accepted::Done)
    }

    fn set_credit_limit(&mut self, user: UserId, limit_minor: u64) -> Outcome {
        let slot = self.user_slot(user)?;
        if limit_minor > Amount::MAX {
            return Err(Rejection::InvalidAmount);
        }
        if (limit_minor as i128) < committed_minor(&self.users[slot], &self.lines[slot]) {
            return Err(Rejection::LimitBelowUsed);
        }
        self.users[slot].limit_minor = limit_minor;
        Ok(Accepted::Done)
    }

    fn top_up(&mut self, user: UserId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.user_slot(user)?;
        let currency = self.users[slot].currency;
        let balance = credit_to(self.users[slot].balance_minor, amount.minor())?;
        let bank = self.bank_slot(currency);
        let bank_position = self.bank_clearing[bank].1.checked_add(amount.signed()).ok_or(Rejection::AmountOverflow)?;
        self.users[slot].balance_minor = balance;
        self.bank_clearing[bank].1 = bank_position;
        ledger.post(AccountKind::BankClearing, 0, currency, amount.signed());
        ledger.post(AccountKind::UserBalance, user.0, currency, -amount.signed());
        Ok(Accepted::Done)
    }

    /// Checks that a user may spend `funding` at a merchant; returns (user slot, merchant slot, total).
    fn check_spend(
        &self,
        user: UserId,
        merchant: MerchantId,
        funding: Funding,
    ) -> Result<(usize, usize, u64), Rejection> {
        let user_slot = self.user_slot(user)?;
        let merchant_slot = self.merchant_slot(merchant)?;
        let total = checked_funding(funding)?;
        let account = &self.users[user_slot];
        if account.currency != self.merchants[merchant_slot].currency {
            return Err(Rejection::CurrencyMismatch);
        }
        if funding.credit_minor > 0 && account.credit_frozen {
            return Err(Rejection::CreditFrozen);
        }
        // A payment from the balance alone is not judged by the line: penalties may have put a
        // late payer's credit past its limit, which must not stop them spending their own money.
        if funding.credit_minor > 0 && (funding.credit_minor as i128) > account.credit_available_minor() {
            return Err(Rejection::InsufficientCredit);
        }
        if funding.balance_minor > account.balance_available_minor() {
            return Err(Rejection::InsufficientBalance);
        }
        Ok((user_slot, merchant_slot, total))
    }

    /// The month key of now in the installed product's time zone (UTC before any product).
    /// Today's local day and month key in the products' time zone (every version shares it;
    /// UTC before any product).
    pub(crate) fn local_today(&self) -> (i64, i64) {
        let offset = self.products.first().map_or(0, |(_, product)| product.billing.utc_offset_minutes);
        let day = model::calendar::local_day(self.now_ms, offset);
        (day, model::calendar::month_key(day))
    }

    fn review_credit_line(&mut self, user: UserId) -> Outcome {
        let slot = self.user_slot(user)?;
        let product = self.product_at(self.now_ms).ok_or(Rejection::NoProduct)?;
        let (_, month) = self.local_today();
        let to_minor = crate::score::reviewed_limit(&self.users[slot], &self.lines[slot], product, month);
        let from_minor = std::mem::replace(&mut self.users[slot].limit_minor, to_minor);
        Ok(Accepted::LineReviewed { from_minor, to_minor })
    }

    fn adjust_score(&mut self, user: UserId, points: i32) -> Outcome {
        let slot = self.user_slot(user)?;
        let (_, month) = self.local_today();
        let line = &mut self.lines[slot];
        line.score.adjustment = line.score.adjustment.saturating_add(points);
        crate::score::rescore(&self.users[slot], line, self.now_ms, month, true);
        Ok(Accepted::Done)
    }

    pub(crate) fn check_new_payment_id(&self, id: CommandId) -> Result<(), Rejection> {
        let taken = self.payments.contains_key(&id) || self.authorizations.contains_key(&id);
        match taken || self.challenges.contains_key(&id) || self.risk.parked.contains_key(&id) {
            true => Err(Rejection::PaymentExists),
            false => Ok(()),
        }
    }

    fn pay(
        &mut self,
        id: CommandId,
        (user, merchant, funding): (UserId, MerchantId, Funding),
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        self.check_new_payment_id(id)?;
        let (user_slot, merchant_slot, total) = self.check_spend(user, merchant, funding)?;
        self.post_capture(id, (user_slot, merchant_slot), funding, total, ledger)
    }

    /// Moves captured money from the user to the merchant, records the payment and the purchase's
    /// risk features.
    fn post_capture(
        &mut self,
        id: CommandId,
        (user_slot, merchant_slot): (usize, usize),
        funding: Funding,
        total: u64,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let settlement = credit_to(self.merchants[merchant_slot].settlement_minor, total)?;
        let now_ms = self.now_ms;
        let account = &mut self.users[user_slot];
        let available_before = account.credit_available_minor();
        let merchant_id = self.merchants[merchant_slot].id;
        let purchase = Purchase { time_ms: now_ms, merchant: merchant_id, credit_minor: funding.credit_minor };
        self.risk.users[user_slot].on_purchase(purchase, total);
        let ring = funding.credit_minor > 0 && ring_like(total, funding.credit_minor, available_before);
        self.risk.merchants[merchant_slot].on_sale(now_ms, account.id, total, funding.credit_minor, ring);
        // Both parts were checked against what is available, which bounds them by i64::MAX.
        account.credit_used_minor += funding.credit_minor as i64;
        self.lines[user_slot].billing.spend(funding.credit_minor);
        let from_balance = account.provenance.take(funding.balance_minor, account.balance_minor);
        account.balance_minor -= funding.balance_minor;
        let (user, currency) = (account.id, account.currency);
        let merchant = &mut self.merchants[merchant_slot];
        merchant.settlement_minor = settlement;
        merchant.provenance.add(&Origins::drawn(user, funding.credit_minor, now_ms), false);
        merchant.provenance.add(&from_balance, true);
        ledger.post(AccountKind::UserCredit, user.0, currency, funding.credit_minor as i64);
        ledger.post(AccountKind::UserBalance, user.0, currency, funding.balance_minor as i64);
        ledger.post(AccountKind::MerchantSettlement, merchant.id.0, currency, -(total as i64));
        let payment = Payment { user, merchant: merchant.id, captured_at_ms: self.now_ms, captured: funding };
        self.payments.insert(id, payment);
        Ok(Accepted::Split { credit_minor: funding.credit_minor, balance_minor: funding.balance_minor })
    }

    pub(crate) fn authorize(&mut self, id: CommandId, authorization: Authorization) -> Outcome {
        self.check_new_payment_id(id)?;
        let (user_slot, _, _) = self.check_spend(authorization.user, authorization.merchant, authorization.funding)?;
        let lifetime_ms = authorization.expires_at_ms.saturating_sub(self.now_ms);
        if lifetime_ms == 0 || lifetime_ms > AUTHORIZATION_MAX_MS {
            return Err(Rejection::InvalidExpiry);
        }
        let account = &mut self.users[user_slot];
        account.credit_held_minor += authorization.funding.credit_minor;
        account.balance_held_minor += authorization.funding.balance_minor;
        self.expiries.insert((authorization.expires_at_ms, id));
        self.authorizations.insert(id, authorization);
        Ok(Accepted::Done)
    }

    /// Finds a live authorization of this merchant.
    fn live_authorization(&self, id: CommandId, merchant: MerchantId) -> Result<&Authorization, Rejection> {
        let authorization = self.authorizations.get(&id).ok_or(Rejection::UnknownAuthorization)?;
        if authorization.merchant != merchant {
            return Err(Rejection::MerchantMismatch);
        }
        if authorization.expires_at_ms <= self.now_ms {
            return Err(Rejection::AuthorizationExpired);
        }
        Ok(authorization)
    }

    fn capture(&mut self, id: CommandId, merchant: MerchantId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let (held, owner) = {
            let authorization = self.live_authorization(id, merchant)?;
            (authorization.funding, authorization.user)
        };
        if amount.minor() > held.credit_minor + held.balance_minor {
            return Err(Rejection::CaptureExceedsAuthorization);
        }
        let credit_minor = amount.minor().min(held.credit_minor);
        let captured = Funding { credit_minor, balance_minor: amount.minor() - credit_minor };
        let user_slot = self.user_slot(owner)?;
        let merchant_slot = self.merchant_slot(merchant)?;
        credit_to(self.merchants[merchant_slot].settlement_minor, amount.minor())?;
        self.drop_authorization(id);
        self.post_capture(id, (user_slot, merchant_slot), captured, amount.minor(), ledger)
    }

    fn release(&mut self, id: CommandId, merchant: MerchantId) -> Outcome {
        self.live_authorization(id, merchant)?;
        self.drop_authorization(id);
        Ok(Accepted::Done)
    }

    /// Removes an authorization and frees its holds.
    pub(crate) fn drop_authorization(&mut self, id: CommandId) {
        let Some(authorization) = self.authorizations.remove(&id) else { return };
        self.expiries.remove(&(authorization.expires_at_ms, id));
        let slot = self.user_index[&authorization.user] as usize;
        let account = &mut self.users[slot];
        account.credit_held_minor -= authorization.funding.credit_minor;
        account.balance_held_minor -= authorization.funding.balance_minor;
    }

    fn tick(&mut self, ledger: &mut Postings<'_>) -> Accepted {
        let authorizations = self.expire_authorizations();
        self.lapse_actions();
        let statements = self.run_billing_days(ledger);
        Accepted::Ticked { authorizations, statements }
    }

    fn expire_authorizations(&mut self) -> u32 {
        let mut released = 0u32;
        while let Some(&(expires_at_ms, id)) = self.expiries.first() {
            if expires_at_ms > self.now_ms {
                break;
            }
            if self.authorizations.contains_key(&id) {
                self.drop_authorization(id);
            } else if self.challenges.contains_key(&id) {
                self.drop_challenge(id);
            } else {
                self.drop_parked(id);
            }
            released = released.saturating_add(1);
        }
        released
    }

    fn refund(
        &mut self,
        id: CommandId,
        payment_id: CommandId,
        merchant: MerchantId,
        amount: Amount,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let payment = self.payments.get(&payment_id).ok_or(Rejection::UnknownPayment)?;
        if payment.merchant != merchant {
            return Err(Rejection::MerchantMismatch);
        }
        let refunded = self.refunded(payment_id);
        let credit_left = payment.captured.credit_minor - refunded.credit_minor;
        let balance_left = payment.captured.balance_minor - refunded.balance_minor;
        if amount.minor() > credit_left + balance_left {
            return Err(Rejection::RefundExceedsCapture);
        }
        // Credit-funded money goes back to the line first and never lands in the balance.
        let credit_minor = amount.minor().min(credit_left);
        let split = Funding { credit_minor, balance_minor: amount.minor() - credit_minor };
        let user_slot = self.user_slot(payment.user)?;
        let merchant_slot = self.merchant_slot(merchant)?;
        let settlement = self.merchants[merchant_slot].settlement_minor;
        let settlement = settlement.checked_sub(amount.minor()).ok_or(Rejection::InsufficientMerchantFunds)?;
        let account = &self.users[user_slot];
        let balance = credit_to(account.balance_minor, split.balance_minor)?;
        let used = account.credit_used_minor.checked_sub(split.credit_minor as i64).ok_or(Rejection::AmountOverflow)?;
        let (user, currency) = (account.id, account.currency);
        let merchant_account = &mut self.merchants[merchant_slot];
        let mut moving = merchant_account.provenance.take(amount.minor(), merchant_account.settlement_minor);
        // The credit part goes back to the line and leaves the balances; the rest lands in one.
        moving.take(split.credit_minor, amount.minor());
        self.users[user_slot].provenance.add(&moving, true);
        self.users[user_slot].balance_minor = balance;
        self.users[user_slot].credit_used_minor = used;
        let rest = self.lines[user_slot].billing.refund_plan(payment_id, split.credit_minor);
        self.lines[user_slot].billing.refund(rest);
        self.merchants[merchant_slot].settlement_minor = settlement;
        let captured_at_ms = payment.captured_at_ms;
        self.refunds.get_or_default(payment_id).push((id, split));
        let liquid = matches!(
            self.merchants[merchant_slot].category,
            MerchantCategory::VirtualGoods | MerchantCategory::Recharge
        );
        self.risk.users[user_slot].on_refund(self.now_ms, captured_at_ms, amount.minor(), liquid);
        self.risk.merchants[merchant_slot].on_refund(self.now_ms, amount.minor());
        ledger.post(AccountKind::MerchantSettlement, merchant.0, currency, amount.signed());
        ledger.post(AccountKind::UserCredit, user.0, currency, -(split.credit_minor as i64));
        ledger.post(AccountKind::UserBalance, user.0, currency, -(split.balance_minor as i64));
        Ok(Accepted::Split { credit_minor: split.credit_minor, balance_minor: split.balance_minor })
    }

    fn transfer(&mut self, from: UserId, to: UserId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        if from == to {
            return Err(Rejection::SelfTransfer);
        }
        let from_slot = self.user_slot(from)?;
        let to_slot = self.user_slot(to)?;
        self.move_between(Wallet::User(from_slot), Wallet::User(to_slot), amount, ledger)?;
        let now_ms = self.now_ms;
        self.risk.users[to_slot].on_inflow(Inflow { time_ms: now_ms, from, amount_minor: amount.minor() });
        self.risk.users[from_slot].on_payee(Outflow { time_ms: now_ms, to, amount_minor: amount.minor() });
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
        self.move_between(Wallet::Merchant(from_slot), Wallet::Merchant(to_slot), amount, ledger)?;
        self.risk.merchants[from_slot].on_payout(self.now_ms, amount.minor());
        Ok(Accepted::Done)
    }

    fn wallet_currency(&self, wallet: Wallet) -> Currency {
        match wallet {
            Wallet::User(slot) => self.users[slot].currency,
            Wallet::Merchant(slot) => self.merchants[slot].currency,
        }
    }

    /// Moves `amount` from one wallet on the platform to another, with its provenance (pro rata,
    /// one hop), posting both sides. Refuses a currency mismatch, funds short of the amount (a
    /// user's held balance is not available) and a payee past [`Amount::MAX`]; on a refusal
    /// nothing changed.
    fn move_between(&mut self, from: Wallet, to: Wallet, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let currency = self.wallet_currency(from);
        if currency != self.wallet_currency(to) {
            return Err(Rejection::CurrencyMismatch);
        }
        let (available, short) = match from {
            Wallet::User(slot) => (self.users[slot].balance_available_minor(), Rejection::InsufficientBalance),
            Wallet::Merchant(slot) => (self.merchants[slot].settlement_minor, Rejection::InsufficientMerchantFunds),
        };
        if amount.minor() > available {
            return Err(short);
        }
        let held_by_payee = match to {
            Wallet::User(slot) => self.users[slot].balance_minor,
            Wallet::Merchant(slot) => self.merchants[slot].settlement_minor,
        };
        let payee_after = credit_to(held_by_payee, amount.minor())?;
        let moving = match from {
            Wallet::User(slot) => {
                let payer = &mut self.users[slot];
                let moving = payer.provenance.take(amount.minor(), payer.balance_minor);
                payer.balance_minor -= amount.minor();
                ledger.post(AccountKind::UserBalance, payer.id.0, currency, amount.signed());
                moving
            }
            Wallet::Merchant(slot) => {
                let payer = &mut self.merchants[slot];
                let moving = payer.provenance.take(amount.minor(), payer.settlement_minor);
                payer.settlement_minor -= amount.minor();
                ledger.post(AccountKind::MerchantSettlement, payer.id.0, currency, amount.signed());
                moving
            }
        };
        match to {
            Wallet::User(slot) => {
                let payee = &mut self.users[slot];
                payee.balance_minor = payee_after;
                payee.provenance.add(&moving, true);
                ledger.post(AccountKind::UserBalance, payee.id.0, currency, -amount.signed());
            }
            Wallet::Merchant(slot) => {
                let payee = &mut self.merchants[slot];
                payee.settlement_minor = payee_after;
                payee.provenance.add(&moving, true);
                ledger.post(AccountKind::MerchantSettlement, payee.id.0, currency, -amount.signed());
            }
        }
        Ok(Accepted::Done)
    }

    /// Moves money from the platform's bank position: debit `kind`/`owner`, credit bank clearing.
    fn post_to_bank(
        &mut self,
        kind: AccountKind,
        owner: u64,
        currency: Currency,
        amount: Amount,
        ledger: &mut Postings<'_>,
    ) -> Result<(), Rejection> {
        let bank = self.bank_slot(currency);
        let position = self.bank_clearing[bank].1.checked_sub(amount.signed()).ok_or(Rejection::AmountOverflow)?;
        self.bank_clearing[bank].1 = position;
        ledger.post(kind, owner, currency, amount.signed());
        ledger.post(AccountKind::BankClearing, 0, currency, -amount.signed());
        Ok(())
    }

    fn withdraw_to_bank(&mut self, user: UserId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.user_slot(user)?;
        if amount.minor() > self.users[slot].balance_available_minor() {
            return Err(Rejection::InsufficientBalance);
        }
        let currency = self.users[slot].currency;
        self.post_to_bank(AccountKind::UserBalance, user.0, currency, amount, ledger)?;
        let account = &mut self.users[slot];
        account.provenance.take(amount.minor(), account.balance_minor);
        account.balance_minor -= amount.minor();
        Ok(Accepted::Done)
    }

    fn payout_merchant(&mut self, merchant: MerchantId, amount: Amount, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.merchant_slot(merchant)?;
        if amount.minor() > self.merchants[slot].settlement_minor {
            return Err(Rejection::InsufficientMerchantFunds);
        }
        let currency = self.merchants[slot].currency;
        self.post_to_bank(AccountKind::MerchantSettlement, merchant.0, currency, amount, ledger)?;
        let account = &mut self.merchants[slot];
        account.provenance.take(amount.minor(), account.settlement_minor);
        account.settlement_minor -= amount.minor();
        self.risk.merchants[slot].on_payout(self.now_ms, amount.minor());
        Ok(Accepted::Done)
    }

    fn repay(&mut self, user: UserId, amount: Amount, source: RepaySource, ledger: &mut Postings<'_>) -> Outcome {
        let slot = self.user_slot(user)?;
        let account = &self.users[slot];
        // Instalment plans are paid period by period, or off early: not by ordinary repayments.
        let owed = (account.credit_used_minor - self.lines[slot].billing.plans_minor() as i64).max(0) as u64;
        let rule = self.product_at(self.now_ms).map_or(Overpayment::Refuse, |product| product.billing.overpayment);
        let applied = match (amount.minor() > owed, rule) {
            (false, _) | (true, Overpayment::KeepAsCredit) => amount.minor(),
            (true, Overpayment::Refuse) => return Err(Rejection::Overpayment),
            (true, Overpayment::ReturnToBalance) => owed,
        };
        if source == RepaySource::Balance && amount.minor() > account.balance_available_minor() {
            return Err(Rejection::InsufficientBalance);
        }
        if source == RepaySource::Bank {
            // Check the excess's landing before moving anything, so a refusal changes nothing.
            credit_to(account.balance_minor, amount.minor() - applied)?;
        }
        if let Some(applied) = Amount::new(applied) {
            self.move_repayment(slot, applied, source, ledger)?;
            self.lines[slot].billing.repay(applied.minor());
        }
        if let (Some(excess), RepaySource::Bank) = (Amount::new(amount.minor() - applied), source) {
            // The excess came from the user's bank and lands in the balance, like a top-up.
            self.top_up(user, excess, ledger)?;
        }
        Ok(Accepted::Repaid { amount_minor: applied })
    }

    /// Pays the bill: the whole billed balance or the rest of the minimum.
    fn repay_statement(
        &mut self,
        user: UserId,
        source: RepaySource,
        in_full: bool,
        ledger: &mut Postings<'_>,
    ) -> Outcome {
        let slot = self.user_slot(user)?;
        let due = self.lines[slot].billing.statement_due_minor(in_full);
        let amount = Amount::new(due).ok_or(Rejection::NothingDue)?;
        self.repay(user, amount, source, ledger)?;
        Ok(Accepted::Repaid { amount_minor: due })
    }

    /// Moves a repayment: debits its source — the user's balance, or the platform's bank position
    /// for money arriving from the user's bank — and credits the line. Allocating it across the
    /// billing buckets is the caller's.
    pub(crate) fn move_repayment(
        &mut self,
        slot: usize,
        amount: Amount,
        source: RepaySource,
        ledger: &mut Postings<'_>,
    ) -> Result<(), Rejection> {
        let (user, currency) = (self.users[slot].id, self.users[slot].currency);
        match source {
            RepaySource::Balance => {
                if amount.minor() > self.users[slot].balance_available_minor() {
                    return Err(Rejection::InsufficientBalance);
                }
                let account = &mut self.users[slot];
                account.provenance.take(amount.minor(), account.balance_minor);
                account.balance_minor -= amount.minor();
                ledger.post(AccountKind::UserBalance, user.0, currency, amount.signed());
            }
            RepaySource::Bank => {
                let bank = self.bank_slot(currency);
                let position =
                    self.bank_clearing[bank].1.checked_add(amount.signed()).ok_or(Rejection::AmountOverflow)?;
                self.bank_clearing[bank].1 = position;
                ledger.post(AccountKind::BankClearing, 0, currency, amount.signed());
            }
        }
        self.users[slot].credit_used_minor -= amount.signed();
        ledger.post(AccountKind::UserCredit, user.0, currency, -amount.signed());
        Ok(())
    }
}

/// Collects a command's postings, skipping zero legs.
pub(crate) struct Postings<'a> {
    postings: &'a mut Vec<Posting>,
    command_index: u32,
}

impl Postings<'_> {
    pub(crate) fn post(&mut self, kind: AccountKind, owner: u64, currency: Currency, amount_minor: i64) {
        if amount_minor != 0 {
            let account = AccountKey { kind, owner, currency };
            self.postings.push(Posting { command_index: self.command_index, account, amount_minor });
        }
    }
}
