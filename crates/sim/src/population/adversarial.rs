//! Adversarial populations: every scheme with the variants real abusers use, and honest
//! look-alikes of each.
//!
//! Each abuser draws a [`Style`] once from wide ranges: how much of the line a round draws
//! (anywhere from a sixth to nearly all of it, round or uneven), how long the leg that brings the
//! money back waits (ten minutes to two weeks, so paybacks often land after the next order), how
//! many accounts it passes through on the way (none to three), how much comes back, how often a
//! round runs, and whether the abuser also lives an ordinary life. Beneficiaries are often named
//! only by later flows (a recharge whose value lands in the payer's twin account hours later, a
//! wallet bound after the recharges to it), mules are opened days ahead, and a takeover need not
//! come with a new device. Look-alikes are honest users whose habit shares a scheme's surface: a
//! serial returner, a new phone followed by a large purchase, savings sent to a child's new
//! account, tickets bought for friends who pay back in full, parents paying a small school's fees.

use super::{DAY_MS, HOUR_MS, MINUTE_MS, Role, Simulator, YUAN, honest, label};
use crate::events::{Body, Event};
use model::risk::{TieKind, Typology};
use model::{MerchantCategory, MerchantVerification, WithdrawalPurpose};

/// How one abuser runs their scheme, drawn once (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Style {
    /// Share of the credit limit one round draws, before a ±20 % jitter.
    draw_share: f64,
    /// How long the money-back leg waits after the draw, ms.
    delay_ms: u64,
    /// Accounts the money passes through on its way back.
    hops: u8,
    /// Share of a draw that comes back.
    back_share: f64,
    /// Days between rounds.
    cadence_days: u32,
    /// Amounts are multiples of ¥100.
    round: bool,
    /// Offsets the abuser's rounds (and picks among a scheme's forms).
    phase: u32,
    /// The abuser also shops, earns and repays like anyone (ring members otherwise do not).
    pub(super) ordinary_life: bool,
}

/// Which scheme an honest look-alike's habit resembles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LookAlike {
    /// a: buys on credit weekly and returns half of it days later.
    Returner,
    /// e: changes phone, then makes one large purchase the same day.
    NewPhoneBigPurchase { day: u32 },
    /// e (mobile money): sends savings to a child's account opened days earlier.
    SavesForChild { day: u32, child: u64 },
    /// c: buys tickets for friends, who pay back in full.
    GroupOrganizer,
    /// f: pays a small school's term fee, a round sum near the limit, as other parents do.
    Parent { school: u64, day: u32 },
    /// Laundering: collects a club's dues from many members, and days later pays the venue.
    Treasurer { venue: u64 },
}

/// A laundering cell, driven by its collector: smurfs bring cash in and pass it to the collector,
/// who layers it through a chain of accounts (sometimes partly back to itself: a cycle) and fans
/// it out to exits that cash it out. Every account but the collector is opened for the cell.
pub(super) struct Cell {
    /// Accounts that bring cash in (top-ups) and pass it to the collector: fan-in.
    smurfs: Vec<u64>,
    /// Accounts the collector's money passes through, in order.
    layers: Vec<u64>,
    /// Accounts the last layer splits the money among, which cash it out: fan-out.
    exits: Vec<u64>,
    /// The first day the cell moves money.
    starts: u32,
}

/// The label of a laundering step (not one of the engine's cash-out typologies).
const LAUNDERING: &str = "laundering";

/// `low` to `high`, drawn uniformly on a log scale (delays: minutes as likely as days).
fn log_uniform(rng: &mut fastrand::Rng, low: u64, high: u64) -> u64 {
    debug_assert!(0 < low && low <= high);
    (low as f64 * (high as f64 / low as f64).powf(rng.f64())) as u64
}

impl Style {
    fn draw(rng: &mut fastrand::Rng) -> Style {
        Style {
            draw_share: 0.15 + 0.8 * rng.f64(),
            delay_ms: log_uniform(rng, 10 * MINUTE_MS, 14 * DAY_MS),
            hops: rng.u8(0..=3),
            back_share: 0.6 + 0.39 * rng.f64(),
            cadence_days: rng.u32(1..=10),
            round: rng.bool(),
            phase: rng.u32(0..30),
            ordinary_life: rng.bool(),
        }
    }

    fn runs_on(&self, day: u32) -> bool {
        (day + self.phase).is_multiple_of(self.cadence_days)
    }
}

impl Simulator {
    /// Gives every abuser a style, mules and twins their shells, and casts the look-alikes.
    pub(super) fn cast_variants(&mut self, sink: &mut dyn FnMut(Event), opening: u64, free: &mut Vec<usize>) {
        let days = self.config.days.max(2);
        let mut take = |n: usize| free.split_off(free.len().saturating_sub(n));
        let abusers: Vec<usize> = (0..self.users.len())
            .filter(|slot| !matches!(self.users[*slot].role, Role::Honest | Role::Owner | Role::ProxyClient))
            .collect();
        for slot in &abusers {
            self.users[*slot].style = Style::draw(&mut self.rng);
        }
        // A ring is recruited with one script: one amount rule, one payout delay.
        let mut ring_styles = std::collections::BTreeMap::new();
        for slot in &abusers {
            if let Role::RingMember { shop, day } = self.users[*slot].role {
                let style = *ring_styles.entry(shop).or_insert_with(|| Style {
                    draw_share: 0.6 + 0.35 * self.rng.f64(),
                    delay_ms: log_uniform(&mut self.rng, HOUR_MS, 3 * DAY_MS),
                    ..self.users[*slot].style
                });
                let ordinary_life = self.users[*slot].style.ordinary_life;
                self.users[*slot].style = Style { ordinary_life, ..style };
                let spread = self.rng.u32(0..=14);
                self.users[*slot].role = Role::RingMember { shop, day: (day + spread).min(days - 1) };
            }
        }
        // Twins: a second account on the abuser's phone, for colluders and self-rechargers.
        let twinned: Vec<usize> = abusers
            .iter()
            .copied()
            .filter(|slot| matches!(self.users[*slot].role, Role::Colluder { .. } | Role::SelfRecharger { .. }))
            .collect();
        let twins = take(twinned.len());
        for (abuser, twin) in twinned.into_iter().zip(twins) {
            self.users[twin].role = Role::Shell;
            self.users[twin].device = self.users[abuser].device;
            self.users[abuser].twin = self.users[twin].id;
        }
        // Mules are opened one to ten days before the takeover.
        for slot in &abusers {
            if let Role::TakeoverVictim { day, mule } = self.users[*slot].role {
                let mule = (mule - 1) as usize;
                self.users[mule].role = Role::Shell;
                self.users[mule].opens_day = day.saturating_sub(self.rng.u32(1..=10));
            }
        }
        for slot in take(abusers.len() / 2 + 3) {
            self.users[slot].role = Role::Relay;
            self.relays.push(self.users[slot].id);
        }
        // Laundering cells: one per 2,000 users, each 8 to 16 accounts opened days before it starts.
        for cell in 0..(self.users.len() / 2_000).max(1) {
            let Some(collector) = take(1).pop() else { break };
            let starts = self.rng.u32(3..days.max(4) / 2 + 3);
            let mut shells = |count: usize, rng: &mut fastrand::Rng, users: &mut Vec<super::User>| -> Vec<u64> {
                let slots = take(count);
                for slot in &slots {
                    users[*slot].role = Role::Shell;
                    users[*slot].opens_day = starts.saturating_sub(rng.u32(1..=10));
                }
                slots.into_iter().map(|slot| users[slot].id).collect()
            };
            let smurfs = shells(self.rng.usize(3..=6), &mut self.rng, &mut self.users);
            let layers = shells(self.rng.usize(1..=3), &mut self.rng, &mut self.users);
            let exits = shells(self.rng.usize(3..=6), &mut self.rng, &mut self.users);
            self.cells.push(Cell { smurfs, layers, exits, starts });
            self.users[collector].role = Role::Launderer { cell };
            self.users[collector].style = Style::draw(&mut self.rng);
        }
        self.cast_look_alikes(sink, opening, &mut take);
    }

    fn cast_look_alikes(
        &mut self,
        sink: &mut dyn FnMut(Event),
        opening: u64,
        take: &mut dyn FnMut(usize) -> Vec<usize>,
    ) {
        let days = self.config.days.max(2);
        // As many look-alikes of each habit as there are abusers of a typology (0.5 % of users).
        let each = (self.users.len() / 200).max(2);
        for slot in take(each) {
            self.users[slot].role = Role::LookAlike(LookAlike::Returner);
            self.users[slot].style = Style::draw(&mut self.rng);
        }
        for slot in take(each) {
            let day = self.rng.u32(0..days);
            self.users[slot].role = Role::LookAlike(LookAlike::NewPhoneBigPurchase { day });
        }
        let parents = take(each);
        let children = take(each);
        for (parent, child) in parents.into_iter().zip(children) {
            let day = self.rng.u32(days / 3..days);
            self.users[child].role = Role::Shell;
            self.users[child].opens_day = day.saturating_sub(self.rng.u32(1..=10));
            let child = self.users[child].id;
            self.users[parent].role = Role::LookAlike(LookAlike::SavesForChild { day, child });
        }
        for slot in take(each) {
            self.users[slot].role = Role::LookAlike(LookAlike::GroupOrganizer);
            self.users[slot].style = Style::draw(&mut self.rng);
        }
        for slot in take(each) {
            let venue = self.rng.u64(1..=self.users.len() as u64);
            self.users[slot].role = Role::LookAlike(LookAlike::Treasurer { venue });
            self.users[slot].style = Style::draw(&mut self.rng);
        }
        let parents = take(each * 2);
        for class in parents.chunks(6) {
            let school = self.shops.iter().max().copied().unwrap_or(0) + 1;
            let category = MerchantCategory::Tuition;
            self.open_shop(sink, opening, school, category, MerchantVerification::Uncertified, Vec::new());
            let day = self.rng.u32(0..days.saturating_sub(7).max(1));
            for slot in class {
                let day = day + self.rng.u32(0..7);
                self.users[*slot].role = Role::LookAlike(LookAlike::Parent { school, day });
            }
        }
    }

    /// One abuser's or look-alike's scheme day in an adversarial population.
    pub(super) fn act_varied(&mut self, slot: usize, day: u32) {
        match self.users[slot].role {
            Role::RefundCycler => self.refund_cycle_varied(slot, day),
            Role::Colluder { shop, accomplice } => self.collude_varied(slot, day, shop, accomplice),
            Role::ProxyBuyer => self.proxy_buy_varied(slot, day),
            Role::SelfRecharger { wallet } => self.self_recharge_varied(slot, day, wallet),
            Role::TakeoverVictim { day: attack, mule } if attack == day => self.take_over_varied(slot, day, mule),
            Role::RingMember { shop, day: join } if join == day => self.ring_pay_varied(slot, day, shop),
            Role::Launderer { cell } => self.launder(slot, day, cell),
            Role::LookAlike(habit) => self.look_alike_day(slot, day, habit),
            _ => {}
        }
    }

    /// A round's draw on the line: the style's share of the limit, jittered, at most `cap_minor`
    /// and within what the scheme has left unrepaid (a third stays for ordinary spending);
    /// `None` below ¥50.
    fn scheme_amount(&mut self, slot: usize, cap_minor: u64) -> Option<u64> {
        let user = &self.users[slot];
        let reserve = if user.style.ordinary_life { user.limit_minor / 3 } else { user.limit_minor / 20 };
        let room = (user.limit_minor - reserve).saturating_sub(user.drawn_minor);
        let jitter = 0.8 + 0.4 * self.rng.f64();
        let want = ((user.limit_minor as f64 * user.style.draw_share * jitter) as u64).min(cap_minor);
        let amount = match user.style.round {
            true => want.min(room) / (100 * YUAN) * (100 * YUAN),
            false => want.min(room),
        };
        (amount >= 50 * YUAN).then(|| {
            self.users[slot].drawn_minor += amount;
            amount
        })
    }

    /// Sends `amount_minor` from user `from` to user `to` at `time_ms` (on or after `day`, the
    /// day the scheme acts), through `hops` relays each forwarding 99 % after ten minutes to six
    /// hours, each leg needing the one before (the first, the step `after` that brought the
    /// money); returns when and how much arrives, and the last leg's id.
    fn relay(
        &mut self,
        (day, time_ms): (u32, u64),
        (from, to): (u64, u64),
        (amount_minor, after): (u64, u64),
        hops: u8,
        typology: Typology,
    ) -> (u64, u64, u64) {
        let (mut time, mut sender, mut amount, mut after) = (time_ms, from, amount_minor, after);
        for _ in 0..hops {
            let Some(&relay) = self.relays.get(self.rng.usize(..self.relays.len().max(1))) else { break };
            if relay == sender || relay == to {
                continue;
            }
            let body = Body::Transfer { from: sender, to: relay, amount_minor: amount };
            after = self.at_after(day, time, body, label(typology), Some(after));
            time += log_uniform(&mut self.rng, 10 * MINUTE_MS, 6 * HOUR_MS);
            (sender, amount) = (relay, amount * 99 / 100);
        }
        let body = Body::Transfer { from: sender, to, amount_minor: amount };
        let last = self.at_after(day, time, body, label(typology), Some(after));
        (time, amount, last)
    }

    /// The receiver cashes what arrived (by the step `after`) out to the bank an hour to two days
    /// later.
    fn cash_out_later(
        &mut self,
        (day, time_ms): (u32, u64),
        user: u64,
        (amount_minor, after): (u64, u64),
        typology: Typology,
    ) {
        let time = time_ms + log_uniform(&mut self.rng, HOUR_MS, 2 * DAY_MS);
        self.at_after(day, time, Body::CashOut { user, amount_minor, agent: None }, label(typology), Some(after));
    }

    /// a. Credit purchases of liquid goods (sometimes physical), refunded hours to ten days later,
    /// in full or nearly.
    fn refund_cycle_varied(&mut self, slot: usize, day: u32) {
        let style = self.users[slot].style;
        if !style.runs_on(day) {
            return;
        }
        let Some(amount_minor) = self.scheme_amount(slot, u64::MAX) else { return };
        let category = match self.rng.u8(0..10) {
            0..=5 => MerchantCategory::VirtualGoods,
            6..=7 => MerchantCategory::Recharge,
            _ => MerchantCategory::PhysicalGoods,
        };
        let (user, merchant) = (self.users[slot].id, self.shop_in(category));
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        let payment = self.at(day, time, body, label(Typology::RefundCycling));
        let refunded = match self.rng.u8(0..10) {
            0..=6 => amount_minor,
            _ => amount_minor * self.rng.u64(80..100) / 100,
        };
        let later = time + style.delay_ms.min(10 * DAY_MS);
        self.at(day, later, Body::Refund { payment, merchant, amount_minor: refunded }, None);
        self.users[slot].drawn_minor -= refunded;
    }

    /// b. Credit paid to the accomplice's shop; after the style's delay the money comes back to the
    /// payer or their twin, inside the platform (a merchant transfer) or through the bank (a
    /// payout to the accomplice's card, then a transfer), through relays, and is cashed out.
    fn collude_varied(&mut self, slot: usize, day: u32, shop: u64, accomplice: u64) {
        let style = self.users[slot].style;
        if !style.runs_on(day) {
            return;
        }
        let Some(amount_minor) = self.scheme_amount(slot, u64::MAX) else { return };
        let (user, twin) = (self.users[slot].id, self.users[slot].twin);
        let typology = Typology::ColludingMerchant;
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant: shop, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        let paid = self.at(day, time, body, label(typology));
        let back = (amount_minor as f64 * style.back_share) as u64;
        let receiver = if twin != 0 && self.rng.bool() { twin } else { user };
        let leg = time + style.delay_ms;
        let (arrived, amount, last) = if self.rng.bool() {
            let first = match style.hops {
                0 => receiver,
                _ => self.relays[self.rng.usize(..self.relays.len())],
            };
            let body = Body::MerchantTransfer { merchant: shop, to: first, amount_minor: back };
            let sent = self.at_after(day, leg, body, label(typology), Some(paid));
            match first == receiver {
                true => (leg, back, sent),
                false => {
                    let onward = (back * 99 / 100, sent);
                    self.relay((day, leg + HOUR_MS), (first, receiver), onward, style.hops - 1, typology)
                }
            }
        } else {
            let body = Body::Payout { merchant: shop, amount_minor };
            let paid_out = self.at_after(day, leg, body, label(typology), Some(paid));
            let banked = leg + HOUR_MS;
            let body = Body::TopUp { user: accomplice, amount_minor: back, agent: None };
            let topped_up = self.at_after(day, banked, body, None, Some(paid_out));
            self.relay((day, banked + MINUTE_MS), (accomplice, receiver), (back, topped_up), style.hops, typology)
        };
        if receiver == twin || self.rng.bool() {
            self.cash_out_later((day, arrived), receiver, (amount, last), typology);
        }
    }

    /// c. Orders for strangers (the beneficiary named or not), paid back 60–99 % hours to days
    /// later, the paybacks cashed out about weekly.
    fn proxy_buy_varied(&mut self, slot: usize, day: u32) {
        let style = self.users[slot].style;
        let user = self.users[slot].id;
        if (day + style.phase).is_multiple_of(7) && self.users[slot].inflow_minor > 0 {
            let amount_minor = self.users[slot].inflow_minor * self.rng.u64(70..=100) / 100;
            self.users[slot].inflow_minor = 0;
            let evening = Self::day_start(day) + 22 * HOUR_MS + self.rng.u64(0..HOUR_MS);
            self.at(day, evening, Body::CashOut { user, amount_minor, agent: None }, label(Typology::ProxyPurchase));
        }
        if self.rng.u32(0..style.cadence_days) > 1 || self.proxy_clients.is_empty() {
            return;
        }
        let client = self.proxy_clients[self.rng.usize(..self.proxy_clients.len())];
        let cap_minor = YUAN * self.rng.u64(150..2_000);
        let Some(amount_minor) = self.scheme_amount(slot, cap_minor) else { return };
        let client_phone = self.users[(client - 1) as usize].phone;
        let named = self.rng.u8(0..10) < 6;
        let beneficiary = named.then(|| Self::tie(TieKind::Phone, client_phone, 2));
        let category = if self.rng.bool() { MerchantCategory::PhysicalGoods } else { MerchantCategory::VirtualGoods };
        let merchant = self.shop_in(category);
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary };
        self.at(day, time, body, label(Typology::ProxyPurchase));
        let back = (amount_minor as f64 * style.back_share) as u64;
        let later = time + style.delay_ms.min(3 * DAY_MS);
        // The client's payback is the client's act, not the cash-out's: unlabelled.
        self.at(day, later, Body::Transfer { from: client, to: user, amount_minor: back }, None);
        self.users[slot].inflow_minor += back;
    }

    /// d. Credit-paid recharges whose value lands in the payer's own account: a wallet named on
    /// the payment (bound from the start, or only after the recharges), or none named and the
    /// value credited to the payer's twin account later, which cashes it out.
    fn self_recharge_varied(&mut self, slot: usize, day: u32, wallet: u64) {
        let style = self.users[slot].style;
        let user = self.users[slot].id;
        let wallet_tie = Self::tie(TieKind::PayoutAccount, wallet, 5);
        let form = style.phase % 3;
        if day == 0 && form == 0 {
            let time = Self::day_start(day) + HOUR_MS;
            self.at(day, time, Body::Bind { user: Some(user), merchant: None, tie: wallet_tie }, None);
        }
        if !style.runs_on(day) {
            return;
        }
        let Some(amount_minor) = self.scheme_amount(slot, YUAN * 2_000) else { return };
        let merchant = if self.rng.bool() { self.recharge_shop } else { self.shop_in(MerchantCategory::Recharge) };
        let time = self.daytime(day);
        let twin = self.users[slot].twin;
        let typology = Typology::SelfRecharge;
        if form == 2 && twin != 0 {
            let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
            let paid = self.at(day, time, body, label(typology));
            let credited = time + style.delay_ms.min(6 * HOUR_MS);
            let body = Body::MerchantTransfer { merchant, to: twin, amount_minor };
            let sent = self.at_after(day, credited, body, label(typology), Some(paid));
            self.cash_out_later((day, credited), twin, (amount_minor, sent), typology);
            return;
        }
        let beneficiary = Some(wallet_tie);
        let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary };
        self.at(day, time, body, label(typology));
        if form == 1 && !self.users[slot].wallet_bound {
            // The wallet shows up as the payer's only later.
            self.users[slot].wallet_bound = true;
            let bound = time + style.delay_ms;
            self.at(day, bound, Body::Bind { user: Some(user), merchant: None, tie: wallet_tie }, None);
        }
    }

    /// e. A takeover, with or without a new device: a credit spend at any kind of merchant, part
    /// or most of the balance sent to a mule opened days ahead, sometimes a credit withdrawal;
    /// the mule passes the money on through relays and cashes it out.
    fn take_over_varied(&mut self, slot: usize, day: u32, mule: u64) {
        let (user, limit, income) = (self.users[slot].id, self.users[slot].limit_minor, self.users[slot].income_minor);
        let style = self.users[slot].style;
        let typology = Typology::AccountTakeover;
        let mut time = self.daytime(day);
        if self.rng.u8(0..10) < 6 {
            self.at(day, time, Body::Login { user, device: 7_000_000 + user }, None);
        }
        let mut stopped = Vec::new();
        if self.rng.u8(0..10) < 7 {
            time += log_uniform(&mut self.rng, MINUTE_MS, HOUR_MS);
            let category = match self.rng.u8(0..10) {
                0..=4 => MerchantCategory::VirtualGoods,
                5..=7 => MerchantCategory::PhysicalGoods,
                _ => MerchantCategory::Recharge,
            };
            let merchant = self.shop_in(category);
            let spend = (limit as f64 * (0.3 + 0.65 * self.rng.f64())) as u64 / YUAN * YUAN;
            let body = Body::Pay { user, merchant, credit_minor: spend, balance_minor: 0, beneficiary: None };
            stopped.push(self.at(day, time, body, label(typology)));
        }
        time += log_uniform(&mut self.rng, MINUTE_MS, HOUR_MS);
        let drained = income * self.rng.u64(20..60) / 100;
        let drain = self.at(day, time, Body::Transfer { from: user, to: mule, amount_minor: drained }, label(typology));
        stopped.push(drain);
        if self.rng.u8(0..10) < 3 {
            let amount_minor = limit * self.rng.u64(5..20) / 100 / YUAN * YUAN;
            let body = Body::CreditWithdrawal { user, amount_minor, purpose: WithdrawalPurpose::Other };
            self.at(day, time + MINUTE_MS * 2, body, label(typology));
        }
        let onward = time + log_uniform(&mut self.rng, 5 * MINUTE_MS, 12 * HOUR_MS);
        let (cashier, arrived, amount, last) = match style.hops.min(2) {
            0 => (mule, onward, drained, drain),
            hops => {
                let cash_point = self.relays[self.rng.usize(..self.relays.len())];
                let (arrived, amount, last) =
                    self.relay((day, onward), (mule, cash_point), (drained, drain), hops - 1, typology);
                (cash_point, arrived, amount, last)
            }
        };
        let cash_out = arrived + MINUTE_MS;
        let body = Body::CashOut { user: cashier, amount_minor: amount, agent: None };
        self.at_after(day, cash_out, body, label(typology), Some(last));
        self.recover(day, user, &stopped);
    }

    /// f. A ring member's payment: the ring's share of the limit (round or not), the shop paying
    /// it out after the ring's delay.
    fn ring_pay_varied(&mut self, slot: usize, day: u32, shop: u64) {
        let Some(amount_minor) = self.scheme_amount(slot, u64::MAX) else { return };
        let (user, delay) = (self.users[slot].id, self.users[slot].style.delay_ms);
        let time = self.daytime(day);
        let body = Body::Pay { user, merchant: shop, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
        let paid = self.at(day, time, body, label(Typology::Ring));
        let paid_out = time + delay;
        let body = Body::Payout { merchant: shop, amount_minor };
        self.at_after(day, paid_out, body, label(Typology::Ring), Some(paid));
    }

    /// A laundering cell's round, every `cadence` days from its start: each smurf tops up ¥2,000–
    /// 20,000 and passes it to the collector within the hour; the collector sends it on through
    /// the layers (each forwarding 98–99 % after ten minutes to six hours), the last layer sends a
    /// tenth to a third back to the collector half the time (a cycle, layered again with the next
    /// round's cash) and splits the rest among
    /// the exits, which cash out an hour to two days later. Each leg needs the one before.
    fn launder(&mut self, slot: usize, day: u32, cell: usize) {
        let style = self.users[slot].style;
        if day < self.cells[cell].starts || !style.runs_on(day) {
            return;
        }
        let collector = self.users[slot].id;
        let laundering = || Some(LAUNDERING.to_owned());
        let (smurfs, layers, exits) =
            (self.cells[cell].smurfs.clone(), self.cells[cell].layers.clone(), self.cells[cell].exits.clone());
        let mut time = self.daytime(day).min(Self::day_start(day) + 20 * HOUR_MS);
        let (mut gathered, mut after) = (0, 0);
        for smurf in smurfs {
            let cash = YUAN * self.rng.u64(2_000..20_000);
            let cash = if style.round { cash / (100 * YUAN) * (100 * YUAN) } else { cash };
            time += self.rng.u64(MINUTE_MS..20 * MINUTE_MS);
            let topped_up = self.at(day, time, Body::TopUp { user: smurf, amount_minor: cash, agent: None }, None);
            let passed = cash * self.rng.u64(97..=100) / 100;
            let body = Body::Transfer { from: smurf, to: collector, amount_minor: passed };
            let sent_at = time + self.rng.u64(MINUTE_MS..HOUR_MS);
            after = self.at_after(day, sent_at, body, laundering(), Some(topped_up));
            gathered += passed;
        }
        // What came back to the collector in earlier rounds is layered again with this round's.
        let (mut holder, mut amount) = (collector, gathered + std::mem::take(&mut self.users[slot].inflow_minor));
        time += HOUR_MS;
        for layer in layers {
            time += log_uniform(&mut self.rng, 10 * MINUTE_MS, 6 * HOUR_MS);
            let body = Body::Transfer { from: holder, to: layer, amount_minor: amount };
            after = self.at_after(day, time, body, laundering(), Some(after));
            (holder, amount) = (layer, amount * self.rng.u64(98..=99) / 100);
        }
        if self.rng.bool() {
            let back = amount * self.rng.u64(10..=33) / 100;
            time += log_uniform(&mut self.rng, 10 * MINUTE_MS, 6 * HOUR_MS);
            let body = Body::Transfer { from: holder, to: collector, amount_minor: back };
            self.at_after(day, time, body, laundering(), Some(after));
            self.users[slot].inflow_minor += back;
            amount -= back;
        }
        let share = amount / exits.len() as u64;
        for exit in exits {
            time += self.rng.u64(MINUTE_MS..15 * MINUTE_MS);
            let part = share * self.rng.u64(80..=100) / 100;
            let body = Body::Transfer { from: holder, to: exit, amount_minor: part };
            let sent = self.at_after(day, time, body, laundering(), Some(after));
            let later = time + log_uniform(&mut self.rng, HOUR_MS, 2 * DAY_MS);
            self.at_after(
                day,
                later,
                Body::CashOut { user: exit, amount_minor: part, agent: None },
                laundering(),
                Some(sent),
            );
        }
    }

    /// An honest look-alike's habit, on top of their ordinary day.
    fn look_alike_day(&mut self, slot: usize, day: u32, habit: LookAlike) {
        let (user, limit, income) = (self.users[slot].id, self.users[slot].limit_minor, self.users[slot].income_minor);
        let time = self.daytime(day);
        match habit {
            LookAlike::Returner if self.users[slot].style.runs_on(day) => {
                let merchant = self.shop_in(MerchantCategory::PhysicalGoods);
                let amount_minor = YUAN * self.rng.u64(100..1_500);
                let body =
                    Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
                let payment = self.at(day, time, body, honest());
                if self.rng.bool() {
                    let later = day + self.rng.u32(2..10);
                    let at = self.daytime(later);
                    self.at(later, at, Body::Refund { payment, merchant, amount_minor }, honest());
                }
            }
            LookAlike::NewPhoneBigPurchase { day: on } if on == day => {
                let device = 5_000_000 + self.next_id;
                self.users[slot].device = device;
                self.at(day, time, Body::Login { user, device }, honest());
                let merchant = self.shop_in(MerchantCategory::PhysicalGoods);
                let amount_minor = (limit as f64 * (0.5 + 0.3 * self.rng.f64())) as u64 / YUAN * YUAN;
                let later = time + log_uniform(&mut self.rng, 10 * MINUTE_MS, 6 * HOUR_MS);
                let body =
                    Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary: None };
                self.at(day, later, body, honest());
            }
            LookAlike::SavesForChild { day: on, child } if on == day => {
                let amount_minor = income * self.rng.u64(20..50) / 100;
                self.at(day, time, Body::Transfer { from: user, to: child, amount_minor }, honest());
            }
            LookAlike::GroupOrganizer if self.users[slot].style.runs_on(day) => {
                for _ in 0..self.rng.u32(2..=5) {
                    let friend = self.users[slot].friends[self.rng.usize(..3)];
                    if friend == user || !self.lives(friend) {
                        continue;
                    }
                    let phone = self.users[(friend - 1) as usize].phone;
                    let merchant = self.shop_in(MerchantCategory::VirtualGoods);
                    let amount_minor = YUAN * self.rng.u64(80..600);
                    let beneficiary = Some(Self::tie(TieKind::Phone, phone, 2));
                    let body = Body::Pay { user, merchant, credit_minor: amount_minor, balance_minor: 0, beneficiary };
                    self.at(day, time, body, honest());
                    let back = time + log_uniform(&mut self.rng, HOUR_MS, 2 * DAY_MS);
                    let label = self.label_of(friend);
                    self.at(day, back, Body::Transfer { from: friend, to: user, amount_minor }, label);
                }
            }
            LookAlike::Parent { school, day: on } if on == day => {
                let amount_minor = (limit as f64 * (0.6 + 0.3 * self.rng.f64())) as u64 / (100 * YUAN) * (100 * YUAN);
                let body = Body::Pay {
                    user,
                    merchant: school,
                    credit_minor: amount_minor,
                    balance_minor: 0,
                    beneficiary: None,
                };
                self.at(day, time, body, honest());
                let paid_out = time + log_uniform(&mut self.rng, DAY_MS, 3 * DAY_MS);
                self.at(day, paid_out, Body::Payout { merchant: school, amount_minor }, honest());
            }
            LookAlike::Treasurer { venue } if (day + self.users[slot].style.phase).is_multiple_of(30) => {
                let mut collected = 0;
                for _ in 0..self.rng.u32(5..=12) {
                    let member = self.rng.u64(1..=self.users.len() as u64);
                    if member == user || member == venue || !self.lives(member) {
                        continue;
                    }
                    let dues = YUAN * self.rng.u64(50..300);
                    let at = self.daytime(day);
                    let label = self.label_of(member);
                    self.at(day, at, Body::Transfer { from: member, to: user, amount_minor: dues }, label);
                    collected += dues;
                }
                let later = day + self.rng.u32(2..=6);
                if collected > 0 && self.lives(venue) {
                    let at = self.daytime(later);
                    self.at(later, at, Body::Transfer { from: user, to: venue, amount_minor: collected }, honest());
                }
            }
            _ => {}
        }
    }
}
