//! The output of `state`, held against runtime.md "State" and the spec's
//! `schema/state-schema.json` (vendored in fixtures/runtime-spec).

use super::{cite, Refs};
use crate::verdict::{Check, Status};
use serde_json::Value;

/// What a `state` call should show.
pub struct Expected<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub bundle: &'a str,
    /// The config's annotations (the state's, when present, must be them).
    pub annotations: Option<&'a Value>,
}

/// Checks the state JSON; returns the checks and the pid it reported.
pub fn check(stdout: &str, want: &Expected, refs: Refs) -> (Vec<Check>, Option<i32>) {
    let mut out = Vec::new();
    let state: Value = match serde_json::from_str(stdout) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let shown: String = stdout.chars().take(200).collect();
            out.push(Check::with(
                "state prints a JSON object",
                Status::Fail,
                refs.all(&[cite::QUERY_STATE_RETURNS, cite::STATE_SCHEMA]),
                "a JSON object",
                shown,
            ));
            return (out, None);
        }
    };
    // runtime.md "State": the state MUST adhere to the spec's JSON schema (the vendored
    // schema/state-schema.json, validated as draft-04).
    let violations = runtime_spec::validate(runtime_spec::Schema::State, &state)
        .err()
        .unwrap_or_default();
    out.push(Check::with(
        "state validates against schema/state-schema.json",
        if violations.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        refs.ids(cite::STATE_SCHEMA),
        "no violation",
        violations.join("; "),
    ));
    out.push(Check::compare(
        "state.ociVersion present",
        refs.ids(cite::STATE_OCI_VERSION),
        true,
        state["ociVersion"].is_string(),
    ));
    out.push(Check::compare(
        "state.id",
        refs.ids(cite::STATE_ID),
        Some(want.id),
        state["id"].as_str(),
    ));
    out.push(Check::compare(
        "state.status",
        refs.all(&[cite::STATE_STATUS, cite::QUERY_STATE_RETURNS]),
        Some(want.status),
        state["status"].as_str(),
    ));
    out.push(Check::compare(
        "state.bundle is the absolute bundle path",
        refs.ids(cite::STATE_BUNDLE),
        Some(want.bundle),
        state["bundle"].as_str(),
    ));
    let pid = state["pid"].as_i64().and_then(|p| i32::try_from(p).ok());
    if matches!(want.status, "created" | "running") {
        out.push(Check::with(
            format!("state.pid present when {}", want.status),
            if pid.is_some_and(|p| p > 0) {
                Status::Pass
            } else {
                Status::Fail
            },
            refs.ids(cite::STATE_PID),
            "a positive pid",
            format!("{:?}", state.get("pid")),
        ));
    }
    if let (Some(a), Some(want_a)) = (state.get("annotations"), want.annotations) {
        if !a.is_null() && want_a.as_object().is_some_and(|m| !m.is_empty()) {
            out.push(Check::compare(
                "state.annotations are the config's",
                refs.ids(cite::QUERY_STATE_RETURNS),
                want_a,
                a,
            ));
        }
    }
    (out, pid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::requirements::Catalogue;

    #[test]
    fn a_good_state_passes_and_a_wrong_status_fails() {
        let cat = Catalogue::default();
        let refs = Refs { catalogue: &cat };
        let want = Expected {
            id: "c1",
            status: "created",
            bundle: "/b",
            annotations: None,
        };
        let good = r#"{"ociVersion":"1.0.2","id":"c1","status":"created","pid":42,"bundle":"/b"}"#;
        let (checks, pid) = check(good, &want, refs);
        assert_eq!(pid, Some(42));
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:#?}"
        );
        let bad = r#"{"ociVersion":"1.0.2","id":"c1","status":"running","bundle":"/b"}"#;
        let (checks, pid) = check(bad, &want, refs);
        assert_eq!(pid, None);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.what.as_str())
            .collect();
        assert_eq!(
            failed,
            vec!["state.status", "state.pid present when created"]
        );
        let (checks, _) = check("not json", &want, refs);
        assert_eq!(checks[0].status, Status::Fail);
        // A status outside the schema's enum, a bundle that is not a string: the schema says so.
        let off = r#"{"ociVersion":"1.0.2","id":"c1","status":"up","pid":42,"bundle":7}"#;
        let (checks, _) = check(off, &want, refs);
        let schema = checks.iter().find(|c| c.what.contains("schema")).unwrap();
        assert_eq!(schema.status, Status::Fail);
        assert!(schema.observed.contains("/status"), "{}", schema.observed);
        assert!(schema.observed.contains("/bundle"), "{}", schema.observed);
    }
}
