//! creditline's double-entry core: the accounts money moves between and every move between them.
//!
//! [`Ledger`] holds the users' credit and balance accounts, the merchants' settlement accounts,
//! the platform's bank-clearing and fee-income positions, captured payments with their refunds,
//! and live holds with the expiry queue they share with the crates above. Each operation checks
//! everything first (pure reads, checked arithmetic) and changes state only once every check has
//! passed, so a refusal leaves nothing behind; each posts its legs to [`Postings`], which always
//! sum to zero per currency.
//!
//! The ledger knows nothing of credit products or risk. Operations whose effects those crates
//! observe return a fact ([`Captured`], [`Refunded`]) for the engine to fan out, so nothing here
//! imports them. Accounts are addressed by slot (the engine resolves ids once per command); the
//! records are read through accessors and written only through the operations, which keep the
//! ledger's own invariants: a hold never exceeds what it holds against, a balance and a
//! settlement account stay within [`model::Amount::MAX`], and money moves with its provenance.

#![warn(missing_docs)]

mod accounts;
pub mod idempotency;
pub mod prefetch;
pub mod provenance;
pub mod table;

pub use accounts::{Authorization, MerchantAccount, Payment, UserAccount};

use model::{AccountKey, AccountKind, Amount, CommandId, Currency, Funding, IdentityLevel, Posting, Rejection};
use model::{MerchantId, RepaySource, UserId};
use provenance::{Origins, Provenance};
use std::collections::BTreeSet;
use table::{Map, RecordMap, SlotIndex};

/// The longest an authorization may hold funds.
pub const AUTHORIZATION_MAX_MS: u64 = 30 * 24 * 60 * 60 * 1000;

/// The ledger's state. Create with [`Ledger::default`] or [`Ledger::restore`].
#[derive(Default)]
pub struct Ledger {
    users: Vec<UserAccount>,
    user_index: SlotIndex<UserId>,
    merchants: Vec<MerchantAccount>,
    merchant_index: SlotIndex<MerchantId>,
    /// The platform's bank clearing position per currency (debit positive), sorted by currency.
    bank_clearing: Vec<(Currency, i64)>,
    /// The platform's fee income per currency (debit positive, so negative), sorted by currency.
    fee_income: Vec<(Currency, i64)>,
    payments: RecordMap<CommandId, Payment>,
    /// Refunds of each refunded payment: refund command id and split, oldest first.
    refunds: Map<CommandId, Vec<(CommandId, Funding)>>,
    authorizations: Map<CommandId, Authorization>,
    /// (expiry, id) of every live hold, and of what the crates above schedule with
    /// [`Ledger::schedule`] (pending withdrawals, parked commands): one queue for the ticks.
    expiries: BTreeSet<(u64, CommandId)>,
}

/// What a ledger snapshot holds, for [`Ledger::restore`]; maps as (key, value) lists.
pub struct LedgerRecords {
    /// Users by slot.
    pub users: Vec<UserAccount>,
    /// Merchants by slot.
    pub merchants: Vec<MerchantAccount>,
    /// Bank clearing per currency, sorted.
    pub bank_clearing: Vec<(Currency, i64)>,
    /// Fee income per currency, sorted.
    pub fee_income: Vec<(Currency, i64)>,
    /// Captured payments.
    pub payments: Vec<(CommandId, Payment)>,
    /// Live authorizations (their expiries are rebuilt from them).
    pub authorizations: Vec<(CommandId, Authorization)>,
    /// Refunds by payment.
    pub refunds: Vec<(CommandId, Vec<(CommandId, Funding)>)>,
}

/// A payment the ledger captured, for the credit line and the risk features to observe.
#[derive(Clone, Copy, Debug)]
pub struct Captured {
    /// The payer's slot.
    pub user: usize,
    /// The merchant's slot.
    pub merchant: usize,
    /// What was captured, by funding source.
    pub funding: Funding,
    /// Credit available to the payer before the capture (limit − used − held).
    pub available_before_minor: i128,
}

/// A refund the ledger posted, for the credit line and the risk features to observe.
#[derive(Clone, Copy, Debug)]
pub struct Refunded {
    /// The payer's slot.
    pub user: usize,
    /// The merchant's slot.
    pub merchant: usize,
    /// What went back: the credit part to the line, the rest to the balance.
    pub split: Funding,
    /// When the refunded payment was captured.
    pub captured_at_ms: u64,
}

/// An account on the platform that money moves between by slot: a user's balance or a
/// merchant's settlement account.
#[derive(Clone, Copy, Debug)]
pub enum Wallet {
    /// A user's balance.
    User(usize),
    /// A merchant's settlement account.
    Merchant(usize),
}

/// Collects a command's postings, skipping zero legs.
pub struct Postings<'a> {
    postings: &'a mut Vec<Posting>,
    command_index: u32,
}

impl<'a> Postings<'a> {
    /// Postings of the command at `command_index` of its batch, appended to `postings`.
    #[inline]
    pub fn new(postings: &'a mut Vec<Posting>, command_index: u32) -> Postings<'a> {
        Postings { postings, command_index }
    }

    #[inline]
    fn post(&mut self, kind: AccountKind, owner: u64, currency: Currency, amount_minor: i64) {
        if amount_minor != 0 {
            let account = AccountKey { kind, owner, currency };
            self.postings.push(Posting { command_index: self.command_index, account, amount_minor });
        }
    }
}

/// Checks a funding split: each part in range, not both zero, total in range.
#[inline]
fn checked_funding(funding: Funding) -> Result<u64, Rejection> {
    let total = funding.credit_minor.checked_add(funding.balance_minor).ok_or(Rejection::InvalidAmount)?;
    if total == 0 || total > Amount::MAX {
        return Err(Rejection::InvalidAmount);
    }
    Ok(total)
}

/// The slot after `len` records: slots are `u32`.
fn next_slot(len: usize) -> Result<u32, Rejection> {
    u32::try_from(len).map_err(|_| Rejection::AmountOverflow)
}

/// The slot of a currency's platform account, created at zero if missing.
fn platform_slot(accounts: &mut Vec<(Currency, i64)>, currency: Currency) -> usize {
    match accounts.binary_search_by_key(&currency, |(code, _)| *code) {
        Ok(slot) => slot,
        Err(slot) => {
            accounts.insert(slot, (currency, 0));
            slot
        }
    }
}

/// Splits `amount` with as much as `credit_room` on credit and the rest on balance: captures
/// take held credit first, refunds give credit back to the line first.
fn credit_first(amount: Amount, credit_room: u64) -> Funding {
    let credit_minor = amount.minor().min(credit_room);
    Funding { credit_minor, balance_minor: amount.minor() - credit_minor }
}

/// Adds to an unsigned balance, keeping it within `Amount::MAX`.
fn credit_to(balance: u64, amount: u64) -> Result<u64, Rejection> {
    balance.checked_add(amount).filter(|sum| *sum <= Amount::MAX).ok_or(Rejection::AmountOverflow)
}

/// Reads.
impl Ledger {
    /// Users' accounts by slot.
    #[inline]
    pub fn users(&self) -> &[UserAccount] {
        &self.users
    }

    /// Merchants' accounts by slot.
    #[inline]
    pub fn merchants(&self) -> &[MerchantAccount] {
        &self.merchants
    }

    /// The slot of a user: the first of `hints` that holds that user's record, else the index's.
    /// A hint is only a guess (the engine's look-ahead), checked against the record, so a stale
    /// one costs just the index lookup it would have saved.
    #[inline]
    pub fn find_user(&self, user: UserId, hints: [Option<u32>; 2]) -> Option<usize> {
        let holds = |slot: Option<u32>| {
            slot.map(|slot| slot as usize).filter(|slot| self.users.get(*slot).is_some_and(|record| record.id == user))
        };
        holds(hints[0]).or_else(|| holds(hints[1])).or_else(|| self.user_index.get(&user).map(|slot| *slot as usize))
    }

    /// The slot of a merchant, as [`Ledger::find_user`] finds a user's.
    #[inline]
    pub fn find_merchant(&self, merchant: MerchantId, hint: Option<u32>) -> Option<usize> {
        hint.map(|slot| slot as usize)
            .filter(|slot| self.merchants.get(*slot).is_some_and(|record| record.id == merchant))
            .or_else(|| self.merchant_index.get(&merchant).map(|slot| *slot as usize))
    }

    /// The index's slot of a user, without hints (for the look-ahead itself).
    #[inline]
    pub fn user_slot(&self, user: UserId) -> Option<u32> {
        self.user_index.get(&user).copied()
    }

    /// The index's slot of a merchant, without hints.
    #[inline]
    pub fn merchant_slot(&self, merchant: MerchantId) -> Option<u32> {
        self.merchant_index.get(&merchant).copied()
    }

    /// The bank clearing position per currency (debit positive), sorted by currency.
    #[inline]
    pub fn bank_clearing(&self) -> &[(Currency, i64)] {
        &self.bank_clearing
    }

    /// Fee income per currency (debit positive, so negative), sorted by currency.
    #[inline]
    pub fn fee_income(&self) -> &[(Currency, i64)] {
        &self.fee_income
    }

    /// A captured payment.
    #[inline]
    pub fn payment(&self, id: CommandId) -> Option<&Payment> {
        self.payments.get(&id)
    }

    /// Every captured payment, in no particular order.
    #[inline]
    pub fn payments(&self) -> impl Iterator<Item = (CommandId, &Payment)> {
        self.payments.iter()
    }

    /// Captured payments held.
    #[inline]
    pub fn payment_count(&self) -> usize {
        self.payments.len()
    }

    /// The refunds of a payment, oldest first: refund command id and split.
    #[inline]
    pub fn refunds(&self, payment: CommandId) -> &[(CommandId, Funding)] {
        self.refunds.get(&payment).map_or(&[], Vec::as_slice)
    }

    /// Every refunded payment's refunds, in no particular order.
    #[inline]
    pub fn all_refunds(&self) -> impl Iterator<Item = (&CommandId, &Vec<(CommandId, Funding)>)> {
        self.refunds.iter()
    }

    /// What has been refunded of a payment so far, by funding source.
    #[inline]
    pub fn refunded(&self, payment: CommandId) -> Funding {
        Funding::total(self.refunds(payment).iter().map(|(_, split)| *split))
    }

    /// A live authorization.
    #[inline]
    pub fn authorization(&self, id: CommandId) -> Option<&Authorization> {
        self.authorizations.get(&id)
    }

    /// Every live authorization, in no particular order.
    #[inline]
    pub fn authorizations(&self) -> impl Iterator<Item = (&CommandId, &Authorization)> {
        self.authorizations.iter()
    }

    /// Live authorizations held.
    #[inline]
    pub fn authorization_count(&self) -> usize {
        self.authorizations.len()
    }

    /// The expiry queue: (time, id), earliest first.
    #[inline]
    pub fn expiries(&self) -> &BTreeSet<(u64, CommandId)> {
        &self.expiries
    }

    /// Whether a payment or a hold already has this id.
    #[inline]
    pub fn holds_payment_id(&self, id: CommandId) -> bool {
        self.payments.contains_key(&id) || self.authorizations.contains_key(&id)
    }
}

/// Opening accounts, restoring, and the expiry queue.
impl Ledger {
    /// Refuses to open a user whose id is taken.
    pub fn check_open_user(&self, id: UserId) -> Result<(), Rejection> {
        match self.user_index.contains_key(&id) {
            true => Err(Rejection::UserExists),
            false => next_slot(self.users.len()).map(drop),
        }
    }

    /// Opens a user's two accounts at zero ([`Ledger::check_open_user`] passed); returns the slot.
    pub fn open_user(&mut self, id: UserId, currency: Currency, identity: IdentityLevel, now_ms: u64) -> usize {
        let slot = next_slot(self.users.len()).expect("checked: a slot is left");
        assert!(!self.user_index.contains_key(&id), "user {id:?} was checked to be new");
        self.user_index.insert(id, slot);
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
            opened_at_ms: now_ms,
            provenance: Provenance::default(),
        });
        platform_slot(&mut self.bank_clearing, currency);
        slot as usize
    }

    /// Refuses to open a merchant whose id is taken.
    pub fn check_open_merchant(&self, id: MerchantId) -> Result<(), Rejection> {
        match self.merchant_index.contains_key(&id) {
            true => Err(Rejection::MerchantExists),
            false => next_slot(self.merchants.len()).map(drop),
        }
    }

    /// Opens a merchant's settlement account, which must be empty ([`Ledger::check_open_merchant`]
    /// passed); returns the slot.
    pub fn open_merchant(&mut self, merchant: MerchantAccount) -> usize {
        assert!(merchant.settlement_minor == 0 && merchant.provenance.is_empty(), "a merchant opens at zero");
        let slot = next_slot(self.merchants.len()).expect("checked: a slot is left");
        assert!(!self.merchant_index.contains_key(&merchant.id), "merchant {:?} was checked to be new", merchant.id);
        self.merchant_index.insert(merchant.id, slot);
        platform_slot(&mut self.bank_clearing, merchant.currency);
        self.merchants.push(merchant);
        slot as usize
    }

    /// Rebuilds a ledger from its records: the indexes and the holds' expiries.
    pub fn restore(records: LedgerRecords) -> Ledger {
        let mut ledger = Ledger::default();
        for (slot, user) in records.users.iter().enumerate() {
            ledger.user_index.insert(user.id, slot as u32);
        }
        for (slot, merchant) in records.merchants.iter().enumerate() {
            ledger.merchant_index.insert(merchant.id, slot as u32);
        }
        ledger.users = records.users;
        ledger.merchants = records.merchants;
        ledger.bank_clearing = records.bank_clearing;
        ledger.fee_income = records.fee_income;
        ledger.payments.extend(records.payments);
        for (id, authorization) in records.authorizations {
            ledger.expiries.insert((authorization.expires_at_ms, id));
            ledger.authorizations.insert(id, authorization);
        }
        ledger.refunds.extend(records.refunds);
        ledger
    }

    /// Queues an expiry for something the crates above hold until `expires_at_ms`; false when
    /// it was queued already (a restored snapshot's invariant check counts the queue).
    pub fn schedule(&mut self, expires_at_ms: u64, id: CommandId) -> bool {
        self.expiries.insert((expires_at_ms, id))
    }

    /// Removes a queued expiry.
    pub fn unschedule(&mut self, expires_at_ms: u64, id: CommandId) {
        self.expiries.remove(&(expires_at_ms, id));
    }
}

/// Line settings and holds.
impl Ledger {
    /// Sets a user's limit; the caller has checked it covers what is committed.
    #[inline]
    pub fn set_limit(&mut self, slot: usize, limit_minor: u64) -> u64 {
        assert!(limit_minor <= Amount::MAX, "limit {limit_minor} out of range");
        std::mem::replace(&mut self.users[slot].limit_minor, limit_minor)
    }

    /// Freezes or unfreezes a user's credit line.
    #[inline]
    pub fn set_credit_frozen(&mut self, slot: usize, frozen: bool) {
        self.users[slot].credit_frozen = frozen;
    }

    /// Holds credit for something settled later (a pending withdrawal and its fee).
    #[inline]
    pub fn hold_credit(&mut self, slot: usize, amount_minor: u64) {
        let held = &mut self.users[slot].credit_held_minor;
        *held = held.checked_add(amount_minor).expect("holds are checked against the limit");
    }

    /// Frees credit held by [`Ledger::hold_credit`].
    #[inline]
    pub fn release_credit(&mut self, slot: usize, amount_minor: u64) {
        let held = &mut self.users[slot].credit_held_minor;
        *held = held.checked_sub(amount_minor).expect("only what was held is released");
    }

    /// Checks that a user may spend `funding` at a merchant; returns the total.
    #[inline]
    pub fn check_spend(&self, user: usize, merchant: usize, funding: Funding) -> Result<u64, Rejection> {
        let total = checked_funding(funding)?;
        let account = &self.users[user];
        if account.currency != self.merchants[merchant].currency {
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
        Ok(total)
    }

    /// Refuses a hold that would lapse at once or outlive [`AUTHORIZATION_MAX_MS`].
    #[inline]
    pub fn check_hold_expiry(expires_at_ms: u64, now_ms: u64) -> Result<(), Rejection> {
        let lifetime_ms = expires_at_ms.saturating_sub(now_ms);
        match lifetime_ms == 0 || lifetime_ms > AUTHORIZATION_MAX_MS {
            true => Err(Rejection::InvalidExpiry),
            false => Ok(()),
        }
    }

    /// Holds funds for a merchant until captured, released or expired; the caller has checked
    /// the spend ([`Ledger::check_spend`]), the expiry ([`Ledger::check_hold_expiry`]) and that
    /// the id is new.
    #[inline]
    pub fn authorize(&mut self, id: CommandId, slot: usize, authorization: Authorization) {
        let account = &mut self.users[slot];
        account.credit_held_minor += authorization.funding.credit_minor;
        account.balance_held_minor += authorization.funding.balance_minor;
        assert!(account.balance_held_minor <= account.balance_minor, "a hold was checked against the balance");
        let fresh = self.schedule(authorization.expires_at_ms, id);
        assert!(fresh, "authorization {id:?} was checked to be new");
        self.authorizations.insert(id, authorization);
    }

    /// Finds a live authorization of this merchant.
    #[inline]
    pub fn live_authorization(
        &self,
        id: CommandId,
        merchant: MerchantId,
        now_ms: u64,
    ) -> Result<&Authorization, Rejection> {
        let authorization = self.authorizations.get(&id).ok_or(Rejection::UnknownAuthorization)?;
        if authorization.merchant != merchant {
            return Err(Rejection::MerchantMismatch);
        }
        if authorization.expires_at_ms <= now_ms {
            return Err(Rejection::AuthorizationExpired);
        }
        Ok(authorization)
    }

    /// Removes an authorization and frees its holds; whether there was one.
    #[inline]
    pub fn drop_authorization(&mut self, id: CommandId) -> bool {
        let Some(authorization) = self.authorizations.remove(&id) else { return false };
        self.expiries.remove(&(authorization.expires_at_ms, id));
        let slot = self.user_index[&authorization.user] as usize;
        let account = &mut self.users[slot];
        let (credit, balance) = (authorization.funding.credit_minor, authorization.funding.balance_minor);
        account.credit_held_minor = account.credit_held_minor.checked_sub(credit).expect("a hold frees what it held");
        account.balance_held_minor =
            account.balance_held_minor.checked_sub(balance).expect("a hold frees what it held");
        true
    }
}

/// A checked capture of a hold, from [`Ledger::check_capture`] for [`Ledger::capture`].
#[derive(Clone, Copy, Debug)]
pub struct Capture {
    id: CommandId,
    slots: (usize, usize),
    funding: Funding,
}

/// A checked refund, from [`Ledger::check_refund`] for [`Ledger::refund`].
#[derive(Clone, Copy, Debug)]
pub struct Refund {
    payment: CommandId,
    slots: (usize, usize),
    amount: Amount,
    split: Funding,
    captured_at_ms: u64,
}

/// Money movements: each a pure `check_…` that finds every refusal, and the movement itself,
/// which cannot refuse once its check passed and asserts what the check established.
impl Ledger {
    /// The platform's bank position in a currency (zero before its first account).
    fn bank_position(&self, currency: Currency) -> i64 {
        let slot = self.bank_clearing.binary_search_by_key(&currency, |(code, _)| *code);
        slot.map_or(0, |slot| self.bank_clearing[slot].1)
    }

    /// Refuses a bank position past `i64` after `change_minor`.
    fn check_bank(&self, currency: Currency, change_minor: i64) -> Result<(), Rejection> {
        self.bank_position(currency).checked_add(change_minor).map(drop).ok_or(Rejection::AmountOverflow)
    }

    /// Moves the platform's bank position by `change_minor`, which its check allowed.
    fn move_bank(&mut self, currency: Currency, change_minor: i64) {
        let bank = platform_slot(&mut self.bank_clearing, currency);
        let position = &mut self.bank_clearing[bank].1;
        *position = position.checked_add(change_minor).expect("checked: the bank position has room");
    }

    /// Refuses a top-up the balance or the bank position cannot take.
    #[inline]
    pub fn check_top_up(&self, slot: usize, amount: Amount) -> Result<(), Rejection> {
        let account = &self.users[slot];
        credit_to(account.balance_minor, amount.minor())?;
        self.check_bank(account.currency, amount.signed())
    }

    /// Money from the user's bank into their balance ([`Ledger::check_top_up`] passed).
    #[inline]
    pub fn top_up(&mut self, slot: usize, amount: Amount, postings: &mut Postings<'_>) {
        let (user, currency) = (self.users[slot].id, self.users[slot].currency);
        let balance = credit_to(self.users[slot].balance_minor, amount.minor()).expect("checked: the balance has room");
        self.move_bank(currency, amount.signed());
        self.users[slot].balance_minor = balance;
        postings.post(AccountKind::BankClearing, 0, currency, amount.signed());
        postings.post(AccountKind::UserBalance, user.0, currency, -amount.signed());
    }

    /// Refuses a payment of `total_minor` the merchant's settlement account cannot take.
    #[inline]
    pub fn check_settle(&self, merchant_slot: usize, total_minor: u64) -> Result<(), Rejection> {
        credit_to(self.merchants[merchant_slot].settlement_minor, total_minor).map(drop)
    }

    /// Captures a payment: moves `funding` from the user's line and balance to the merchant
    /// and records the payment. The caller has checked the spend, or holds it (a capture), and
    /// the settlement ([`Ledger::check_settle`]).
    #[inline]
    pub fn capture_payment(
        &mut self,
        id: CommandId,
        (user_slot, merchant_slot): (usize, usize),
        funding: Funding,
        now_ms: u64,
        postings: &mut Postings<'_>,
    ) -> Captured {
        let total = funding.credit_minor + funding.balance_minor;
        let settlement =
            credit_to(self.merchants[merchant_slot].settlement_minor, total).expect("checked: the settlement has room");
        let account = &mut self.users[user_slot];
        let available_before_minor = account.credit_available_minor();
        // Both parts were checked against what is available, which bounds them by i64::MAX.
        account.credit_used_minor += funding.credit_minor as i64;
        let from_balance = account.provenance.take(funding.balance_minor, account.balance_minor);
        let balance = account.balance_minor.checked_sub(funding.balance_minor);
        account.balance_minor = balance.expect("checked: the balance covers the spend");
        assert!(account.balance_held_minor <= account.balance_minor, "a spend leaves the held balance");
        let (user, currency) = (account.id, account.currency);
        let merchant = &mut self.merchants[merchant_slot];
        merchant.settlement_minor = settlement;
        merchant.provenance.add(&Origins::drawn(user, funding.credit_minor, now_ms), false);
        merchant.provenance.add(&from_balance, true);
        postings.post(AccountKind::UserCredit, user.0, currency, funding.credit_minor as i64);
        postings.post(AccountKind::UserBalance, user.0, currency, funding.balance_minor as i64);
        postings.post(AccountKind::MerchantSettlement, merchant.id.0, currency, -(total as i64));
        let payment = Payment { user, merchant: merchant.id, captured_at_ms: now_ms, captured: funding };
        self.payments.insert(id, payment);
        Captured { user: user_slot, merchant: merchant_slot, funding, available_before_minor }
    }

    /// Checks a capture of `amount` of a live hold of this merchant: credit first, at most what
    /// is held, into a settlement account with room.
    #[inline]
    pub fn check_capture(
        &self,
        id: CommandId,
        merchant: MerchantId,
        amount: Amount,
        now_ms: u64,
    ) -> Result<Capture, Rejection> {
        let authorization = self.live_authorization(id, merchant, now_ms)?;
        let held = authorization.funding;
        if amount.minor() > held.credit_minor + held.balance_minor {
            return Err(Rejection::CaptureExceedsAuthorization);
        }
        let user_slot = self.user_index.get(&authorization.user).ok_or(Rejection::UnknownUser)?;
        let merchant_slot = self.merchant_index.get(&merchant).ok_or(Rejection::UnknownMerchant)?;
        let slots = (*user_slot as usize, *merchant_slot as usize);
        self.check_settle(slots.1, amount.minor())?;
        Ok(Capture { id, slots, funding: credit_first(amount, held.credit_minor) })
    }

    /// Captures a checked hold, dropping it; the rest of what it held is freed.
    #[inline]
    pub fn capture(&mut self, capture: Capture, now_ms: u64, postings: &mut Postings<'_>) -> Captured {
        let Capture { id, slots, funding } = capture;
        let dropped = self.drop_authorization(id);
        assert!(dropped, "the hold {id:?} was checked to be live");
        self.capture_payment(id, slots, funding, now_ms, postings)
    }

    /// Checks a refund of `amount` of a payment by its merchant: at most what is left of it,
    /// the credit part first, from a settlement account that holds it.
    #[inline]
    pub fn check_refund(
        &self,
        payment_id: CommandId,
        merchant: MerchantId,
        amount: Amount,
    ) -> Result<Refund, Rejection> {
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
        let split = credit_first(amount, credit_left);
        let user_slot = *self.user_index.get(&payment.user).ok_or(Rejection::UnknownUser)? as usize;
        let merchant_slot = *self.merchant_index.get(&merchant).ok_or(Rejection::UnknownMerchant)? as usize;
        let settlement = self.merchants[merchant_slot].settlement_minor;
        settlement.checked_sub(amount.minor()).ok_or(Rejection::InsufficientMerchantFunds)?;
        let account = &self.users[user_slot];
        credit_to(account.balance_minor, split.balance_minor)?;
        account.credit_used_minor.checked_sub(split.credit_minor as i64).ok_or(Rejection::AmountOverflow)?;
        let slots = (user_slot, merchant_slot);
        Ok(Refund { payment: payment_id, slots, amount, split, captured_at_ms: payment.captured_at_ms })
    }

    /// Posts a checked refund under the refund's id `id`: the credit part back to the line,
    /// never into the balance; the rest to the balance.
    #[inline]
    pub fn refund(&mut self, id: CommandId, refund: Refund, postings: &mut Postings<'_>) -> Refunded {
        let Refund { payment, slots: (user_slot, merchant_slot), amount, split, captured_at_ms } = refund;
        let merchant_account = &mut self.merchants[merchant_slot];
        let settlement = merchant_account.settlement_minor.checked_sub(amount.minor());
        let settlement = settlement.expect("checked: the settlement holds the refund");
        let mut moving = merchant_account.provenance.take(amount.minor(), merchant_account.settlement_minor);
        // The credit part goes back to the line and leaves the balances; the rest lands in one.
        moving.take(split.credit_minor, amount.minor());
        merchant_account.settlement_minor = settlement;
        let merchant = merchant_account.id;
        let account = &mut self.users[user_slot];
        let balance = credit_to(account.balance_minor, split.balance_minor).expect("checked: the balance has room");
        let used = account.credit_used_minor.checked_sub(split.credit_minor as i64).expect("checked: used has room");
        let (user, currency) = (account.id, account.currency);
        account.provenance.add(&moving, true);
        account.balance_minor = balance;
        account.credit_used_minor = used;
        self.refunds.get_or_default(payment).push((id, split));
        postings.post(AccountKind::MerchantSettlement, merchant.0, currency, amount.signed());
        postings.post(AccountKind::UserCredit, user.0, currency, -(split.credit_minor as i64));
        postings.post(AccountKind::UserBalance, user.0, currency, -(split.balance_minor as i64));
        Refunded { user: user_slot, merchant: merchant_slot, split, captured_at_ms }
    }

    fn wallet_currency(&self, wallet: Wallet) -> Currency {
        match wallet {
            Wallet::User(slot) => self.users[slot].currency,
            Wallet::Merchant(slot) => self.merchants[slot].currency,
        }
    }

    /// Refuses to take `amount` from a wallet short of it: a user's held balance is not
    /// available.
    fn check_available(&self, from: Wallet, amount: Amount) -> Result<(), Rejection> {
        let (available, short) = match from {
            Wallet::User(slot) => (self.users[slot].balance_available_minor(), Rejection::InsufficientBalance),
            Wallet::Merchant(slot) => (self.merchants[slot].settlement_minor, Rejection::InsufficientMerchantFunds),
        };
        match amount.minor() > available {
            true => Err(short),
            false => Ok(()),
        }
    }

    /// Takes `amount` (available: checked) out of a wallet with the provenance it carries,
    /// posting the wallet's leg; returns that provenance.
    fn take_from(&mut self, from: Wallet, amount: Amount, postings: &mut Postings<'_>) -> Origins {
        let (kind, owner, currency, provenance) = match from {
            Wallet::User(slot) => {
                let account = &mut self.users[slot];
                assert!(amount.minor() <= account.balance_available_minor(), "checked: the balance is available");
                let moving = account.provenance.take(amount.minor(), account.balance_minor);
                account.balance_minor -= amount.minor();
                (AccountKind::UserBalance, account.id.0, account.currency, moving)
            }
            Wallet::Merchant(slot) => {
                let account = &mut self.merchants[slot];
                let moving = account.provenance.take(amount.minor(), account.settlement_minor);
                let left = account.settlement_minor.checked_sub(amount.minor());
                account.settlement_minor = left.expect("checked: the settlement is available");
                (AccountKind::MerchantSettlement, account.id.0, account.currency, moving)
            }
        };
        postings.post(kind, owner, currency, amount.signed());
        provenance
    }

    /// Refuses a move between wallets in different currencies, from one short of `amount`, or
    /// to one past [`Amount::MAX`].
    #[inline]
    pub fn check_move(&self, from: Wallet, to: Wallet, amount: Amount) -> Result<(), Rejection> {
        if self.wallet_currency(from) != self.wallet_currency(to) {
            return Err(Rejection::CurrencyMismatch);
        }
        self.check_available(from, amount)?;
        credit_to(self.wallet_balance(to), amount.minor()).map(drop)
    }

    /// What a wallet holds.
    fn wallet_balance(&self, wallet: Wallet) -> u64 {
        match wallet {
            Wallet::User(slot) => self.users[slot].balance_minor,
            Wallet::Merchant(slot) => self.merchants[slot].settlement_minor,
        }
    }

    /// Moves `amount` from one wallet on the platform to another ([`Ledger::check_move`]
    /// passed), with its provenance (pro rata, one hop), posting both sides.
    #[inline]
    pub fn move_between(&mut self, from: Wallet, to: Wallet, amount: Amount, postings: &mut Postings<'_>) {
        let currency = self.wallet_currency(to);
        let payee_after = credit_to(self.wallet_balance(to), amount.minor()).expect("checked: the payee has room");
        let moving = self.take_from(from, amount, postings);
        match to {
            Wallet::User(slot) => {
                let payee = &mut self.users[slot];
                payee.balance_minor = payee_after;
                payee.provenance.add(&moving, true);
                postings.post(AccountKind::UserBalance, payee.id.0, currency, -amount.signed());
            }
            Wallet::Merchant(slot) => {
                let payee = &mut self.merchants[slot];
                payee.settlement_minor = payee_after;
                payee.provenance.add(&moving, true);
                postings.post(AccountKind::MerchantSettlement, payee.id.0, currency, -amount.signed());
            }
        }
    }

    /// Refuses a pay-out from a wallet short of `amount`, or one the bank position cannot take.
    pub fn check_pay_out(&self, from: Wallet, amount: Amount) -> Result<(), Rejection> {
        self.check_available(from, amount)?;
        self.check_bank(self.wallet_currency(from), -amount.signed())
    }

    /// Moves money out to a bank ([`Ledger::check_pay_out`] passed): from a user's available
    /// balance or a merchant's settlement account, with the provenance it carries, against the
    /// bank clearing position.
    pub fn pay_out(&mut self, from: Wallet, amount: Amount, postings: &mut Postings<'_>) {
        let currency = self.wallet_currency(from);
        self.move_bank(currency, -amount.signed());
        self.take_from(from, amount, postings);
        postings.post(AccountKind::BankClearing, 0, currency, -amount.signed());
    }

    /// Refuses a repayment of `amount` from a balance short of it, or from the bank into a
    /// bank position that cannot take it.
    pub fn check_repay(&self, slot: usize, amount: Amount, source: RepaySource) -> Result<(), Rejection> {
        match source {
            RepaySource::Balance => self.check_available(Wallet::User(slot), amount),
            RepaySource::Bank => self.check_bank(self.users[slot].currency, amount.signed()),
        }
    }

    /// Moves a repayment ([`Ledger::check_repay`] passed): debits its source — the user's
    /// balance, or the platform's bank position for money arriving from the user's bank — and
    /// credits the line. Allocating it across the billing buckets is the caller's.
    pub fn repay(&mut self, slot: usize, amount: Amount, source: RepaySource, postings: &mut Postings<'_>) {
        let (user, currency) = (self.users[slot].id, self.users[slot].currency);
        match source {
            RepaySource::Balance => {
                self.take_from(Wallet::User(slot), amount, postings);
            }
            RepaySource::Bank => {
                self.move_bank(currency, amount.signed());
                postings.post(AccountKind::BankClearing, 0, currency, amount.signed());
            }
        }
        self.users[slot].credit_used_minor -= amount.signed();
        postings.post(AccountKind::UserCredit, user.0, currency, -amount.signed());
    }

    /// Opens the fee-income account of a currency (at zero) if it is missing.
    pub fn open_fee_income(&mut self, currency: Currency) {
        platform_slot(&mut self.fee_income, currency);
    }

    /// Charges a fee or penalty the credit line's billing already holds: Dr the line, Cr fee
    /// income (opened with [`Ledger::open_fee_income`]).
    pub fn charge(&mut self, slot: usize, amount_minor: u64, postings: &mut Postings<'_>) {
        if amount_minor == 0 {
            return;
        }
        let (user, currency) = (self.users[slot].id, self.users[slot].currency);
        let fees = self.fee_income.binary_search_by_key(&currency, |(code, _)| *code).expect("fee income is open");
        // Charges are fractions of balances that fit i64, so they fit too.
        self.users[slot].credit_used_minor += amount_minor as i64;
        self.fee_income[fees].1 -= amount_minor as i64;
        postings.post(AccountKind::UserCredit, user.0, currency, amount_minor as i64);
        postings.post(AccountKind::FeeIncome, 0, currency, -(amount_minor as i64));
    }

    /// Refuses a cash draw the balance cannot take (the line was checked by the caller).
    pub fn check_draw_cash(&self, slot: usize, amount: Amount) -> Result<(), Rejection> {
        credit_to(self.users[slot].balance_minor, amount.minor()).map(drop)
    }

    /// Draws cash on the line (the official withdrawal; [`Ledger::check_draw_cash`] passed):
    /// Dr the line amount + fee, Cr the balance the amount, Cr fee income the fee. The caller
    /// has checked the line covers both.
    pub fn draw_cash(&mut self, slot: usize, amount: Amount, fee_minor: u64, postings: &mut Postings<'_>) {
        let user = &self.users[slot];
        let balance = credit_to(user.balance_minor, amount.minor()).expect("checked: the balance has room");
        let (id, currency) = (user.id, user.currency);
        let fees = platform_slot(&mut self.fee_income, currency);
        self.fee_income[fees].1 -= fee_minor as i64;
        let user = &mut self.users[slot];
        user.balance_minor = balance;
        user.credit_used_minor += (amount.minor() + fee_minor) as i64;
        postings.post(AccountKind::UserCredit, id.0, currency, (amount.minor() + fee_minor) as i64);
        postings.post(AccountKind::UserBalance, id.0, currency, -amount.signed());
        postings.post(AccountKind::FeeIncome, 0, currency, -(fee_minor as i64));
    }
}
