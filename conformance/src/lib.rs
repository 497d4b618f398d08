//! The conformance suite: a declarative, spec-derived judge of any OCI runtime binary.
//!
//! Data in, verdicts out: the requirements catalogue (`requirements/`, made from the spec), the
//! cases (`cases/<area>/*.toml`), a runner that drives a runtime only through runc's command
//! line, generic checks that hold every config field against what the probe saw from inside
//! and what `/proc` shows from outside, and reporters (terminal, JSON, JUnit, TAP, Markdown
//! matrix, baseline gate).

pub mod bundle;
pub mod case;
pub mod checks;
pub mod console;
pub mod embedded;
pub mod leaks;
pub mod merge;
pub mod mutants;
pub mod observe;
pub mod report;
pub mod requirements;
pub mod runner;
pub mod runtime;
pub mod suite;
pub mod verdict;
