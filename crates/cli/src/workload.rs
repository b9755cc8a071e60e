//! A seeded, deterministic mix of ledger commands for the bench: many users and merchants,
//! a realistic share of purchases, holds, refunds, transfers, top-ups and repayments.

use model::kind;
use model::risk::{Party, RuleSet, Tie, TieKind};
use model::{
    Amount, Command, CommandId, CommandKind, Currency, Funding, IdentityLevel, MerchantCategory, MerchantId,
    MerchantVerification, RepaySource, UserId, WithdrawalPurpose,
};

/// Shape of the population.
#[derive(Clone, Copy, Debug)]
pub struct Population {
    /// Users.
    pub users: u64,
    /// Merchants.
    pub merchants: u64,
    /// The seed.
    pub seed: u64,
    /// How user, merchant and command ids are numbered.
    pub id_shape: IdShape,
}

/// How the workload numbers its users, merchants and commands. The same events either way:
/// only the ids differ, so the two shapes give the same outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdShape {
    /// 0, 1, 2, …: small numbers, which the engine's indexes hold in arrays.
    Sequential,
    /// Scattered over all 64 bits, as a platform's ids are (snowflake ids, hashes of account
    /// numbers): the n-th id is a fixed bijection of n, so no two collide.
    Sparse,
}

impl IdShape {
    /// The id of the `index`-th user, merchant or command.
    fn id(self, index: u64) -> u64 {
        match self {
            IdShape::Sequential => index,
            // splitmix64's finalizer: a bijection of u64 that spreads neighbours apart.
            IdShape::Sparse => {
                let mut x = index ^ 0x9e37_79b9_7f4a_7c15;
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                x ^ (x >> 31)
            }
        }
    }
}

/// How many recent payments and holds are remembered as targets for refunds and captures.
const RECENT_MAX: usize = 4_096;
/// Virtual time between events: 4 s, so two million events span about three months of
/// statements, due dates and penalties under the default product.
const EVENT_GAP_MS: u64 = 4_000;
/// A tick every this many events expires lapsed holds.
const TICK_EVERY: u64 = 10_000;

/// Generates the commands.
pub struct Workload {
    population: Population,
    rng: fastrand::Rng,
    next_id: u64,
    time_ms: u64,
    events: u64,
    payments: Vec<(CommandId, MerchantId, u64)>,
    credit_purchases: Vec<(CommandId, UserId)>,
    holds: Vec<(CommandId, MerchantId, u64)>,
    /// Users whose statement autopay (自动还款) has not run yet this month, next first.
    autopay: Vec<UserId>,
    /// The local month whose statements the autopay list covers.
    autopay_month: i64,
    /// Risk rules set-up installs, if any.
    rules: Option<RuleSet>,
}

/// The product's time zone (China) for the autopay calendar.
const UTC_OFFSET_MINUTES: i16 = 480;
/// Out of 1,000 users, how many skip a month's autopay and run late.
const SKIP_PER_MILLE: u64 = 50;

fn amount(minor: u64) -> Amount {
    Amount::new(minor.max(1)).expect("workload amounts are small and positive")
}

impl Workload {
    /// A workload over `population`, with `rules` installed at set-up if given.
    pub fn new(population: Population, rules: Option<RuleSet>) -> Workload {
        Workload {
            population,
            rng: fastrand::Rng::with_seed(population.seed),
            next_id: 1,
            time_ms: 1_767_225_600_000,
            events: 0,
            payments: Vec::with_capacity(RECENT_MAX),
            credit_purchases: Vec::with_capacity(RECENT_MAX),
            holds: Vec::with_capacity(RECENT_MAX),
            autopay: Vec::new(),
            autopay_month: 0,
            rules,
        }
    }

    /// The id the next command will get.
    fn next_command_id(&self) -> CommandId {
        CommandId(self.population.id_shape.id(self.next_id))
    }

    fn user_id(&self, index: u64) -> UserId {
        UserId(self.population.id_shape.id(index))
    }

    fn merchant_id(&self, index: u64) -> MerchantId {
        MerchantId(self.population.id_shape.id(index))
    }

    fn command(&mut self, kind: CommandKind) -> Command {
        let id = self.next_command_id();
        self.next_id += 1;
        Command {
            actor: model::ActorId::SERVER,
            initiator: model::Initiator::Platform,
            id,
            time_ms: self.time_ms,
            kind,
        }
    }

    /// Installs the default product (and the rules, if any), opens every user and
    /// merchant, grants lines, gives each user some balance and a device (one in fifty shared
    /// with another user, as in a household).
    pub fn setup(&mut self) -> Vec<Command> {
        let product = server::product_file::parse(include_str!("../../../products/huabei.toml"), "huabei.toml")
            .expect("the shipped product is valid");
        let effective_at_ms = self.time_ms;
        let mut commands = vec![self.command(CommandKind::InstallProduct(kind::InstallProduct {
            product: Box::new(product),
            effective_at_ms: Some(effective_at_ms),
        }))];
        for merchant in 0..self.population.merchants {
            let category = match merchant % 10 {
                0 => MerchantCategory::VirtualGoods,
                1 => MerchantCategory::Recharge,
                2 => MerchantCategory::Utilities,
                _ => MerchantCategory::PhysicalGoods,
            };
            commands.push(self.command(CommandKind::OpenMerchant(kind::OpenMerchant {
                merchant: self.merchant_id(merchant),
                currency: Currency::CNY,
                category,
                verification: MerchantVerification::Certified,
                partner: merchant % 50 == 0,
            })));
        }
        for index in 0..self.population.users {
            let user = self.user_id(index);
            commands.push(self.command(CommandKind::OpenUser(kind::OpenUser {
                user,
                currency: Currency::CNY,
                identity: IdentityLevel::Full,
            })));
            let limit_minor = 100_000 * self.rng.u64(5..=200);
            commands.push(self.command(CommandKind::SetCreditLimit(kind::SetCreditLimit { user, limit_minor })));
            let amount = amount(100 * self.rng.u64(100..=5_000));
            commands.push(self.command(CommandKind::TopUp(kind::TopUp { user, amount })));
            let token = self.user_id(if index % 50 == 1 { index - 1 } else { index }).0;
            let tie = Tie { kind: TieKind::Device, token };
            commands.push(self.command(CommandKind::LinkTie(kind::LinkTie { party: Party::User(user), tie })));
        }
        if let Some(rules) = self.rules.clone() {
            commands.push(self.command(CommandKind::InstallRules(kind::InstallRules { rules: Box::new(rules) })));
        }
        commands
    }

    fn user(&mut self) -> UserId {
        let index = self.rng.u64(0..self.population.users);
        self.user_id(index)
    }

    fn merchant(&mut self) -> MerchantId {
        // A few merchants take most of the traffic, as in real payment flows.
        let merchants = self.population.merchants;
        let popular = self.rng.u8(..) < 160;
        let index = if popular { self.rng.u64(0..merchants.div_ceil(20)) } else { self.rng.u64(0..merchants) };
        self.merchant_id(index)
    }

    fn price(&mut self) -> u64 {
        // Mostly small baskets, some large ones: 1 to 2,000 yuan in fen.
        match self.rng.u8(0..10) {
            0 => 100 * self.rng.u64(500..2_000),
            _ => 100 * self.rng.u64(1..300) + self.rng.u64(0..100),
        }
    }

    fn remember<T>(list: &mut Vec<T>, rng: &mut fastrand::Rng, entry: T) {
        match list.len() < RECENT_MAX {
            true => list.push(entry),
            false => list[rng.usize(..RECENT_MAX)] = entry,
        }
    }

    fn take<T>(list: &mut Vec<T>, rng: &mut fastrand::Rng) -> Option<T> {
        (!list.is_empty()).then(|| list.swap_remove(rng.usize(..list.len())))
    }

    /// The next event of the mix.
    pub fn next_event(&mut self) -> Command {
        self.events += 1;
        self.time_ms += EVENT_GAP_MS;
        if self.events.is_multiple_of(TICK_EVERY) {
            return self.command(CommandKind::Tick);
        }
        if let Some(user) = self.autopay_due() {
            return self.command(CommandKind::RepayStatement(kind::RepayStatement {
                user,
                source: RepaySource::Bank,
                in_full: true,
            }));
        }
        let roll = self.rng.u8(0..100);
        let kind = match roll {
            0..=40 => self.purchase(),
            41..=42 => self.convert_to_instalments(),
            43..=44 => {
                let purpose = WithdrawalPurpose::DailyExpenses;
                CommandKind::RequestWithdrawal(kind::RequestWithdrawal {
                    user: self.user(),
                    amount: amount(100 * self.rng.u64(100..2_000)),
                    purpose,
                })
            }
            45..=54 => self.hold(),
            55..=62 => self.settle_hold(),
            63..=68 => self.refund(),
            69..=78 => {
                let (from, to) = (self.user(), self.user());
                CommandKind::Transfer(kind::Transfer { from, to, amount: amount(100 * self.rng.u64(1..200)) })
            }
            79..=88 => {
                let source = if self.rng.bool() { RepaySource::Bank } else { RepaySource::Balance };
                CommandKind::Repay(kind::Repay {
                    user: self.user(),
                    amount: amount(100 * self.rng.u64(1..500)),
                    source,
                })
            }
            89..=94 => {
                CommandKind::TopUp(kind::TopUp { user: self.user(), amount: amount(100 * self.rng.u64(10..1_000)) })
            }
            95..=97 => CommandKind::WithdrawToBank(kind::WithdrawToBank {
                user: self.user(),
                amount: amount(100 * self.rng.u64(1..100)),
            }),
            _ => CommandKind::PayoutMerchant(kind::PayoutMerchant {
                merchant: self.merchant(),
                amount: amount(100 * self.rng.u64(1..1_000)),
            }),
        };
        self.command(kind)
    }

    /// Between the 2nd and the 9th of each month most users' autopay pays their statement in
    /// full; a few skip the month and run late.
    fn autopay_due(&mut self) -> Option<UserId> {
        let day = model::calendar::local_day(self.time_ms, UTC_OFFSET_MINUTES);
        let (_, _, day_of_month) = model::calendar::civil(day);
        let month = model::calendar::month_key(day);
        if month != self.autopay_month && day_of_month >= 2 {
            self.autopay_month = month;
            let users = self.population.users;
            let skip = |rng: &mut fastrand::Rng| rng.u64(0..1_000) < SKIP_PER_MILLE;
            let shape = self.population.id_shape;
            self.autopay =
                (0..users).rev().filter(|_| !skip(&mut self.rng)).map(|index| UserId(shape.id(index))).collect();
        }
        if !(2..=9).contains(&day_of_month) || self.rng.u8(0..100) >= 60 {
            return None;
        }
        self.autopay.pop()
    }

    fn funding(&mut self, price: u64) -> Funding {
        match self.rng.u8(0..10) {
            0..=6 => Funding { credit_minor: price, balance_minor: 0 },
            7..=8 => Funding { credit_minor: 0, balance_minor: price },
            _ => Funding { credit_minor: price / 2, balance_minor: price - price / 2 },
        }
    }

    fn convert_to_instalments(&mut self) -> CommandKind {
        match Self::take(&mut self.credit_purchases, &mut self.rng) {
            Some((payment, user)) => CommandKind::ConvertToInstalments(kind::ConvertToInstalments {
                user,
                payment,
                periods: [3, 6, 9, 12][self.rng.usize(..4)],
            }),
            None => self.purchase(),
        }
    }

    fn purchase(&mut self) -> CommandKind {
        let (user, merchant, price) = (self.user(), self.merchant(), self.price());
        let (funding, id) = (self.funding(price), self.next_command_id());
        if funding.credit_minor > 0 {
            Self::remember(&mut self.credit_purchases, &mut self.rng, (id, user));
        }
        Self::remember(&mut self.payments, &mut self.rng, (id, merchant, price));
        CommandKind::Pay(kind::Pay { user, merchant, funding })
    }

    fn hold(&mut self) -> CommandKind {
        let (user, merchant, price) = (self.user(), self.merchant(), self.price());
        let (funding, id) = (self.funding(price), self.next_command_id());
        Self::remember(&mut self.holds, &mut self.rng, (id, merchant, price));
        CommandKind::Authorize(kind::Authorize { user, merchant, funding, hold_ms: 3_600_000 })
    }

    fn settle_hold(&mut self) -> CommandKind {
        let Some((authorization, merchant, price)) = Self::take(&mut self.holds, &mut self.rng) else {
            return self.purchase();
        };
        match self.rng.u8(0..10) {
            0 => CommandKind::Release(kind::Release { authorization, merchant }),
            _ => {
                Self::remember(&mut self.payments, &mut self.rng, (authorization, merchant, price));
                CommandKind::Capture(kind::Capture {
                    authorization,
                    merchant,
                    amount: amount(price - self.rng.u64(0..=price / 10)),
                })
            }
        }
    }

    fn refund(&mut self) -> CommandKind {
        let Some((payment, merchant, price)) = Self::take(&mut self.payments, &mut self.rng) else {
            return self.purchase();
        };
        let partial = self.rng.bool();
        CommandKind::Refund(kind::Refund { payment, merchant, amount: amount(if partial { price / 2 } else { price }) })
    }
}
