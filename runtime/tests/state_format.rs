//! ocirun's `state.json` is a format other tools read (ocitop, via the recorded trees in
//! fixtures/recorded). This pins it from the writer's side: the recorded files still load,
//! and a fresh state.json has the recorded keys with the same JSON types.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use serde_json::Value;
use std::path::PathBuf;

fn recorded() -> Vec<PathBuf> {
    let dir =
        fixtures::workspace_root().join("fixtures/recorded/ocirun-runc-created/state/run/ocirun");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path().join("state.json")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn recorded_states_still_load() {
    let files = recorded();
    if files.is_empty() {
        eprintln!("skipped: no recorded ocirun state in fixtures/recorded");
        return;
    }
    for file in files {
        let state: ocirun::state::State =
            serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert!(state.init_start_time > 0, "{}", file.display());
    }
}

#[test]
fn fresh_state_has_the_recorded_keys_and_types() {
    let files = recorded();
    if files.is_empty() {
        eprintln!("skipped: no recorded ocirun state in fixtures/recorded");
        return;
    }
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("format");
    let _guard = oci.create(bundle.path(), &id);
    let fresh: Value =
        serde_json::from_slice(&std::fs::read(oci.state_dir(&id).join("state.json")).unwrap())
            .unwrap();
    let golden: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    for (key, value) in golden.as_object().unwrap() {
        let ours = fresh
            .get(key)
            .unwrap_or_else(|| panic!("state.json lost the key {key}"));
        assert_eq!(kind(ours), kind(value), "{key}");
    }
    assert_eq!(fresh["status"], "created");
    assert!(oci.state_dir(&id).join("exec.fifo").exists());
}

/// Issue: state.json said `created` for a running container, so readers of the state dir
/// (ocitop) showed "running (state file: created)". The saved status follows start, pause
/// and resume.
#[test]
fn the_saved_status_follows_the_container() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("saved-status");
    let _guard = oci.create(bundle.path(), &id);
    let saved = || -> String {
        let v: Value =
            serde_json::from_slice(&std::fs::read(oci.state_dir(&id).join("state.json")).unwrap())
                .unwrap();
        v["status"].as_str().unwrap().to_string()
    };
    assert_eq!(saved(), "created");
    oci.ok(["start", &id]);
    assert_eq!(saved(), "running");
    oci.ok(["pause", &id]);
    assert_eq!(saved(), "paused");
    oci.ok(["resume", &id]);
    assert_eq!(saved(), "running");
    assert_eq!(oci.status(&id), "running");
}
