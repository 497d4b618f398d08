//! `linux.sysctl` (config-linux.md "Sysctl"): each key read back in the container.

use super::{cite, Input};
use crate::verdict::Check;
use serde_json::Value;

pub fn probe(config: &Value, steps: &mut Vec<String>) {
    if let Some(sysctl) = config["linux"]["sysctl"].as_object() {
        for k in sysctl.keys() {
            steps.push(format!("sysctl:{k}"));
        }
    }
}

/// Each key holds the configured value. A value that a new namespace already has would pass for
/// a runtime that ignored the field, so cases choose values no kernel defaults to (the
/// mutants command proves it: `linux/sysctl:drop` must be caught).
pub fn check(input: &Input, out: &mut Vec<Check>) {
    let Some(sysctl) = input.config["linux"]["sysctl"].as_object() else {
        return;
    };
    for (k, v) in sysctl {
        out.push(Check::compare(
            format!("linux.sysctl {k}"),
            input.refs.ids(cite::CREATE_APPLY),
            v.as_str().unwrap_or_default().trim(),
            input
                .report
                .sysctls
                .get(k)
                .map(|s| s.trim())
                .unwrap_or("(absent)"),
        ));
    }
}
