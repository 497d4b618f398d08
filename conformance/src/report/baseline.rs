//! The CI gate: a baseline of verdicts per case, and the comparison that fails a run only where
//! a verdict got worse (pass → skip → error → fail).

use crate::verdict::{RunResult, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    /// The runtime the baseline was made with (informational).
    pub runtime: String,
    pub cases: BTreeMap<String, Status>,
    /// Why a case is expected to fail (a known bug of the runtime, with what the spec wants),
    /// kept by `--write-baseline` for as long as the case still fails.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

/// A verdict that moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub case: String,
    pub was: Option<Status>,
    pub now: Status,
    pub reason: String,
}

impl Baseline {
    pub fn of(run: &RunResult) -> Self {
        Baseline {
            version: 1,
            runtime: run.runtime.name.clone(),
            cases: run
                .cases
                .iter()
                .map(|c| (c.case.clone(), c.status))
                .collect(),
            notes: BTreeMap::new(),
        }
    }

    /// Keeps the notes of `previous` for the cases that still fail.
    pub fn keep_notes(mut self, previous: &Baseline) -> Self {
        for (case, note) in &previous.notes {
            if self.cases.get(case).is_some_and(|s| *s > Status::Pass) {
                self.notes.insert(case.clone(), note.clone());
            }
        }
        self
    }
}

/// Compared with the baseline: `(worse, better, new)`. Cases missing from the run (filtered
/// out) are not compared; cases missing from the baseline are new, reported but not gating.
pub fn compare(base: &Baseline, run: &RunResult) -> (Vec<Change>, Vec<Change>, Vec<Change>) {
    let (mut worse, mut better, mut new) = (vec![], vec![], vec![]);
    for c in &run.cases {
        let change = Change {
            case: c.case.clone(),
            was: base.cases.get(&c.case).copied(),
            now: c.status,
            reason: c.reason.clone(),
        };
        match change.was {
            None => new.push(change),
            Some(was) if c.status > was => worse.push(change),
            Some(was) if c.status < was => better.push(change),
            Some(_) => {}
        }
    }
    (worse, better, new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::testing;

    #[test]
    fn only_worse_verdicts_gate() {
        let before = testing::run(
            "r",
            &[
                ("a/1", Status::Pass),
                ("a/2", Status::Fail),
                ("a/3", Status::Skip),
            ],
        );
        let base = Baseline::of(&before);
        let text = serde_json::to_string(&base).unwrap();
        let base: Baseline = serde_json::from_str(&text).unwrap();
        let after = testing::run(
            "r",
            &[
                ("a/1", Status::Fail),
                ("a/2", Status::Pass),
                ("a/3", Status::Skip),
                ("a/4", Status::Fail),
            ],
        );
        let (worse, better, new) = compare(&base, &after);
        assert_eq!(worse.len(), 1);
        assert_eq!(worse[0].case, "a/1");
        assert_eq!(worse[0].was, Some(Status::Pass));
        assert_eq!(better.len(), 1);
        assert_eq!(better[0].case, "a/2");
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].case, "a/4");
    }
}
