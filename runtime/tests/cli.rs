//! The command line's fixed outputs: `--version` like runc, `features` and `state` valid
//! against the spec's JSON schemas (features.md, runtime.md "State"), `spec` like runc's.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use serde_json::Value;
use std::path::{Path, PathBuf};

const SCHEMA_DIR: &str = "/work/shared/oci-runtime-spec/schema";

/// A small JSON Schema (draft-04) checker for the keywords the OCI schemas use here:
/// `$ref` (file + JSON pointer), `type`, `properties`, `required`, `items`, `enum`, `minimum`,
/// and `pattern` limited to the `^CAP_[A-Z_]+$` form.
struct Schema {
    dir: PathBuf,
}

impl Schema {
    fn load(&self, file: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join(file)).unwrap()).unwrap()
    }

    fn check(&self, file: &str, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let (f, pointer) = r.split_once('#').unwrap();
            let f = if f.is_empty() { file } else { f };
            let doc = self.load(f);
            let target = doc.pointer(pointer).unwrap().clone();
            return self.check(f, &target, value, at, errors);
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "boolean" => value.is_boolean(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {t}, got {value}"));
                return;
            }
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            if !choices.contains(value) {
                errors.push(format!("{at}: {value} not in {choices:?}"));
            }
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) {
            if n < min {
                errors.push(format!("{at}: {n} < {min}"));
            }
        }
        if let (Some(p), Some(s)) = (
            schema.get("pattern").and_then(Value::as_str),
            value.as_str(),
        ) {
            assert_eq!(p, "^CAP_[A-Z_]+$", "pattern not supported by this checker");
            let ok = s.strip_prefix("CAP_").is_some_and(|r| {
                !r.is_empty() && r.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            });
            if !ok {
                errors.push(format!("{at}: {s} does not match {p}"));
            }
        }
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = key.as_str().unwrap();
            if value.get(key).is_none() {
                errors.push(format!("{at}: missing required {key}"));
            }
        }
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            value.as_object(),
        ) {
            for (k, v) in obj {
                if let Some(s) = props.get(k) {
                    self.check(file, s, v, &format!("{at}.{k}"), errors);
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.check(file, items, v, &format!("{at}[{i}]"), errors);
            }
        }
    }

    fn validate(file: &str, value: &Value) -> Vec<String> {
        let schema = Schema {
            dir: PathBuf::from(SCHEMA_DIR),
        };
        let root = schema.load(file);
        let mut errors = Vec::new();
        schema.check(file, &root, value, "", &mut errors);
        errors
    }
}

fn have_schemas() -> bool {
    let ok = Path::new(SCHEMA_DIR).join("features-schema.json").is_file();
    if !ok {
        eprintln!("skipped: needs the spec schemas in {SCHEMA_DIR}");
    }
    ok
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
    if !have_schemas() {
        return;
    }
    let oci = Ocirun::new();
    let features: Value = serde_json::from_str(&oci.ok(["features"])).unwrap();
    let errors = Schema::validate("features-schema.json", &features);
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
    if !have_schemas() {
        return;
    }
    let bad = serde_json::json!({"ociVersionMin": 1, "linux": {"namespaces": ["pidd"], "capabilities": ["chown"]}});
    let errors = Schema::validate("features-schema.json", &bad);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn state_validates_against_the_schema_in_every_status() {
    if !have_schemas() || !is_root() {
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
        let errors = Schema::validate("state-schema.json", &state);
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
