//! Read-only views of the engine state, for the API and the tools.

use crate::apply::{Engine, Merchant, User};
use ledger::{Authorization, Payment};
use model::Currency;
use model::{CommandId, Funding, MerchantId, UserId};

/// Sizes of the state, for metrics and the bench.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Users open.
    pub users: usize,
    /// Merchants open.
    pub merchants: usize,
    /// Ledger accounts: two per user, one per merchant, one bank clearing per currency.
    pub accounts: usize,
    /// Captured payments.
    pub payments: usize,
    /// Live authorizations.
    pub authorizations: usize,
    /// Command ids remembered for idempotent retries.
    pub remembered_ids: usize,
    /// Statements closed, all users together.
    pub statements: usize,
}

impl Engine {
    /// A user's accounts, if open.
    pub fn user(&self, id: UserId) -> Option<User<'_>> {
        let slot = self.ledger.user_slot(id)? as usize;
        Some(User { account: &self.ledger.users()[slot], credit: &self.lines[slot], risk: &self.risk.users()[slot] })
    }

    /// A merchant, if open.
    pub fn merchant(&self, id: MerchantId) -> Option<Merchant<'_>> {
        let slot = self.ledger.merchant_slot(id)? as usize;
        Some(Merchant { account: &self.ledger.merchants()[slot], risk: &self.risk.merchants()[slot] })
    }

    /// A captured payment.
    pub fn payment(&self, id: CommandId) -> Option<&Payment> {
        self.ledger.payment(id)
    }

    /// The refunds of a payment, oldest first: refund command id and split.
    pub fn refunds(&self, payment: CommandId) -> &[(CommandId, Funding)] {
        self.ledger.refunds(payment)
    }

    /// What has been refunded of a payment so far, by funding source.
    pub fn refunded(&self, payment: CommandId) -> Funding {
        self.ledger.refunded(payment)
    }

    /// A live authorization.
    pub fn authorization(&self, id: CommandId) -> Option<&Authorization> {
        self.ledger.authorization(id)
    }

    /// The platform's bank clearing position per currency (debit positive), sorted by currency.
    pub fn bank_clearing(&self) -> &[(Currency, i64)] {
        self.ledger.bank_clearing()
    }

    /// The latest command time seen, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The platform's fee income per currency (debit positive, so negative), sorted by currency.
    pub fn fee_income(&self) -> &[(Currency, i64)] {
        self.ledger.fee_income()
    }

    /// The product version in force at `time_ms`.
    pub fn product_at(&self, time_ms: u64) -> Option<&model::product::Product> {
        self.calendar.product_at(time_ms)
    }

    /// When the next tick has work: the earliest authorization expiry or risk-action lapse, or
    /// the end of the next unbilled day.
    pub fn next_tick_ms(&self) -> Option<u64> {
        let expiry = self.ledger.expiries().first().map(|(expires_at_ms, _)| *expires_at_ms);
        let lapse = self.risk.next_lapse_ms();
        [expiry, lapse, self.calendar.next_day_end_ms()].into_iter().flatten().min()
    }

    /// Installed product versions with the time each takes effect, oldest first.
    pub fn products(&self) -> &[(u64, model::product::Product)] {
        self.calendar.products()
    }

    /// The sequence at which a remembered command id was first applied (counting every applied
    /// command from 1): a retry's result points at the original.
    pub fn first_sequence(&self, id: CommandId) -> Option<u64> {
        self.remembered.get(&id).map(|remembered| remembered.sequence)
    }

    /// How many commands have been applied, retries and rejections included.
    pub fn commands_applied(&self) -> u64 {
        self.commands_applied
    }

    /// Sizes of the state.
    pub fn counts(&self) -> Counts {
        Counts {
            users: self.ledger.users().len(),
            merchants: self.ledger.merchants().len(),
            accounts: self.ledger.users().len() * 2
                + self.ledger.merchants().len()
                + self.ledger.bank_clearing().len()
                + self.ledger.fee_income().len(),
            payments: self.ledger.payment_count(),
            authorizations: self.ledger.authorization_count(),
            remembered_ids: self.remembered.len(),
            statements: self.lines.iter().map(|line| line.billing.statements.len()).sum(),
        }
    }

    /// A case by the id of the command that opened it.
    pub fn case(&self, id: CommandId) -> Option<&model::risk::Case> {
        self.risk.cases().get(&id)
    }

    /// Cases with an id above `after`, by id.
    pub fn cases_after(&self, after: CommandId) -> impl Iterator<Item = (CommandId, &model::risk::Case)> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.risk.cases().range((Excluded(after), Unbounded)).map(|(id, case)| (*id, case))
    }

    /// The rules file in force, if any.
    pub fn rules(&self) -> Option<&model::risk::RuleSet> {
        self.risk.rules()
    }

    /// Rules files proposed for activation and waiting for a second key, by proposal id.
    pub fn rule_proposals(&self) -> &std::collections::BTreeMap<CommandId, model::risk::Proposal> {
        self.risk.proposals()
    }

    /// A command waiting for step-up verification.
    pub fn parked(&self, id: CommandId) -> Option<&model::risk::Parked> {
        self.risk.parked(id)
    }
}
