//! A seeded, deterministic, agent-based population in virtual time.
//!
//! Each simulated day, every agent acts: honest users shop across merchant categories, get paid,
//! refund now and then (some the same day), repay on time, late or partly, draw the official
//! credit withdrawal, pay family and friends back, change phones; merchant owners pay suppliers.
//! Abusers run one cash-out scheme each (PRODUCT.md 10 a–f, and account takeover), many of them
//! disguised: spread over days, with small amounts, mixed with ordinary spending. Events carry
//! their ground truth: scheme events the typology, honest users' events `honest`; an abuser's
//! ordinary spending is left unlabelled (it is neither fraud nor an honest customer's).
//!
//! Same configuration and seed, same events, byte for byte: one `fastrand` generator drives
//! everything and events are ordered by (time, id).

use crate::events::{Body, Event, HONEST};
use model::risk::{AccountAction, Label, Tie, TieKind, Typology};
use model::{IdentityLevel, MerchantCategory, MerchantVerification, RepaySource, WithdrawalPurpose};
use std::collections::BTreeMap;

mod adversarial;
use adversarial::{LookAlike, Style};

/// Share of users running each scheme.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    /// a. Buy-then-refund cycling.
    pub refund_cycling: f64,
    /// b. Colluding merchants (payers; each with an accomplice owner and a shop).
    pub colluding_merchant: f64,
    /// c. Proxy purchase.
    pub proxy_purchase: f64,
    /// d. Self-settling recharge.
    pub self_recharge: f64,
    /// e. Account takeover victims.
    pub account_takeover: f64,
    /// f. Ring members (rings of 5 to 8 around a small merchant).
    pub ring: f64,
}

impl Default for Mix {
    fn default() -> Mix {
        Mix {
            refund_cycling: 0.005,
            colluding_merchant: 0.005,
            proxy_purchase: 0.005,
            self_recharge: 0.005,
            account_takeover: 0.005,
            ring: 0.01,
        }
    }
}

impl Mix {
    /// Parses `name=share,...` (names as [`Typology::name`]); unnamed typologies keep the default.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut mix = Mix::default();
        for part in text.split(',').filter(|part| !part.trim().is_empty()) {
            let (name, share) = part.split_once('=').ok_or_else(|| format!("expected name=share, got {part:?}"))?;
            let share: f64 =
                share.trim().parse().map_err(|_| format!("{name}: share must be a number, got {share:?}"))?;
            if !(0.0..=0.2).contains(&share) {
                return Err(format!("{name}: share must be 0 to 0.2, got {share}"));
            }
            let Some(typology) = Typology::SCHEMES.into_iter().find(|typology| typology.name() == name.trim()) else {
                let names: Vec<&str> = Typology::SCHEMES.iter().map(|typology| typology.name()).collect();
                return Err(format!("unknown typology {:?}; expected one of {}", name.trim(), names.join(", ")));
            };
            let slot = match typology {
                Typology::RefundCycling => &mut mix.refund_cycling,
                Typology::ColludingMerchant => &mut mix.colluding_merchant,
                Typology::ProxyPurchase => &mut mix.proxy_purchase,
                Typology::SelfRecharge => &mut mix.self_recharge,
                Typology::AccountTakeover => &mut mix.account_takeover,
                Typology::Ring => &mut mix.ring,
                Typology::Other => unreachable!("SCHEMES holds no Other"),
            };
            *slot = share;
        }
        Ok(mix)
    }
}

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    /// Users, abusers included.
    pub users: u64,
    /// Ordinary merchants (abusers' shops come on top).
    pub merchants: u64,
    /// Days of virtual time.
    pub days: u32,
    /// The seed.
    pub seed: u64,
    /// The abuse mix.
    pub mix: Mix,
    /// Abusers vary every parameter of their scheme (amounts, delays, intermediaries, hidden
    /// beneficiaries, mules opened ahead), and honest look-alikes of each scheme live among
    /// them (`adversarial`); otherwise each scheme runs in its textbook form.
    pub adversarial: bool,
}

/// Virtual time starts here: 2026-01-01 00:00 UTC.
pub const START_MS: u64 = 1_767_225_600_000;
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;
const YUAN: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Honest,
    /// A shop owner: honest, and pays suppliers.
    Owner,
    RefundCycler,
    /// Pays `shop` with credit; `accomplice` (tied to the shop) sends most of it back.
    Colluder {
        shop: u64,
        accomplice: u64,
    },
    Accomplice,
    ProxyBuyer,
    /// Someone who pays a proxy buyer back (labelled with the scheme).
    ProxyClient,
    SelfRecharger {
        wallet: u64,
    },
    TakeoverVictim {
        day: u32,
        mule: u64,
    },
    Mule,
    RingMember {
        shop: u64,
        day: u32,
    },
    /// An account opened for a scheme (a mule, an abuser's twin): no life of its own.
    Shell,
    /// A recruited account that passes scheme money on; otherwise an ordinary life.
    Relay,
    /// The collector of laundering cell `cell` (adversarial populations), which drives it.
    Launderer {
        cell: usize,
    },
    /// An honest user whose ordinary habit looks like a scheme.
    LookAlike(LookAlike),
}

struct User {
    id: u64,
    role: Role,
    limit_minor: u64,
    purchases_per_day: f64,
    income_day: u32,
    income_minor: u64,
    pays_late: bool,
    household: u64,
    friends: [u64; 3],
    phone: u64,
    device: u64,
    /// The day the account opens (0: before the simulation starts).
    opens_day: u32,
    /// How the user runs their scheme (adversarial populations; unused otherwise).
    style: Style,
    /// An account of the same person (tied by device), 0 for none.
    twin: u64,
    /// Credit the user's scheme drew since the last statement repayment, minor units.
    drawn_minor: u64,
    /// Scheme money received and not yet cashed out, minor units.
    inflow_minor: u64,
    /// A self-recharger's wallet is bound to them (bound only after the first recharge to it).
    wallet_bound: bool,
}

/// The simulator: call [`Simulator::run`] with a sink for events.
pub struct Simulator {
    config: Config,
    rng: fastrand::Rng,
    next_id: u64,
    users: Vec<User>,
    shops: Vec<u64>,
    by_category: BTreeMap<MerchantCategory, Vec<u64>>,
    recharge_shop: u64,
    gift_shop: u64,
    pending: BTreeMap<u32, Vec<Event>>,
    proxy_clients: Vec<u64>,
    /// (owner, shop): the shop pays out to its owner's bank card.
    owned_shops: Vec<(u64, u64)>,
    /// Users who own a shop (with or without one of the ordinary shops tied to them).
    owners: Vec<u64>,
    /// Accounts that relay scheme money (adversarial populations).
    relays: Vec<u64>,
    /// Laundering cells (adversarial populations).
    cells: Vec<adversarial::Cell>,
}

/// The label of a scheme's event.
fn label(typology: Typology) -> Option<String> {
    Some(typology.name().to_owned())
}

/// The label of an honest user's event.
fn honest() -> Option<String> {
    Some(HONEST.to_owned())
}

impl Simulator {
    /// A simulator for `config`.
    pub fn new(config: Config) -> Simulator {
        Simulator {
            config,
            rng: fastrand::Rng::with_seed(config.seed),
            next_id: 1,
            users: Vec::new(),
            shops: Vec::new(),
            by_category: BTreeMap::new(),
            recharge_shop: 0,
            gift_shop: 0,
            pending: BTreeMap::new(),
            proxy_clients: Vec::new(),
            owned_shops: Vec::new(),
            owners: Vec::new(),
            relays: Vec::new(),
            cells: Vec::new(),
        }
    }

    fn event(&mut self, time_ms: u64, body: Body, label: Option<String>) -> Event {
        let id = self.next_id;
        self.next_id += 1;
        Event { label, ..Event::new(id, time_ms, body) }
    }

    /// Schedules an event at `time_ms` (on or after `day`, the day the scheduling agent acts);
    /// it is emitted with the events of the day its time falls on.
    fn at(&mut self, day: u32, time_ms: u64, body: Body, label: Option<String>) -> u64 {
        self.at_after(day, time_ms, body, label, None)
    }

    /// As [`Simulator::at`], for a scheme step that needs the step `after` to have gone through
    /// ([`Event::after`]).
    fn at_after(&mut self, day: u32, time_ms: u64, body: Body, label: Option<String>, after: Option<u64>) -> u64 {
        debug_assert!(time_ms >= Self::day_start(day), "events are scheduled forward in time");
        let day = ((time_ms - START_MS) / DAY_MS) as u32;
        let event = Event { after, ..self.event(time_ms, body, label) };
        let id = event.id;
        self.pending.entry(day).or_default().push(event);
        id
    }

    fn day_start(day: u32) -> u64 {
        START_MS + u64::from(day) * DAY_MS
    }

    /// A time on `day` between 08:00 and 23:00.
    fn daytime(&mut self, day: u32) -> u64 {
        Self::day_start(day) + 8 * HOUR_MS + self.rng.u64(0..15 * HOUR_MS)
    }

    /// Runs the whole simulation, handing events to `sink` in time order.
    pub fn run(mut self, sink: &mut dyn FnMut(Event)) {
        self.open_world(sink);
        for day in 0..self.config.days {
            for user in 0..self.users.len() {
                self.act(user, day);
            }
            self.owners_pay_suppliers(day);
            let tick_time = Self::day_start(day + 1) - 1;
            self.at(day, tick_time, Body::Tick, None);
            let mut events = self.pending.remove(&day).unwrap_or_default();
            events.sort_by_key(|event| (event.time_ms, event.id));
            for event in events {
                sink(event);
            }
        }
    }

    fn tie(kind: TieKind, owner: u64, salt: u64) -> Tie {
        // Tokens stand in for keyed hashes of the numbers: distinct per kind, owner and salt.
        Tie { kind, token: (salt << 40) ^ (owner << 4) ^ kind as u64 }
    }

    /// Merchants and users, with ties, limits and opening balances, before day 0.
    fn open_world(&mut self, sink: &mut dyn FnMut(Event)) {
        let opening = START_MS - DAY_MS;
        let categories = [
            (MerchantCategory::PhysicalGoods, 50),
            (MerchantCategory::VirtualGoods, 8),
            (MerchantCategory::Recharge, 6),
            (MerchantCategory::Utilities, 8),
            (MerchantCategory::Subscriptions, 6),
            (MerchantCategory::Tuition, 4),
            (MerchantCategory::Other, 18),
        ];
        for index in 0..self.config.merchants.max(10) {
            let id = 1 + index;
            let mut roll = self.rng.u32(0..100);
            // Every category has a merchant; then they come by weight.
            let category = match categories.get(index as usize) {
                Some((category, _)) => *category,
                None => categories
                    .iter()
                    .find(|(_, weight)| {
                        let hit = roll < *weight;
                        roll = roll.saturating_sub(*weight);
                        hit
                    })
                    .map_or(MerchantCategory::Other, |(category, _)| *category),
            };
            let verification = if self.rng.u8(0..100) < 85 {
                MerchantVerification::Certified
            } else {
                MerchantVerification::Uncertified
            };
            self.open_shop(sink, opening, id, category, verification, Vec::new());
            // Ordinary shops take ordinary customers; abusers' front shops (opened later) do not.
            self.by_category.entry(category).or_default().push(id);
        }
        self.recharge_shop = self.by_category[&MerchantCategory::Recharge][0];
        self.gift_shop = self.by_category[&MerchantCategory::VirtualGoods][0];
        let users = self.config.users.max(20);
        for index in 0..users {
            let id = 1 + index;
            let user = User {
                id,
                role: Role::Honest,
                limit_minor: YUAN * 100 * self.rng.u64(20..=200),
                purchases_per_day: 0.2 + self.rng.f64() * 1.3,
                income_day: self.rng.u32(1..=28),
                income_minor: YUAN * 100 * self.rng.u64(30..=150),
                pays_late: self.rng.u8(0..100) < 10,
                household: id - (id - 1) % 3,
                friends: [self.rng.u64(1..=users), self.rng.u64(1..=users), self.rng.u64(1..=users)],
                phone: id,
                device: id,
                opens_day: 0,
                style: Style::default(),
                twin: 0,
                drawn_minor: 0,
                inflow_minor: 0,
                wallet_bound: false,
            };
            self.users.push(user);
        }
        self.cast_roles(sink, opening);
        for slot in 0..self.users.len() {
            let user = &self.users[slot];
            let (id, limit_minor, income_minor, opens_day) =
                (user.id, user.limit_minor, user.income_minor, user.opens_day);
            let user_is_shell = user.role == Role::Shell;
            if user_is_shell && opens_day > 0 {
                let time = self.daytime(opens_day);
                let open = self.open_user_event(slot, time);
                self.pending.entry(opens_day).or_default().push(open);
                continue;
            }
            let open = self.open_user_event(slot, opening);
            sink(open);
            if user_is_shell {
                // Opened for a scheme: no credit line, nothing in it.
                continue;
            }
            let limit = self.event(opening, Body::SetCreditLimit { user: id, limit_minor }, None);
            sink(limit);
            let top_up =
                self.event(opening, Body::TopUp { user: id, amount_minor: income_minor / 2, agent: None }, None);
            sink(top_up);
        }
        for (owner, shop) in self.owned_shops.clone() {
            let tie = Self::tie(TieKind::BankCard, owner, 4);
            let bind = self.event(opening, Body::Bind { user: None, merchant: Some(shop), tie }, None);
            sink(bind);
        }
    }

    /// The event opening the user in `slot` at `time_ms`, tied by its device, phone, identity and card.
    fn open_user_event(&mut self, slot: usize, time_ms: u64) -> Event {
        let user = &self.users[slot];
        let (id, phone, device) = (user.id, user.phone, user.device);
        let ties = vec![
            Self::tie(TieKind::Device, device, 1),
            Self::tie(TieKind::Phone, phone, 2),
            Self::tie(TieKind::Identity, id, 3),
            Self::tie(TieKind::BankCard, id, 4),
        ];
        let identity = IdentityLevel::Full;
        self.event(time_ms, Body::OpenUser { user: id, currency: "CNY".into(), identity, ties, balance_minor: 0 }, None)
    }

    fn open_shop(
        &mut self,
        sink: &mut dyn FnMut(Event),
        time_ms: u64,
        id: u64,
        category: MerchantCategory,
        verification: MerchantVerification,
        ties: Vec<Tie>,
    ) {
        let body = Body::OpenMerchant {
            merchant: id,
            currency: "CNY".into(),
            category,
            verification,
            partner: false,
            ties,
            owner: None,
        };
        let event = self.event(time_ms, body, None);
        sink(event);
        self.shops.push(id);
    }

    /// Picks abusers (and owners) among the users and opens the abusers' shops.
    fn cast_roles(&mut self, sink: &mut dyn FnMut(Event), opening: u64) {
        let users = self.users.len();
        let count = |share: f64| ((users as f64) * share).round() as usize;
        let mix = self.config.mix;
        let mut free: Vec<usize> = (0..users).collect();
        self.rng.shuffle(&mut free);
        let mut take = |n: usize| free.split_off(free.len().saturating_sub(n));
        let ordinary_shops = self.shops.clone();
        for (index, slot) in take(users / 50).into_iter().enumerate() {
            self.users[slot].role = Role::Owner;
            self.owners.push(self.users[slot].id);
            if let Some(shop) = ordinary_shops.get(index) {
                self.owned_shops.push((self.users[slot].id, *shop));
            }
        }
        // Suppliers are drawn from the owners in id order.
        self.owners.sort_unstable();
        for slot in take(count(mix.refund_cycling)) {
            self.users[slot].role = Role::RefundCycler;
        }
        let next_shop = |simulator: &Simulator| simulator.shops.iter().max().copied().unwrap_or(0) + 1;
        for pair in take(2 * count(mix.colluding_merchant)).chunks(2) {
            let [payer, accomplice] = pair else { continue };
            let shop = next_shop(self);
            let accomplice_id = self.users[*accomplice].id;
            // The shop pays out to the accomplice's card: the accomplice is tied to the shop.
            let ties = vec![Self::tie(TieKind::BankCard, accomplice_id, 4)];
            self.open_shop(
                sink,
                opening,
                shop,
                MerchantCategory::PhysicalGoods,
                MerchantVerification::Uncertified,
                ties,
            );
            self.users[*payer].role = Role::Colluder { shop, accomplice: accomplice_id };
            self.users[*accomplice].role = Role::Accomplice;
        }
        for slot in take(count(mix.proxy_purchase)) {
            self.users[slot].role = Role::ProxyBuyer;
        }
        for slot in take(count(mix.proxy_purchase) * 4) {
            self.users[slot].role = Role::ProxyClient;
            self.proxy_clients.push(self.users[slot].id);
        }
        for slot in take(count(mix.self_recharge)) {
            let wallet = 9_000_000 + self.users[slot].id;
            self.users[slot].role = Role::SelfRecharger { wallet };
        }
        let days = self.config.days.max(2);
        for pair in take(2 * count(mix.account_takeover)).chunks(2) {
            let [victim, mule] = pair else { continue };
            let day = self.rng.u32(days / 3..days);
            let mule_id = self.users[*mule].id;
            self.users[*victim].role = Role::TakeoverVictim { day, mule: mule_id };
            self.users[*mule].role = Role::Mule;
        }
        let ring_members = take(count(mix.ring));
        for ring in ring_members.chunks(6) {
            let shop = next_shop(self);
            self.open_shop(sink, opening, shop, MerchantCategory::Other, MerchantVerification::Uncertified, Vec::new());
            let day = self.rng.u32(0..days.saturating_sub(7).max(1));
            for slot in ring {
                self.users[*slot].role = Role::RingMember { shop, day: day + self.rng.u32(0..5) };
            }
        }
        if self.config.adversarial {
            self.cast_variants(sink, opening, &mut free);
        }
    }

    fn shop_in(&mut self, category: MerchantCategory) -> u64 {
        let shops = &self.by_category[&category];
        shops[self.rng.usize(..shops.len())]
    }

    fn honest_category(&mut self) -> MerchantCategory {
        match self.rng.u8(0..100) {
            0..=54 => MerchantCategory::PhysicalGoods,
            55..=61 => MerchantCategory::VirtualGoods,
            62..=67 => MerchantCategory::Recharge,
            68..=75 => MerchantCategory::Utilities,
            76..=80 => MerchantCategory::Subscriptions,
            81..=82 => MerchantCategory::Tuition,
            _ => MerchantCategory::Other,
        }
    }

    fn price(&mut self, category: MerchantCategory) -> u64 {
        let yuan = match category {
            MerchantCategory::Tuition => self.rng.u64(500..5_000),
            MerchantCategory::Utilities => self.rng.u64(30..400),
            MerchantCategory::Recharge => [30, 50, 100, 200][self.rng.usize(..4)],
            _ if self.rng.u8(0..20) == 0 => self.rng.u64(300..3_000),
            _ => self.rng.u64(5..300),
        };
        yuan * YUAN + if category == MerchantCategory::Recharge { 0 } else { self.rng.u64(0..YUAN) }
    }

    /// One user's day.
    fn act(&mut self, slot: usize, day: u32) {
        let user = &self.users[slot];
        if day < user.opens_day || user.role == Role::Shell {
            return;
        }
        // A takeover victim is an honest customer; ring members are recruited to max out their
        // line and do nothing else (in adversarial populations some live ordinary lives too).
        let label = self.label_of(user.id);
        if !matches!(user.role, Role::RingMember { .. }) || user.style.ordinary_life {
            self.live_ordinary_day(slot, day, label);
        }
        if self.config.adversarial {
            return self.act_varied(slot, day);
        }
        match self.users[slot].role {
            Role::RefundCycler => self.refund_cycle(slot, day),
            Role::Colluder { shop, accomplice } => self.collude(slot, day, shop, accomplice),
            Role::ProxyBuyer => self.proxy_buy(slot, day),
            Role::SelfRecharger { wallet } => self.self_recharge(slot, day, wallet),
            Role::TakeoverVictim { day: attack, mule } if attack == day => self.take_over(slot, day, mule),
            Role::RingMember { shop, day: join } if join == day => self.ring_pay(slot, day, shop),
            _ => {}
        }
    }

    /// Income, shopping, refunds, repayments, family transfers, a new phone now and then.
    fn live_ordinary_day(&mut self, slot: usize, day: u32, label: Option<String>) {
        let (user, income_day, income_minor, rate, household, friend, pays_late) = {
            let user = &self.users[slot];
            (
                user.id,
                user.income_day,
                user.income_minor,
                user.purchases_per_day,
                user.household,
                user.friends[0],
                user.pays_late,
            )
        };
        let day_of_month = day % 30 + 1;
        if day_of_month == income_day {
            let time = self.daytime(day);
            self.at(day, time, Body::TopUp { user, amount_minor: income_minor, agent: None }, label.clone());
        }
        // Autopay of the statement between the 3rd and the 9th, late payers in the third week.
        let repay_day = if pays_late { 15 + user % 5 } else { 3 + user % 7 } as u32;
        if day_of_month == repay_day {
            let time = self.daytime(day);
            let in_full = !pays_late || self.rng.bool();
            // The statement repaid covers what was drawn up to its date, about two thirds of it.
            self.users[slot].drawn_minor /= 3;
            let body = Body::RepayStatement { user, source: RepaySource::Bank, in_full };
            self.at(day, time, body, label.clone());
        }
        let purchases = (rate + self.rng.f64() * 0.5) as u32 + u32::from(self.rng.f64() < rate.fract());
        for _ in 0..purchases {
            self.honest_purchase(slot, day, label.clone());
        }
        if user != household && self.rng.u16(0..60) == 0 && self.lives(household) {
            // Family money: a transfer within the household.
            let time = self.daytime(day);
            let amount_minor = YUAN * self.rng.u64(50..500);
            self.at(day, time, Body::Transfer { from: user, to: household, amount_minor }, label.clone());
        }
        if self.rng.u16(0..1_000) < 2 {
            // A new phone: a login from a new device, ordinary life goes on.
            let device = 5_000_000 + self.next_id;
            self.users[slot].device = device;
            let time = self.daytime(day);
            self.at(day, time, Body::Login { user, device }, label.clone());
        }
        if self.rng.u16(0..1_000) < 2 {
            let time = self.daytime(day);
            let amount_minor = YUAN * 100 * self.rng.u64(5..30);
            let purpose = WithdrawalPurpose::DailyExpenses;
            let request = self.at(day, time, Body::CreditWithdrawal { user, amount_minor, purpose }, label.clone());
            self.at(day, time + MINUTE_MS, Body::Verify { user, challenge: request }, label.clone());
        }
        if self.rng.u16(0..1_000) < 5 && friend != user && self.lives(friend) {
            // A night out: a friend pays their share back the next day.
            let time = self.daytime(day);
            let shop = self.shop_in(MerchantCategory::Other);
            let total = YUAN * self.rng.u64(100..600);
            self.at(
                day,
                time,
                Body::Pay { user, merchant: shop, credit_minor: total, balance_minor: 0, beneficiary: None },
                label.clone(),
            );
            let friend_label = self.label_of(friend);
            let later = time + DAY_MS / 2;
            self.at(day, later, Body::Transfer { from: friend, to: user, amount_minor: total / 2 }, friend_label);
        }
    }

    /// Whether the user lives a life of their own (is not an account opened for a scheme).
    fn lives(&self, user: u64) -> bool {
        self.users[(user - 1) as usize].role != Role::Shell
    }

    fn label_of(&self, user: u64) -> Option<String> {
        match self.users[(user - 1) as usize].role {
            Role::Honest | Role::Owner | Role::TakeoverVictim { .. } | Role::LookAlike(_) => honest(),
            _ => None,
        }
    }

    fn honest_purchase(&mut self, slot: usize, day: u32, label: Option<String>) {
        let (user, phone, friend) = {
            let user = &self.users[slot];
            (user.id, user.phone, user.friends[1])
        };
        let category = self.honest_category();
        let mut merchant = self.shop_in(category);
        // An honest owner does not put their own shop's sales on their consumer credit line: a
        // credit payment to one's own merchant account is the textbook cash-out (b).
        if self.owned_shops.iter().any(|(owner, shop)| *owner == user && *shop == merchant) {
            merchant = self.shop_in(MerchantCategory::PhysicalGoods);
            if self.owned_shops.iter().any(|(owner, shop)| *owner == user && *shop == merchant) {
                return;
            }
        }
        let price = self.price(category);
        let (credit_minor, balance_minor) = match self.rng.u8(0..10) {
            0..=5 => (price, 0),
            6..=8 => (0, price),
            _ => (price / 2, price - price / 2),
        };
        let beneficiary = match (category, self.rng.u8(0..100)) {
            (MerchantCategory::Recharge, _) => Some(Self::tie(TieKind::Phone, phone, 2)),
            (MerchantCategory::PhysicalGoods, 0) => {
                Some(Self::tie(TieKind::Phone, self.users[(friend - 1) as usize].phone, 2))
            }
            _ => None,
        };
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant, credit_minor, balance_minor, beneficiary };
        let payment = self.at(day, time, body, label.clone());
        if self.rng.u8(0..100) < 4 {
            // Returns: most after days, some within hours (a wrong size, a duplicate order).
            let (refund_day, refund_time) = match self.rng.u8(0..5) {
                0 => (day, time + HOUR_MS * self.rng.u64(1..3)),
                _ => {
                    let later = day + self.rng.u32(2..10);
                    (later, self.daytime(later))
                }
            };
            let body = Body::Refund { payment, merchant, amount_minor: price };
            self.at(refund_day, refund_time, body, label);
        }
    }

    /// a. Gift cards bought on credit and refunded within hours, every two to four days.
    fn refund_cycle(&mut self, slot: usize, day: u32) {
        if !day.is_multiple_of(2 + (self.users[slot].id % 3) as u32) {
            return;
        }
        let user = self.users[slot].id;
        let merchant = if self.rng.bool() { self.gift_shop } else { self.shop_in(MerchantCategory::VirtualGoods) };
        let amount_minor = YUAN * 100 * self.rng.u64(3..20);
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        let payment = self.at(day, time, body, label(Typology::RefundCycling));
        // The refund is part of the scheme but not a decision point: no rule can stop money going
        // back to the line, so it carries no label.
        let refund = Body::Refund { payment, merchant, amount_minor };
        let refund_time = time + HOUR_MS * self.rng.u64(1..6);
        self.at(day, refund_time, refund, None);
    }

    /// b. Weekly credit payments to the accomplice's shop; the accomplice sends 90 % back.
    fn collude(&mut self, slot: usize, day: u32, shop: u64, accomplice: u64) {
        if day % 7 != (self.users[slot].id % 7) as u32 {
            return;
        }
        let user = self.users[slot].id;
        let limit = self.users[slot].limit_minor;
        let amount_minor = (limit / 3 / YUAN).max(10) * YUAN;
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant: shop, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        self.at(day, time, body, label(Typology::ColludingMerchant));
        let back = Body::Transfer { from: accomplice, to: user, amount_minor: amount_minor * 9 / 10 };
        let later = day + 1 + self.rng.u32(0..2);
        let later_time = self.daytime(later);
        self.at(later, later_time, Body::TopUp { user: accomplice, amount_minor, agent: None }, None);
        self.at(later, later_time + MINUTE_MS, back, label(Typology::ColludingMerchant));
        self.at(
            later,
            later_time + HOUR_MS,
            Body::Payout { merchant: shop, amount_minor },
            label(Typology::ColludingMerchant),
        );
    }

    /// c. Orders for strangers several times a week; they pay back 90–95 %; the cash goes to the bank.
    fn proxy_buy(&mut self, slot: usize, day: u32) {
        if self.rng.u8(0..10) >= 4 {
            return;
        }
        let user = self.users[slot].id;
        let Some(&client) = self.proxy_clients.get(self.rng.usize(..self.proxy_clients.len().max(1))) else { return };
        let client_phone = self.users[(client - 1) as usize].phone;
        let category = if self.rng.bool() { MerchantCategory::PhysicalGoods } else { MerchantCategory::VirtualGoods };
        let merchant = self.shop_in(category);
        let amount_minor = YUAN * self.rng.u64(200..1_500);
        let time = self.daytime(day);
        let beneficiary = Some(Self::tie(TieKind::Phone, client_phone, 2));
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary };
        self.at(day, time, body, label(Typology::ProxyPurchase));
        let share = self.rng.u64(90..=95);
        let back = Body::Transfer { from: client, to: user, amount_minor: amount_minor * share / 100 };
        // The client's payback is the client's act, not the cash-out's: unlabelled.
        let back_time = time + HOUR_MS * self.rng.u64(1..8);
        self.at(day, back_time, back, None);
        if day % 7 == 6 {
            let cash = Body::CashOut { user, amount_minor: amount_minor * 2, agent: None };
            let evening = Self::day_start(day) + 23 * HOUR_MS;
            self.at(day, evening, cash, label(Typology::ProxyPurchase));
        }
    }

    /// d. Credit-paid recharges into the abuser's own wallet account, then cashed out.
    fn self_recharge(&mut self, slot: usize, day: u32, wallet: u64) {
        let user = self.users[slot].id;
        if day == 0 {
            let bind =
                Body::Bind { user: Some(user), merchant: None, tie: Self::tie(TieKind::PayoutAccount, wallet, 5) };
            let time = Self::day_start(day) + HOUR_MS;
            self.at(day, time, bind, None);
        }
        if day % 5 != (user % 5) as u32 {
            return;
        }
        let amount_minor = YUAN * [200, 300, 500, 800][self.rng.usize(..4)];
        let time = self.daytime(day);
        let beneficiary = Some(Self::tie(TieKind::PayoutAccount, wallet, 5));
        let merchant = if self.rng.bool() { self.recharge_shop } else { self.shop_in(MerchantCategory::Recharge) };
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary };
        self.at(day, time, body, label(Typology::SelfRecharge));
    }

    /// e. A cash-out tool takes the account over: new device, near-limit spend, balance out.
    fn take_over(&mut self, slot: usize, day: u32, mule: u64) {
        let (user, limit) = (self.users[slot].id, self.users[slot].limit_minor);
        let device = 7_000_000 + user;
        let time = self.daytime(day);
        // The login moves no money; the spend, transfer and withdrawal after it are the takeover.
        self.at(day, time, Body::Login { user, device }, None);
        let merchant = self.shop_in(MerchantCategory::VirtualGoods);
        let spend = limit * 9 / 10 / YUAN * YUAN;
        let body = Body::Pay { user, merchant, credit_minor: spend, balance_minor: 0, beneficiary: None };
        let spent = self.at(day, time + MINUTE_MS * 3, body, label(Typology::AccountTakeover));
        let transfer = Body::Transfer { from: user, to: mule, amount_minor: YUAN * 100 * self.rng.u64(10..30) };
        let sent = self.at(day, time + MINUTE_MS * 5, transfer, label(Typology::AccountTakeover));
        let withdrawal = Body::CreditWithdrawal { user, amount_minor: limit / 10, purpose: WithdrawalPurpose::Other };
        self.at(day, time + MINUTE_MS * 7, withdrawal, label(Typology::AccountTakeover));
        self.recover(day, user, &[spent, sent]);
    }

    /// The owner calls support the next morning: the analyst rejects what the tool tried (the
    /// holds are released; a case that was never opened is simply refused) and unfreezes the line.
    fn recover(&mut self, day: u32, user: u64, stopped: &[u64]) {
        let morning = Self::day_start(day + 1) + 9 * HOUR_MS;
        for case in stopped {
            let verdict = Label::Fraud(Typology::AccountTakeover);
            self.at(day + 1, morning, Body::DecideCase { case: *case, approve: false, verdict }, None);
        }
        self.at(day + 1, morning + MINUTE_MS, Body::LiftAction { user, action: AccountAction::FreezeCredit }, None);
    }

    /// f. Ring members pay the ring's shop a round, near-limit amount; the shop pays out at once.
    fn ring_pay(&mut self, slot: usize, day: u32, shop: u64) {
        let (user, limit) = (self.users[slot].id, self.users[slot].limit_minor);
        let amount_minor = limit * 9 / 10 / (100 * YUAN) * (100 * YUAN);
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant: shop, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        self.at(day, time, body, label(Typology::Ring));
        let payout = Body::Payout { merchant: shop, amount_minor };
        self.at(day, time + HOUR_MS, payout, label(Typology::Ring));
    }

    /// Shop owners pay a supplier (another owner) now and then.
    fn owners_pay_suppliers(&mut self, day: u32) {
        let count = self.owners.len();
        if count < 2 {
            return;
        }
        for _ in 0..count / 10 {
            let (from, to) = (self.owners[self.rng.usize(..count)], self.owners[self.rng.usize(..count)]);
            if from != to {
                let time = self.daytime(day);
                let amount_minor = YUAN * self.rng.u64(200..2_000);
                self.at(day, time, Body::Transfer { from, to, amount_minor }, honest());
            }
        }
    }
}
