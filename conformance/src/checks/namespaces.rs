//! `linux.namespaces`, the id mappings, `hostname` and `domainname` (config-linux.md
//! "Namespaces", "User namespace mappings"; config.md "Hostname", "Domainname").

use super::{cite, Input};
use crate::observe::{ns_file, ns_inode};
use crate::verdict::{Check, Status};
use std::collections::BTreeSet;
use std::path::Path;

/// The namespace files `linux.namespaces` lists (`net` for `network`, ...).
fn configured(config: &serde_json::Value) -> BTreeSet<&'static str> {
    config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ns| ns["type"].as_str().and_then(ns_file))
        .collect()
}

/// `linux.namespaces`: each listed type new or joined by path; each unlisted one the runtime's;
/// the state's pid, seen from outside, in the namespaces the probe reported.
pub fn namespaces(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let host = &input.host.namespaces;
    for ns in input.config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(file) = ns["type"].as_str().and_then(ns_file) else {
            continue;
        };
        let Some(&seen) = r.namespaces.get(file) else {
            out.push(Check::with(
                format!("{file} namespace"),
                Status::Error,
                vec![],
                "the probe reports it",
                "absent from the report (kernel lacks it?)",
            ));
            continue;
        };
        match ns["path"].as_str() {
            Some(path) => out.push(Check::compare(
                format!("{file} namespace joined from {path}"),
                input.refs.ids(cite::NS_JOIN),
                ns_inode(Path::new(path)),
                Some(seen),
            )),
            None => {
                let new = host.get(file) != Some(&seen);
                out.push(Check::with(
                    format!("{file} namespace is new"),
                    if new { Status::Pass } else { Status::Fail },
                    input.refs.ids(cite::NS_NEW),
                    "an inode other than the runtime's",
                    format!("{seen} (runtime's: {:?})", host.get(file)),
                ));
            }
        }
    }
    let configured = configured(input.config);
    for (file, &seen) in &r.namespaces {
        if configured.contains(file.as_str()) {
            continue;
        }
        if file == "mnt" && input.host.wrapped_mountns {
            continue; // the runtime runs in a private mount namespace of the runner's making
        }
        let Some(&h) = host.get(file) else { continue };
        out.push(Check::compare(
            format!("{file} namespace inherited (not in linux.namespaces)"),
            input.refs.ids(cite::NS_INHERIT),
            h,
            seen,
        ));
    }
    if !input.outside.namespaces.is_empty() {
        // The state's pid is the process that reported (runtime.md "State": pid).
        let inside: std::collections::BTreeMap<&String, &u64> = r
            .namespaces
            .iter()
            .filter(|(k, _)| crate::observe::NS_FILES.contains(&k.as_str()))
            .collect();
        let outside: std::collections::BTreeMap<&String, &u64> =
            input.outside.namespaces.iter().collect();
        out.push(Check::compare(
            "namespaces of the state's pid, read from outside, are the probe's",
            input.refs.ids(cite::STATE_PID),
            inside,
            outside,
        ));
    }
}

fn uts_name(input: &Input, field: &str, seen: &str, out: &mut Vec<Check>) {
    // Only a new uts namespace is the runtime's to name (config.md "Hostname").
    if let (Some(want), true) = (
        input.config[field].as_str(),
        configured(input.config).contains("uts"),
    ) {
        out.push(Check::compare(
            field,
            input.refs.ids(cite::CREATE_APPLY),
            want,
            seen,
        ));
    }
}

pub fn hostname(input: &Input, out: &mut Vec<Check>) {
    uts_name(input, "hostname", &input.report.hostname, out);
}

pub fn domainname(input: &Input, out: &mut Vec<Check>) {
    uts_name(input, "domainname", &input.report.domainname, out);
}

fn id_mappings(input: &Input, field: &str, seen: &[[u64; 3]], out: &mut Vec<Check>) {
    let joins_user = input.config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == "user" && n["path"].is_string());
    if !configured(input.config).contains("user") || joins_user {
        return;
    }
    let Some(maps) = input.config["linux"][field].as_array() else {
        return;
    };
    let want: Vec<[u64; 3]> = maps
        .iter()
        .map(|m| {
            [
                m["containerID"].as_u64().unwrap_or_default(),
                m["hostID"].as_u64().unwrap_or_default(),
                m["size"].as_u64().unwrap_or_default(),
            ]
        })
        .collect();
    out.push(Check::compare(
        format!("linux.{field}"),
        input.refs.ids(cite::CREATE_APPLY),
        want,
        seen.to_vec(),
    ));
}

pub fn uid_mappings(input: &Input, out: &mut Vec<Check>) {
    id_mappings(input, "uidMappings", &input.report.uid_map, out);
}

pub fn gid_mappings(input: &Input, out: &mut Vec<Check>) {
    id_mappings(input, "gidMappings", &input.report.gid_map, out);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{testing, Host, Outside};
    use serde_json::json;

    #[test]
    fn new_inherited_and_hostname_are_judged() {
        let config = json!({
            "hostname": "h",
            "linux": {"namespaces": [{"type": "uts"}, {"type": "pid"}]}
        });
        let mut r = testing::report();
        r.hostname = "h".into();
        r.namespaces = [("uts", 10), ("pid", 1), ("net", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let host = Host {
            namespaces: [("uts", 11), ("pid", 1), ("net", 3)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..Default::default()
        };
        let mut out = testing::checks("linux/namespaces", &config, &r, &Outside::default(), &host);
        out.extend(testing::checks(
            "hostname",
            &config,
            &r,
            &Outside::default(),
            &host,
        ));
        let by: Vec<(&str, Status)> = out.iter().map(|c| (c.what.as_str(), c.status)).collect();
        assert_eq!(
            by,
            vec![
                ("uts namespace is new", Status::Pass),
                ("pid namespace is new", Status::Fail),
                (
                    "net namespace inherited (not in linux.namespaces)",
                    Status::Pass
                ),
                ("hostname", Status::Pass),
            ]
        );
    }
}
