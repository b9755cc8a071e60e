//! Programs evaluated together over the same event, sharing their first tests.
//!
//! Most rules of an event kind open with the same test (`event.credit_minor > 0`): a [`Batch`]
//! groups the programs whose first `&&` term is the same test that cannot fail, evaluates it once
//! per group, and goes on to the members' remaining terms only when it holds — grouped again by
//! their own first test, so rules sharing a longer prefix evaluate all of it once. Tests have no
//! effects and cannot fail, so grouping changes no result.

use crate::program::{Guard, Node};
use crate::{Features, Program};

/// The most programs a batch holds (one bit each in [`Fired`]).
pub const BATCH_MAX: usize = 256;

/// Which programs of a batch fired: bit `i` for the batch's `i`-th program.
pub type Fired = [u64; BATCH_MAX / 64];

/// Programs to evaluate together, in the order given.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    groups: Vec<Group>,
}

/// Programs sharing a first test (or one program without a shareable one).
#[derive(Clone, Debug)]
struct Group {
    guard: Option<Guard>,
    members: Members,
}

/// What a group evaluates once its guard holds.
#[derive(Clone, Debug)]
enum Members {
    /// One program (its index in the batch), whole or as its remaining terms.
    One(usize, Program),
    /// Several programs' remaining terms, grouped again by their own first test.
    Many(Vec<Group>),
}

/// A program with its index in the batch.
type Numbered = (usize, Program);

/// Groups `programs` by first test, in order of first appearance, and the remaining terms of
/// each group's programs again.
fn group(programs: Vec<Numbered>) -> Vec<Group> {
    let mut buckets: Vec<(Option<Node>, Vec<Numbered>)> = Vec::new();
    for (index, program) in programs {
        let Some((first, rest)) = program.split_first() else {
            buckets.push((None, vec![(index, program)]));
            continue;
        };
        match buckets.iter_mut().find(|(guard, _)| guard.as_ref() == Some(&first)) {
            Some((_, members)) => members.push((index, rest)),
            None => buckets.push((Some(first), vec![(index, rest)])),
        }
    }
    buckets
        .into_iter()
        .map(|(guard, mut members)| {
            let members = match members.len() {
                1 => {
                    let (index, program) = members.pop().expect("one member");
                    Members::One(index, program)
                }
                _ => Members::Many(group(members)),
            };
            Group { guard: guard.map(Guard::new), members }
        })
        .collect()
}

/// Sets the bit of every program of `groups` that fires.
fn fire<F: Features + ?Sized>(groups: &[Group], features: &mut F, fired: &mut Fired) {
    for group in groups {
        if group.guard.as_ref().is_some_and(|guard| !guard.holds(features)) {
            continue;
        }
        match &group.members {
            Members::One(index, program) => {
                if matches!(program.evaluate(features), Ok(true)) {
                    fired[index / 64] |= 1 << (index % 64);
                }
            }
            Members::Many(inner) => fire(inner, features, fired),
        }
    }
}

impl Batch {
    /// A batch of `programs` (at most [`BATCH_MAX`]; the rest are left out).
    pub fn new<'a>(programs: impl IntoIterator<Item = &'a Program>) -> Batch {
        let programs = programs.into_iter().take(BATCH_MAX).cloned().enumerate().collect();
        Batch { groups: group(programs) }
    }

    /// Evaluates every program; a program whose evaluation errs does not fire.
    pub fn fired<F: Features + ?Sized>(&self, features: &mut F) -> Fired {
        let mut fired = [0; BATCH_MAX / 64];
        fire(&self.groups, features, &mut fired);
        fired
    }
}

/// The indices of the programs that fired, in ascending order (none at all costs a look at each
/// word, not one per program).
pub fn fired_indices(fired: &Fired) -> impl Iterator<Item = usize> + '_ {
    fired.iter().enumerate().flat_map(|(word_index, word)| {
        let mut bits = *word;
        std::iter::from_fn(move || {
            let bit = bits.trailing_zeros();
            (bits != 0).then(|| {
                bits &= bits - 1;
                word_index * 64 + bit as usize
            })
        })
    })
}
