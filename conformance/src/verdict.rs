//! Verdicts: what a check, a case and a requirement come to, and what a run produced.

use serde::{Deserialize, Serialize};

/// Ordered from best to worst, so `max` is "the worst of".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The runtime did what the requirement says.
    Pass,
    /// Not judged, with the reason (kernel lacks it, not root, the runtime's `features` says
    /// unsupported).
    Skip,
    /// The environment or the case is broken, not the runtime.
    Error,
    /// The runtime did not do what the requirement says.
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skip => "skip",
            Status::Error => "error",
            Status::Fail => "fail",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One judged observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, e.g. `process.cwd` or `start returns success`.
    pub what: String,
    pub status: Status,
    /// Requirement ids the observation counts for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed: String,
}

impl Check {
    pub fn pass(what: impl Into<String>, requirements: Vec<String>) -> Self {
        Check {
            what: what.into(),
            status: Status::Pass,
            requirements,
            expected: String::new(),
            observed: String::new(),
        }
    }

    /// Pass when `expected == observed`, fail otherwise, keeping both for the report.
    pub fn compare<E, O>(
        what: impl Into<String>,
        requirements: Vec<String>,
        expected: E,
        observed: O,
    ) -> Self
    where
        E: std::fmt::Debug + PartialEq<O>,
        O: std::fmt::Debug,
    {
        let status = if expected == observed {
            Status::Pass
        } else {
            Status::Fail
        };
        Check {
            what: what.into(),
            status,
            requirements,
            expected: format!("{expected:?}"),
            observed: format!("{observed:?}"),
        }
    }

    pub fn with(
        what: impl Into<String>,
        status: Status,
        requirements: Vec<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Self {
        Check {
            what: what.into(),
            status,
            requirements,
            expected: expected.into(),
            observed: observed.into(),
        }
    }
}

/// What one case came to against one runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: String,
    pub area: String,
    pub description: String,
    /// The requirement ids the case cites.
    pub requirements: Vec<String>,
    /// The worst of the checks (or skip/error with `reason`).
    pub status: Status,
    /// Why, for a skip, an error, or the first failing check.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub checks: Vec<Check>,
    pub millis: u64,
}

impl CaseResult {
    /// The worst check decides; the first check with that status says why.
    pub fn conclude(&mut self) {
        if let Some(worst) = self.checks.iter().map(|c| c.status).max() {
            if worst >= self.status {
                self.status = worst;
                if self.reason.is_empty() || worst > Status::Pass {
                    if let Some(c) = self.checks.iter().find(|c| c.status == worst) {
                        if worst != Status::Pass {
                            self.reason = describe(c);
                        }
                    }
                }
            }
        }
    }
}

/// `what: expected X, observed Y` (or just `what` when there is nothing to compare).
pub fn describe(c: &Check) -> String {
    match (c.expected.is_empty(), c.observed.is_empty()) {
        (true, true) => c.what.clone(),
        (false, true) => format!("{}: expected {}", c.what, c.expected),
        (true, false) => format!("{}: {}", c.what, c.observed),
        (false, false) => format!(
            "{}: expected {}, observed {}",
            c.what, c.expected, c.observed
        ),
    }
}

/// One runtime as judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// Label in reports (the binary's file name unless given as `NAME=PATH`).
    pub name: String,
    pub path: String,
    /// First line of `--version`.
    pub version: String,
    /// The ociVersion the base config used, and where it came from.
    pub oci_version: String,
    pub oci_version_source: String,
}

/// Everything one run against one runtime produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    pub runtime: RuntimeInfo,
    pub cases: Vec<CaseResult>,
    pub millis: u64,
}

/// How a case skipped for the judged ociVersion says so (see the runner's `unmet_need`).
pub const SKIPPED_FOR_VERSION: &str = "the runtime is judged on ociVersion";

impl RunResult {
    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }

    /// Cases skipped because they judge a newer spec release than the runtime was judged on.
    pub fn skipped_for_version(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.status == Status::Skip && c.reason.starts_with(SKIPPED_FOR_VERSION))
            .count()
    }
}
