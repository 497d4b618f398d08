//! The command line's fixed outputs: `--version` like runc, `features` and `state` valid
//! against the spec's JSON schemas (features.md, runtime.md "State"), `spec` like runc's.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use runtime_spec::Schema;
use serde_json::Value;

/// `value` against the vendored spec's schema (fixtures/runtime-spec: runtime-spec v1.3.0's own
/// JSON schemas, validated by the `jsonschema` crate): the violations, each with its JSON pointer.
fn violations(schema: Schema, value: &Value) -> Vec<String> {
    runtime_spec::validate(schema, value)
        .err()
        .unwrap_or_default()
}

#[test]
fn version_is_printed_like_runc() {
    let oci = Ocirun::new();
    for flag in ["--version", "-v"] {
        let out = oci.ok([flag]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ocirun version "), "{out}");
        assert_eq!(lines[1], "spec: 1.3.0");
    }
}

#[test]
fn features_validate_against_the_schema() {
    let oci = Ocirun::new();
    let features: Value = serde_json::from_str(&oci.ok(["features"])).unwrap();
    let errors = violations(Schema::Features, &features);
    assert!(errors.is_empty(), "{errors:#?}");
    // features.md: the runtime MUST accept both versions as ociVersion.
    for key in ["ociVersionMin", "ociVersionMax"] {
        let config = Config::new().oci_version(features[key].as_str().unwrap());
        ocirun::spec::parse(&serde_json::to_vec(config.value()).unwrap()).unwrap();
    }
    let namespaces = features["linux"]["namespaces"].as_array().unwrap();
    assert_eq!(namespaces.len(), 8);
    assert_eq!(features["hooks"].as_array().unwrap().len(), 6);
}

#[test]
fn the_checker_catches_violations() {
    let bad = serde_json::json!({"ociVersionMin": 1, "linux": {"namespaces": ["pidd"], "capabilities": ["chown"]}});
    let errors = violations(Schema::Features, &bad);
    // ociVersionMin's type, the missing ociVersionMax, the namespace and the capability.
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn state_validates_against_the_schema_in_every_status() {
    if !is_root() {
        eprintln!("skipped: needs root (creating a container)");
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(
        &Config::probe(&["pause"]).set("/annotations", serde_json::json!({"com.example.k": "v"})),
    )
    .unwrap();
    let id = unique_id("schema");
    let _guard = oci.create(bundle.path(), &id);
    let check = |status: &str| {
        let state = oci.state(&id);
        assert_eq!(state["status"], status);
        let errors = violations(Schema::State, &state);
        assert!(errors.is_empty(), "{status}: {errors:#?}");
        state
    };
    let created = check("created");
    assert_eq!(created["annotations"]["com.example.k"], "v");
    oci.ok(["start", &id]);
    let pid = check("running")["pid"].as_i64().unwrap() as i32;
    oci.ok(["kill", &id, "KILL"]);
    assert!(common::wait_exit(pid));
    check("stopped");
}

#[test]
fn spec_writes_runcs_default_and_refuses_to_overwrite() {
    let oci = Ocirun::new();
    let dir = tempfile::tempdir().unwrap();
    oci.ok(["spec".as_ref(), "--bundle".as_ref(), dir.path().as_os_str()]);
    let text = std::fs::read(dir.path().join("config.json")).unwrap();
    let spec = ocirun::spec::parse(&text).unwrap();
    assert_eq!(
        spec.process().as_ref().unwrap().args().as_ref().unwrap(),
        &["sh"]
    );
    assert_eq!(spec.process().as_ref().unwrap().terminal(), Some(true));
    let out = oci.out(["spec".as_ref(), "--bundle".as_ref(), dir.path().as_os_str()]);
    assert!(!out.status.success());
    assert!(common::stderr(&out).contains("config.json: file exists"));

    let dir = tempfile::tempdir().unwrap();
    oci.ok([
        "spec".as_ref(),
        "--rootless".as_ref(),
        "-b".as_ref(),
        dir.path().as_os_str(),
    ]);
    let value: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(value["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["type"] == "user"));
    assert!(value["linux"]["uidMappings"][0]["hostID"].is_number());
}

#[test]
fn runc_global_flags_are_accepted() {
    let oci = Ocirun::new();
    let out = oci.out([
        "--systemd-cgroup",
        "--rootless",
        "false",
        "--criu",
        "/x",
        "--debug",
        "list",
        "-q",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
}
