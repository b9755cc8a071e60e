//! Programs evaluated together over the same event, sharing their first tests.
//!
//! Most rules of an event kind open with the same test (`event.credit_minor > 0`): a [`Batch`]
//! groups the programs whose first `&&` term is the same test that cannot fail, evaluates it once
//! per group, and goes on to each member's remaining terms only when it holds. Tests have no
//! effects and cannot fail, so grouping changes no result.

use crate::program::Guard;
use crate::{EvalError, Features, Program};

/// The most programs a batch holds (one bit each in [`Fired`]).
pub const BATCH_MAX: usize = 256;

/// Which programs of a batch fired: bit `i` for the batch's `i`-th program.
pub type Fired = [u64; BATCH_MAX / 64];

/// Programs to evaluate together, in the order given.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    groups: Vec<Group>,
}

/// Programs sharing a first test, each as its remaining terms, with its index in the batch.
#[derive(Clone, Debug)]
struct Group {
    guard: Option<Guard>,
    members: Vec<(usize, Program)>,
}

impl Batch {
    /// A batch of `programs` (at most [`BATCH_MAX`]; the rest are left out).
    pub fn new<'a>(programs: impl IntoIterator<Item = &'a Program>) -> Batch {
        let mut groups: Vec<Group> = Vec::new();
        for (index, program) in programs.into_iter().enumerate().take(BATCH_MAX) {
            let Some((first, rest)) = program.split_first() else {
                groups.push(Group { guard: None, members: vec![(index, program.clone())] });
                continue;
            };
            let shared = |group: &&mut Group| group.guard.as_ref().is_some_and(|guard| guard.is(&first));
            match groups.iter_mut().find(shared) {
                Some(group) => group.members.push((index, rest)),
                None => groups.push(Group { guard: Some(Guard::new(first)), members: vec![(index, rest)] }),
            }
        }
        Batch { groups }
    }

    /// Evaluates every program; a program whose evaluation errs does not fire.
    #[inline(always)]
    pub fn fired<F: Features + ?Sized>(&self, features: &mut F) -> Fired {
        let mut fired = [0; BATCH_MAX / 64];
        for group in &self.groups {
            if group.guard.as_ref().is_some_and(|guard| !guard.holds(features)) {
                continue;
            }
            for (index, program) in &group.members {
                if program.evaluate(features) == Ok::<bool, EvalError>(true) {
                    fired[index / 64] |= 1 << (index % 64);
                }
            }
        }
        fired
    }
}

/// Whether program `index` fired.
pub fn has_fired(fired: &Fired, index: usize) -> bool {
    fired.get(index / 64).is_some_and(|word| word & (1 << (index % 64)) != 0)
}
