//! Property: whatever JSON is thrown at the config parser, it never panics, and every error
//! names a JSON path (`.` for the document) and says something.
#![allow(clippy::unwrap_used)] // tests may unwrap

use proptest::prelude::*;
use serde_json::Value;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z/._-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Real config field names mixed with noise, so the parser gets past the first level.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "ociVersion",
            "root",
            "path",
            "process",
            "args",
            "cwd",
            "user",
            "uid",
            "gid",
            "linux",
            "namespaces",
            "type",
            "mounts",
            "destination",
            "hooks",
            "prestart",
            "rlimits",
            "soft",
            "hard",
            "uidMappings",
            "containerID",
            "hostID",
            "size",
            "hostname",
            "env",
            "capabilities",
            "bounding",
            "terminal",
            "timeOffsets",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z]{1,8}",
    ]
}

/// A valid config with one field replaced by arbitrary JSON.
fn mutated_config() -> impl Strategy<Value = Value> {
    let pointers = vec![
        "/ociVersion",
        "/root",
        "/root/path",
        "/process",
        "/process/args",
        "/process/user",
        "/process/user/uid",
        "/process/env",
        "/process/rlimits",
        "/process/capabilities",
        "/linux",
        "/linux/namespaces",
        "/linux/namespaces/0",
        "/linux/namespaces/0/type",
        "/mounts",
        "/mounts/0",
        "/mounts/0/options",
        "/hooks",
        "/hostname",
        "/linux/uidMappings",
        "/linux/resources",
        "/annotations",
    ];
    (prop::sample::select(pointers), any_json()).prop_map(|(pointer, value)| {
        let mut config = fixtures::Config::new().into_value();
        if let Some(slot) = config.pointer_mut(pointer) {
            *slot = value;
        }
        config
    })
}

fn check(value: &Value) {
    let bytes = serde_json::to_vec(value).unwrap();
    if let Err(e) = ocirun::spec::parse(&bytes) {
        assert!(!e.path.is_empty(), "error without a path: {e}");
        assert!(
            !e.message.is_empty(),
            "error without a message at {}",
            e.path
        );
        assert!(!e.to_string().contains('\n'), "one line: {e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_documents_never_panic(value in any_json()) {
        check(&value);
    }

    #[test]
    fn mutated_configs_never_panic(value in mutated_config()) {
        check(&value);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(e) = ocirun::spec::parse(&bytes) {
            prop_assert!(!e.path.is_empty());
        }
    }
}

#[test]
fn the_default_config_parses() {
    ocirun::spec::parse(&serde_json::to_vec(&fixtures::Config::new().into_value()).unwrap())
        .unwrap();
}
