//! Ties between accounts: a shared device, phone, identity, bank card or payout account links
//! users and merchants into a group, so "accounts tied to X" is the members of X's group.
//!
//! Groups merge as ties are linked (the smaller into the larger) and never split: a tie, once
//! seen, is history. Both lists are bounded: a tie remembers at most [`TIE_PARTIES_MAX`] parties
//! and a group holds at most [`GROUP_MAX`] members (a tie shared that widely — a public device —
//! stops merging groups but still counts towards `device.accounts`).

use crate::Risk;
use ledger::Ledger;
use ledger::table::Map;
use model::Rejection;
use model::UserId;
use model::risk::{Party, Tie, TieKind};

/// The most parties one tie remembers.
pub const TIE_PARTIES_MAX: usize = 64;
/// The most members one group holds.
pub const GROUP_MAX: usize = 64;

/// The tie graph.
#[derive(Default)]
pub(crate) struct Ties {
    /// Parties by tie, in the order they linked.
    pub(crate) parties: Map<Tie, Vec<Party>>,
    /// Members by group id − 1; a group merged into another is left empty.
    pub(crate) groups: Vec<Vec<Party>>,
}

impl Risk {
    /// The group of a party: 0 when it is in none (or unknown).
    pub fn group_of(&self, ledger: &Ledger, party: Party) -> u32 {
        match party {
            Party::User(user) => ledger.user_slot(user).map_or(0, |slot| self.users[slot as usize].group),
            Party::Merchant(merchant) => {
                ledger.merchant_slot(merchant).map_or(0, |slot| self.merchants[slot as usize].group)
            }
        }
    }

    fn set_group(&mut self, ledger: &Ledger, party: Party, group: u32) {
        match party {
            Party::User(user) => {
                let slot = ledger.user_slot(user).expect("tied users are open") as usize;
                self.users[slot].group = group;
            }
            Party::Merchant(merchant) => {
                let slot = ledger.merchant_slot(merchant).expect("tied merchants are open") as usize;
                self.merchants[slot].group = group;
            }
        }
    }

    /// Members of the party's group, or just the party when it has none.
    pub fn tied_parties(&self, ledger: &Ledger, party: Party) -> &[Party] {
        match self.group_of(ledger, party) {
            0 => &[],
            group => &self.ties.groups[group as usize - 1],
        }
    }

    /// Whether two parties are the same or tied.
    pub fn tied(&self, ledger: &Ledger, left: Party, right: Party) -> bool {
        let group = self.group_of(ledger, left);
        left == right || (group != 0 && group == self.group_of(ledger, right))
    }

    /// Refuses a tie to a party that is not open.
    pub fn check_tie(ledger: &Ledger, party: Party) -> Result<(), Rejection> {
        match party {
            Party::User(user) => ledger.user_slot(user).map(drop).ok_or(Rejection::UnknownUser),
            Party::Merchant(merchant) => ledger.merchant_slot(merchant).map(drop).ok_or(Rejection::UnknownMerchant),
        }
    }

    /// Links a tie to an open user or merchant ([`Risk::check_tie`] passed); a user's new device
    /// or changed binding is recorded for the takeover features.
    pub fn link_tie(&mut self, ledger: &Ledger, now_ms: u64, party: Party, tie: Tie) {
        let known = self.ties.parties.get(&tie).is_some_and(|parties| parties.contains(&party));
        if known {
            return;
        }
        if let Party::User(user) = party
            && tie.kind.is_binding()
        {
            self.note_binding(ledger, now_ms, user, tie);
        }
        let parties = self.ties.parties.get_or_default(tie);
        let first = parties.first().copied();
        if parties.len() < TIE_PARTIES_MAX {
            parties.push(party);
        }
        if tie.kind == TieKind::Device {
            self.count_device_accounts(ledger, tie);
        }
        if let Some(other) = first.filter(|_| tie.kind.ties_accounts()) {
            self.join(ledger, party, other);
        }
    }

    fn note_binding(&mut self, ledger: &Ledger, now_ms: u64, user: UserId, tie: Tie) {
        let slot = ledger.user_slot(user).expect("tied users are open") as usize;
        let risk = &mut self.users[slot];
        let bit = 1u8 << (tie.kind as u8);
        if risk.bound_kinds & bit != 0 {
            match tie.kind {
                TieKind::Device => risk.new_device_at_ms = Some(now_ms),
                _ => risk.binding_changed_at_ms = Some(now_ms),
            }
        }
        risk.bound_kinds |= bit;
        if tie.kind == TieKind::Device {
            risk.device = Some(tie.token);
        }
    }

    /// Tells every user whose latest device is `tie` how many accounts share it.
    fn count_device_accounts(&mut self, ledger: &Ledger, tie: Tie) {
        let Some(parties) = self.ties.parties.get(&tie) else { return };
        let accounts = parties.len() as u16;
        for party in parties {
            if let Party::User(user) = party
                && let Some(slot) = ledger.user_slot(*user)
            {
                let risk = &mut self.users[slot as usize];
                if risk.device == Some(tie.token) {
                    risk.device_accounts = accounts;
                }
            }
        }
    }

    /// Puts two parties in one group, unless that would exceed [`GROUP_MAX`].
    fn join(&mut self, ledger: &Ledger, left: Party, right: Party) {
        let (left_group, right_group) = (self.group_of(ledger, left), self.group_of(ledger, right));
        match (left_group, right_group) {
            (0, 0) => {
                self.ties.groups.push(vec![left, right]);
                let group = self.ties.groups.len() as u32;
                self.set_group(ledger, left, group);
                self.set_group(ledger, right, group);
            }
            (0, group) | (group, 0) => {
                let members = &mut self.ties.groups[group as usize - 1];
                if members.len() < GROUP_MAX {
                    members.push(if left_group == 0 { left } else { right });
                    self.set_group(ledger, if left_group == 0 { left } else { right }, group);
                }
            }
            (left_group, right_group) if left_group != right_group => {
                let size = |group: u32| self.ties.groups[group as usize - 1].len();
                if size(left_group) + size(right_group) > GROUP_MAX {
                    return;
                }
                let (into, from) = if size(left_group) >= size(right_group) {
                    (left_group, right_group)
                } else {
                    (right_group, left_group)
                };
                let moved = std::mem::take(&mut self.ties.groups[from as usize - 1]);
                for member in &moved {
                    self.set_group(ledger, *member, into);
                }
                self.ties.groups[into as usize - 1].extend(moved);
            }
            _ => {}
        }
    }

    /// Whether a tie belongs to the party or to an account tied to it.
    pub fn tie_belongs_to(&self, ledger: &Ledger, tie: Tie, party: Party) -> bool {
        let Some(parties) = self.ties.parties.get(&tie) else { return false };
        parties.iter().any(|owner| self.tied(ledger, party, *owner))
    }
}

impl Risk {
    /// Each tie group lists exactly the accounts whose group field names it, within its bound.
    pub(crate) fn check_ties(&self, ledger: &Ledger) -> Result<(), String> {
        for (index, members) in self.ties.groups.iter().enumerate() {
            let group = index as u32 + 1;
            if members.len() > GROUP_MAX {
                return Err(format!("tie group {group} has {} members", members.len()));
            }
            if let Some(member) = members.iter().find(|member| self.group_of(ledger, **member) != group) {
                let found = self.group_of(ledger, *member);
                return Err(format!("tie group {group} lists {member:?}, whose group is {found}"));
            }
        }
        let grouped = self.users.iter().map(|user| user.group).chain(self.merchants.iter().map(|m| m.group));
        let listed: usize = self.ties.groups.iter().map(Vec::len).sum();
        match grouped.filter(|group| *group != 0).count() == listed {
            true => Ok(()),
            false => Err(format!("{listed} accounts listed in tie groups, a different number carry a group")),
        }
    }
}
