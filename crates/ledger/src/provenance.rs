//! Money provenance (ADR 0009): how much of what a balance or settlement account holds was drawn
//! on credit lines, and by whom, carried exactly and pro rata through every posting.
//!
//! Credit enters the world of balances when a purchase's credit part reaches a merchant's
//! settlement account; from there it moves with the money (a merchant's transfer to a user, refunds
//! to a balance, P2P transfers)
//! and leaves it with the money (payouts and withdrawals to a bank, repayments to a line). An
//! outflow of `a` from an account holding `h` takes the share `a / h` of its credit-derived part,
//! so the part held never exceeds the balance. The official credit withdrawal is cash by design
//! (priced and score-gated): it lands in the balance with no provenance.
//!
//! An account names at most [`ORIGINS_MAX`] origins, the largest; the rest are summed as
//! `other_minor`, so a settlement account fed by millions of payers costs the same as one fed by
//! one. A balance that holds no credit-derived money (most do not) holds no allocation; a
//! settlement account keeps its origins inline.

use model::UserId;
use serde::{Deserialize, Serialize};

/// The most origins an account names; smaller ones are summed in `other_minor`.
pub const ORIGINS_MAX: usize = 3;

/// Money drawn on one user's credit line, as one account holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The user whose credit line drew it (0 with `amount_minor` 0: an empty place).
    pub user: UserId,
    /// Minor units of it held.
    pub amount_minor: u64,
    /// When the earliest of it was drawn (command time, ms).
    pub drawn_at_ms: u64,
    /// The most moves from account to account any of it made after reaching a merchant (a refund
    /// to a balance, a P2P transfer), saturating at 255.
    pub hops: u8,
}

impl Default for Origin {
    /// An empty place.
    fn default() -> Origin {
        Origin { user: UserId(0), amount_minor: 0, drawn_at_ms: 0, hops: 0 }
    }
}

/// The credit-derived part of some money: what an account holds, or the slice moving with a
/// posting. Kept by value; an account keeps one behind [`Provenance`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origins {
    /// The named origins, an empty place having `amount_minor` 0.
    named: [Origin; ORIGINS_MAX],
    /// Credit-derived minor units whose origin is no longer named.
    other_minor: u64,
}

impl Origins {
    /// `amount` just drawn on `user`'s credit line at `now_ms`.
    pub fn drawn(user: UserId, amount_minor: u64, now_ms: u64) -> Origins {
        let mut origins = Origins::default();
        origins.named[0] = Origin { user, amount_minor, drawn_at_ms: now_ms, hops: 0 };
        origins
    }

    /// The credit-derived minor units in all: the named origins and the rest.
    pub fn credit_minor(&self) -> u64 {
        self.named.iter().map(|origin| origin.amount_minor).sum::<u64>() + self.other_minor
    }

    /// The named origins, largest first.
    pub fn named(&self) -> impl Iterator<Item = &Origin> {
        let mut order: [usize; ORIGINS_MAX] = std::array::from_fn(|place| place);
        order.sort_by_key(|index| (std::cmp::Reverse(self.named[*index].amount_minor), self.named[*index].user));
        order.into_iter().map(|index| &self.named[index]).filter(|origin| origin.amount_minor > 0)
    }

    /// Credit-derived minor units whose origin is not named.
    pub fn other_minor(&self) -> u64 {
        self.other_minor
    }

    /// Whether none of the money is credit-derived.
    pub fn is_empty(&self) -> bool {
        self.credit_minor() == 0
    }

    /// Removes and returns the slice that moves with `amount` of `held` minor units (the money
    /// these origins are part of): the share `amount / held`, rounded so that what stays is at
    /// most `held − amount` — all of it when all is taken. Splits a slice too (a refund: the
    /// part going back to the credit line, and the rest).
    pub fn take(&mut self, amount: u64, held: u64) -> Origins {
        let credit = self.credit_minor();
        assert!(amount <= held && credit <= held, "take {amount} of {held} holding {credit} credit-derived");
        let scale = |part: u64| (part as u128 * amount as u128 / held.max(1) as u128) as u64;
        // What stays is rounded down, so what moves is rounded up and never exceeds `amount`.
        let stays = (credit as u128 * (held - amount) as u128 / held.max(1) as u128) as u64;
        let moving = credit - stays;
        let mut slice = Origins::default();
        for (place, origin) in self.named.iter().enumerate() {
            slice.named[place] = Origin { amount_minor: scale(origin.amount_minor), ..*origin };
        }
        slice.other_minor = scale(self.other_minor);
        // Each part was rounded down: the units still to move go one by one, in place order.
        let mut short = moving - slice.credit_minor();
        for place in 0..=ORIGINS_MAX {
            let (held_part, moved_part) = match place {
                ORIGINS_MAX => (self.other_minor, &mut slice.other_minor),
                place => (self.named[place].amount_minor, &mut slice.named[place].amount_minor),
            };
            let extra = short.min(held_part - *moved_part);
            *moved_part += extra;
            short -= extra;
        }
        debug_assert_eq!((short, slice.credit_minor()), (0, moving));
        for (origin, moved) in self.named.iter_mut().zip(&slice.named) {
            origin.amount_minor -= moved.amount_minor;
            if origin.amount_minor == 0 {
                *origin = Origin::default();
            }
        }
        self.other_minor -= slice.other_minor;
        slice.named.iter_mut().filter(|origin| origin.amount_minor == 0).for_each(|origin| *origin = Origin::default());
        debug_assert!(self.credit_minor() <= held - amount);
        slice
    }

    /// Adds a slice arriving with a posting; `hop` counts one more move for its origins. An origin
    /// already named grows; a new one takes an empty place, or the smallest one's place if it is
    /// larger (the smaller joins `other_minor`).
    pub fn add(&mut self, slice: &Origins, hop: bool) {
        for incoming in slice.named.iter().filter(|origin| origin.amount_minor > 0) {
            let hops = incoming.hops.saturating_add(u8::from(hop));
            let arriving = Origin { hops, ..*incoming };
            if let Some(known) =
                self.named.iter_mut().find(|origin| origin.amount_minor > 0 && origin.user == incoming.user)
            {
                known.amount_minor += arriving.amount_minor;
                known.drawn_at_ms = known.drawn_at_ms.min(arriving.drawn_at_ms);
                known.hops = known.hops.max(arriving.hops);
                continue;
            }
            let smallest = (0..ORIGINS_MAX)
                .min_by_key(|place| (self.named[*place].amount_minor, std::cmp::Reverse(self.named[*place].user)))
                .expect("ORIGINS_MAX > 0");
            let place = &mut self.named[smallest];
            if place.amount_minor == 0 {
                *place = arriving;
            } else if (arriving.amount_minor, std::cmp::Reverse(arriving.user))
                > (place.amount_minor, std::cmp::Reverse(place.user))
            {
                self.other_minor += place.amount_minor;
                *place = arriving;
            } else {
                self.other_minor += arriving.amount_minor;
            }
        }
        self.other_minor += slice.other_minor;
    }
}

/// The credit-derived part of one account's money: nothing (no allocation) or its [`Origins`].
/// Its credit-derived total never exceeds the account's balance; the posting that changes the
/// balance changes it, taking a slice out or adding one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance(Option<Box<Origins>>);

impl Provenance {
    /// The origins held; `None` when none of the money is credit-derived.
    pub fn origins(&self) -> Option<&Origins> {
        self.0.as_deref()
    }

    /// The credit-derived minor units held.
    pub fn credit_minor(&self) -> u64 {
        self.0.as_ref().map_or(0, |origins| origins.credit_minor())
    }

    /// Removes the slice moving out with `amount` of the account's `held` minor units (its
    /// balance before the posting).
    pub fn take(&mut self, amount: u64, held: u64) -> Origins {
        let Some(origins) = self.0.as_deref_mut() else { return Origins::default() };
        let slice = origins.take(amount, held);
        if origins.is_empty() {
            self.0 = None;
        }
        slice
    }

    /// Adds a slice arriving with a posting (see [`Origins::add`]).
    pub fn add(&mut self, slice: &Origins, hop: bool) {
        if !slice.is_empty() {
            self.0.get_or_insert_with(Box::default).add(slice, hop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One step of money moving between accounts 0..4 (each with a balance), with provenance.
    #[derive(Clone, Debug)]
    enum Step {
        /// A purchase's credit part reaches account `to`, drawn by `user`.
        Draw { user: u64, to: usize, amount: u64 },
        /// Non-credit money arrives (a top-up).
        Cash { to: usize, amount: u64 },
        /// `share` (per mille) of account `from`'s balance moves to `to`, or out when `to` ≥ 4.
        Move { from: usize, to: usize, share: u64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1..6u64, 0..4usize, 1..1_000_000u64).prop_map(|(user, to, amount)| Step::Draw { user, to, amount }),
            (0..4usize, 1..1_000_000u64).prop_map(|(to, amount)| Step::Cash { to, amount }),
            (0..4usize, 0..6usize, 0..=1_000u64).prop_map(|(from, to, share)| Step::Move { from, to, share }),
        ]
    }

    proptest! {
        /// Through any postings, each account's credit-derived part stays within its balance,
        /// the named origins and the rest sum to it, and credit-derived money is conserved: what
        /// was drawn is held somewhere or left with an outflow, to the unit.
        #[test]
        fn provenance_is_exact_and_bounded(steps in proptest::collection::vec(step(), 1..200)) {
            let mut balances = [0u64; 4];
            let mut held: [Provenance; 4] = Default::default();
            let (mut drawn, mut left) = (0u64, 0u64);
            for (time, step) in steps.into_iter().enumerate() {
                match step {
                    Step::Draw { user, to, amount } => {
                        balances[to] += amount;
                        held[to].add(&Origins::drawn(UserId(user), amount, time as u64), false);
                        drawn += amount;
                    }
                    Step::Cash { to, amount } => balances[to] += amount,
                    Step::Move { from, to, share } => {
                        let amount = balances[from] * share / 1_000;
                        let slice = held[from].take(amount, balances[from]);
                        prop_assert!(slice.credit_minor() <= amount);
                        balances[from] -= amount;
                        match to {
                            to if to < 4 && to != from => {
                                balances[to] += amount;
                                held[to].add(&slice, true);
                            }
                            _ => left += slice.credit_minor(),
                        }
                    }
                }
                let mut total = 0;
                for (account, provenance) in held.iter().enumerate() {
                    let credit = provenance.credit_minor();
                    prop_assert!(credit <= balances[account], "account {account}: {credit} > {}", balances[account]);
                    if let Some(origins) = provenance.origins() {
                        let named: u64 = origins.named().map(|origin| origin.amount_minor).sum();
                        prop_assert_eq!(named + origins.other_minor(), credit);
                        prop_assert!(credit > 0, "an empty provenance holds no allocation");
                    }
                    total += credit;
                }
                prop_assert_eq!(total + left, drawn, "credit-derived money is conserved");
            }
        }
    }

    /// ADR 0009's cost per account: a pointer on every balance and settlement account, and one
    /// allocation for an account that holds credit-derived money.
    #[test]
    fn an_account_pays_a_pointer_and_a_holder_one_allocation() {
        assert_eq!(size_of::<Provenance>(), 8);
        assert_eq!(size_of::<Origins>(), 104);
    }

    #[test]
    fn an_outflow_takes_its_share_and_the_smallest_origin_gives_way() {
        let mut held = Provenance::default();
        for (user, amount) in [(1, 600), (2, 300), (3, 100)] {
            held.add(&Origins::drawn(UserId(user), amount, user), false);
        }
        // 1,000 credit-derived of a 2,000 balance; 500 leaves: a quarter of each origin goes.
        let slice = held.take(500, 2_000);
        let moved: Vec<_> = slice.named().map(|origin| (origin.user.0, origin.amount_minor)).collect();
        assert_eq!(moved, [(1, 150), (2, 75), (3, 25)]);
        assert_eq!(held.credit_minor(), 750);
        held.add(&Origins::drawn(UserId(4), 400, 9), true);
        let named: Vec<_> = held.origins().unwrap().named().map(|origin| (origin.user.0, origin.hops)).collect();
        assert_eq!(named, [(1, 0), (4, 1), (2, 0)], "user 3's 75 joined the rest");
        assert_eq!(held.origins().unwrap().other_minor(), 75);
        assert_eq!(held.take(1_900, 1_900).credit_minor(), 1_150, "all of it leaves with all the money");
        assert_eq!(held, Provenance::default(), "and the allocation goes with it");
    }
}
