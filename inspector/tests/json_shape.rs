//! The shape of `ocitop --json` is pinned per format version: every key path with the JSON
//! types its values take, over the recorded trees. A change of shape without a bump of
//! `SNAPSHOT_VERSION` fails here; a bump needs `tests/json_shape/v<N>.txt` for the new shape
//! (the old files stay: what each version was).
//!
//! To make the file for a new version: `OCITOP_WRITE_SHAPE=1 cargo test -p ocitop --test
//! json_shape`.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::{Collector, Roots};
use ocitop::model::SNAPSHOT_VERSION;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

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

/// Every path in `v` with the types found there; map keys that are data (annotations,
/// namespaces by kind, cgroup paths by controller) are one `{}` path.
fn walk(v: &Value, path: &str, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    out.entry(path.to_string()).or_default().insert(kind(v));
    match v {
        Value::Array(items) => {
            for item in items {
                walk(item, &format!("{path}[]"), out);
            }
        }
        Value::Object(map) => {
            let data_keys = ["annotations", "namespaces", "cgroup_paths", "BlockIndexMap"]
                .iter()
                .any(|k| path.ends_with(&format!(".{k}")))
                && !path.ends_with("snapshot.namespaces");
            for (k, item) in map {
                let key = if data_keys { "{}" } else { k.as_str() };
                walk(item, &format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

fn shape() -> String {
    let mut paths = BTreeMap::new();
    for scenario in ["engines", "kata-vm", "nested-ns", "ocirun-runc-created"] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/recorded")
            .join(scenario);
        let s = Collector::new(Roots {
            proc: dir.join("proc"),
            cgroup: dir.join("cgroup"),
            state: dir.join("state"),
        })
        .snapshot()
        .unwrap();
        walk(&serde_json::to_value(&s).unwrap(), "snapshot", &mut paths);
    }
    paths
        .into_iter()
        .map(|(p, kinds)| format!("{p}: {}\n", kinds.into_iter().collect::<Vec<_>>().join("|")))
        .collect()
}

#[test]
fn the_json_shape_is_the_one_of_its_version() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/json_shape")
        .join(format!("v{SNAPSHOT_VERSION}.txt"));
    let now = shape();
    if std::env::var_os("OCITOP_WRITE_SHAPE").is_some() {
        std::fs::write(&file, &now).unwrap();
    }
    let pinned = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "{} is missing: a new SNAPSHOT_VERSION needs its shape (see this file's doc)",
            file.display()
        )
    });
    assert!(
        pinned == now,
        "the JSON shape changed: bump SNAPSHOT_VERSION (and document the change), then write \
         {} for it.\n--- pinned\n+++ now\n{}",
        file.display(),
        diff(&pinned, &now)
    );
}

fn diff(a: &str, b: &str) -> String {
    let a: BTreeSet<&str> = a.lines().collect();
    let b: BTreeSet<&str> = b.lines().collect();
    let mut out = String::new();
    for l in a.difference(&b) {
        out.push_str(&format!("-{l}\n"));
    }
    for l in b.difference(&a) {
        out.push_str(&format!("+{l}\n"));
    }
    out
}
