//! `linux.namespaces`, the id mappings, `hostname` and `domainname` (config-linux.md
//! "Namespaces", "User namespace mappings"; config.md "Hostname", "Domainname").

use super::{cite, Input};
use crate::observe::{ns_file, ns_inode};
use crate::verdict::{Check, Status};
use std::collections::BTreeSet;
use std::path::Path;

pub fn check(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let sc = input.scope;
    let host = &input.host.namespaces;
    let mut configured = BTreeSet::new();
    for ns in input.config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(file) = ns["type"].as_str().and_then(ns_file) else {
            continue;
        };
        configured.insert(file);
        if !sc.covers("linux/namespaces") {
            continue;
        }
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
    for (file, &seen) in &r.namespaces {
        if configured.contains(file.as_str()) || !sc.covers("linux/namespaces") {
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
    if !input.outside.namespaces.is_empty() && sc.covers("linux/namespaces") {
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
    let new_uts = configured.contains("uts");
    for (field, seen) in [("hostname", &r.hostname), ("domainname", &r.domainname)] {
        if let (Some(want), true) = (input.config[field].as_str(), sc.covers(field)) {
            if new_uts {
                out.push(Check::compare(
                    field,
                    input.refs.ids(cite::CREATE_APPLY),
                    want,
                    seen.as_str(),
                ));
            }
        }
    }
    let joins_user = input.config["linux"]["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n["type"] == "user" && n["path"].is_string());
    if configured.contains("user") && !joins_user {
        for (field, seen) in [("uidMappings", &r.uid_map), ("gidMappings", &r.gid_map)] {
            let Some(maps) = input.config["linux"][field].as_array() else {
                continue;
            };
            if !sc.covers(&format!("linux/{field}")) {
                continue;
            }
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
                seen.clone(),
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::{testing, Host, Outside, Refs};
    use crate::requirements::Catalogue;
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
        let cat = Catalogue::default();
        let input = Input {
            scope: &crate::checks::Scope {
                all: true,
                touched: vec![],
            },
            config: &config,
            report: &r,
            outside: &Outside::default(),
            host: &host,
            refs: Refs { catalogue: &cat },
        };
        let mut out = vec![];
        check(&input, &mut out);
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
