//! Cases and appeals, and the commands parked for a step-up verification.
//!
//! A case opens when a decision holds a command for review (or refuses it with account actions
//! the user may appeal); an analyst's verdict closes it, and an appeal reopens it. What a
//! verdict lets through is the engine's to run: this module says what was held and settles the
//! account actions.

use crate::decide::Accounts;
use crate::{KEPT, Risk, in_force};
use ledger::Ledger;
use model::risk::{
    APPEALS_MAX, Appeal, Case, CaseStatus, Decision, Evidence, Held, Label, Parked, Party, appeal_within_bounds,
};
use model::{ActorId, CommandId, CommandKind, Rejection, UserId};

impl Risk {
    /// Opens a case under the id of the command it is about.
    pub fn open_case(&mut self, id: CommandId, (party, held): (Party, Held), decision: Decision, at: (u64, ActorId)) {
        let (opened_at_ms, opened_by) = at;
        let case = Case {
            party,
            opened_at_ms,
            decision,
            held,
            status: CaseStatus::Open,
            label: None,
            appeals: Vec::new(),
            decided_at_ms: None,
            opened_by,
            decided_by: None,
            assigned_to: None,
        };
        self.cases.insert(id, case);
    }

    /// Whether an open case holds this payment or authorization: then only its decision may
    /// capture or release it (a merchant capturing a payment held for review is what must fail).
    pub fn held_by_open_case(&self, authorization: CommandId) -> bool {
        self.cases.get(&authorization).is_some_and(|case| {
            case.status == CaseStatus::Open && matches!(case.held, Held::Payment { .. } | Held::Authorization { .. })
        })
    }

    /// An open case's party and what it holds, for a verdict.
    pub fn open_case_for_verdict(&self, id: CommandId) -> Result<(Party, Held), Rejection> {
        let case = self.cases.get(&id).ok_or(Rejection::UnknownCase)?;
        if case.status != CaseStatus::Open {
            return Err(Rejection::CaseClosed);
        }
        Ok((case.party, case.held.clone()))
    }

    /// Closes an open case with an analyst's verdict, once what it held was let through or
    /// dropped: approval lifts the case's account actions still in force; confirmed fraud keeps
    /// them until lifted by hand. `slot` is the case's user's, when it has one.
    pub fn close_case(
        &mut self,
        id: CommandId,
        (approve, label): (bool, Label),
        (slot, accounts): (Option<usize>, &mut Accounts<'_>),
        actor: ActorId,
    ) {
        if let Some(slot) = slot {
            for action in self.cases[&id].decision.actions.clone() {
                match (approve, label) {
                    // An action already lifted by hand (or lapsed) stays lifted.
                    (true, _) => {
                        self.lift_in_force(accounts, slot, action);
                    }
                    // Confirmed fraud: what is still in force stays until lifted.
                    (false, Label::Fraud(_)) if in_force(&self.users[slot], action) => {
                        self.set_lapse(slot, action, KEPT)
                    }
                    (false, _) => {}
                }
            }
        }
        let case = self.cases.get_mut(&id).expect("the case was checked to be open");
        case.status = if approve { CaseStatus::Approved } else { CaseStatus::Rejected };
        case.label = Some(label);
        case.held = Held::Nothing;
        case.decided_at_ms = Some(accounts.now_ms);
        case.decided_by = Some(actor);
    }

    /// Refuses an appeal of an unknown case, out of bounds, or past [`APPEALS_MAX`].
    pub fn check_appeal(&self, id: CommandId, (evidence, text): (&[Evidence], &str)) -> Result<(), Rejection> {
        let case = self.cases.get(&id).ok_or(Rejection::UnknownCase)?;
        match !appeal_within_bounds(evidence, text) || case.appeals.len() >= APPEALS_MAX {
            true => Err(Rejection::InvalidAppeal),
            false => Ok(()),
        }
    }

    /// A user's checked appeal ([`Risk::check_appeal`]): evidence and text attached to the
    /// case, which reopens if decided.
    pub fn appeal_case(&mut self, id: CommandId, (evidence, text): (&[Evidence], &str), at: (u64, ActorId)) {
        let case = self.cases.get_mut(&id).expect("checked: the case exists");
        assert!(case.appeals.len() < APPEALS_MAX, "checked: the case takes another appeal");
        let (at_ms, filed_by) = at;
        case.appeals.push(Appeal { at_ms, filed_by, evidence: evidence.to_vec(), text: text.to_owned() });
        case.status = CaseStatus::Open;
    }

    /// Refuses assigning a case that does not exist or is decided.
    pub fn check_assignment(&self, id: CommandId) -> Result<(), Rejection> {
        self.open_case_for_verdict(id).map(drop)
    }

    /// Gives a checked open case ([`Risk::check_assignment`]) to an analyst, or to no one.
    pub fn assign_case(&mut self, id: CommandId, to: Option<ActorId>) {
        let case = self.cases.get_mut(&id).expect("checked: the case exists");
        assert_eq!(case.status, CaseStatus::Open, "checked: the case is open");
        case.assigned_to = to;
    }

    /// Parks a challenged command until its user verifies or it expires; the caller checked the
    /// id is new. Returns when it expires.
    pub fn park(
        &mut self,
        ledger: &mut Ledger,
        id: CommandId,
        (user, kind): (UserId, &CommandKind),
        now_ms: u64,
    ) -> u64 {
        let expires_at_ms = now_ms.saturating_add(self.challenge_ttl_ms());
        let fresh = ledger.schedule(expires_at_ms, id);
        assert!(fresh, "parked command {id:?} was checked to be new");
        self.parked.insert(id, Parked { user, kind: kind.clone(), expires_at_ms });
        expires_at_ms
    }

    /// The user's parked command `id`, refused when it is not theirs or has lapsed at `now_ms`.
    pub fn check_unpark(&self, user: UserId, id: CommandId, now_ms: u64) -> Result<&Parked, Rejection> {
        let parked = self.parked.get(&id).filter(|parked| parked.user == user).ok_or(Rejection::UnknownChallenge)?;
        match parked.expires_at_ms <= now_ms {
            true => Err(Rejection::ChallengeExpired),
            false => Ok(parked),
        }
    }

    /// Takes a parked command out for running, once its user passed the verification
    /// ([`Risk::check_unpark`] passed).
    pub fn unpark(&mut self, ledger: &mut Ledger, id: CommandId) -> Parked {
        let parked = self.parked.remove(&id).expect("checked: the command is parked");
        ledger.unschedule(parked.expires_at_ms, id);
        parked
    }

    /// Drops a lapsed parked command (from the expiry queue).
    pub fn drop_parked(&mut self, ledger: &mut Ledger, id: CommandId) {
        if let Some(parked) = self.parked.remove(&id) {
            ledger.unschedule(parked.expires_at_ms, id);
        }
    }
}
