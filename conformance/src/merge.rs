//! Config fragment merged onto the base config.
//!
//! Objects merge key by key, recursively; anything else (arrays included) replaces. The string
//! [`REMOVE`] removes the key, because TOML has no null (e.g. `process = "<remove>"` for the
//! "start without process" case, config.md "Process"). A key ending in `+` appends its array
//! to the base's (`mounts+` adds mounts after the base's `/proc`, `/dev`, ...).

use serde_json::Value;

/// The value that removes a key from the base.
pub const REMOVE: &str = "<remove>";

pub fn merge(base: &mut Value, fragment: &Value) {
    match (base, fragment) {
        (Value::Object(b), Value::Object(f)) => {
            for (k, v) in f {
                if let (Some(key), Some(more)) = (k.strip_suffix('+'), v.as_array()) {
                    match b.get_mut(key).and_then(Value::as_array_mut) {
                        Some(existing) => existing.extend(more.iter().cloned()),
                        None => {
                            b.insert(key.to_string(), v.clone());
                        }
                    }
                } else if v.as_str() == Some(REMOVE) {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, f) => *b = f.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_merge_arrays_replace_and_remove_removes() {
        let mut base = json!({
            "process": {"cwd": "/", "env": ["A=1"], "user": {"uid": 0, "gid": 0}},
            "hostname": "x",
            "root": {"path": "rootfs"}
        });
        merge(
            &mut base,
            &json!({
                "process": {"env": ["B=2"], "user": {"uid": 7}},
                "hostname": "<remove>",
                "domainname": "d",
                "mounts+": [{"destination": "/b"}]
            }),
        );
        assert_eq!(
            base,
            json!({
                "process": {"cwd": "/", "env": ["B=2"], "user": {"uid": 7, "gid": 0}},
                "root": {"path": "rootfs"},
                "domainname": "d",
                "mounts": [{"destination": "/b"}]
            })
        );
    }
}
