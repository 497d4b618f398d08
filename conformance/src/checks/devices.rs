//! Devices: `linux.devices` (config-linux.md "Devices"), the default devices and the `/dev`
//! symlinks every container gets (config-linux.md "Default Devices", runtime-linux.md "Dev
//! symbolic links").

use super::{cite, Input};
use crate::verdict::{Check, Status};
use serde_json::Value;

pub fn probe_devices(config: &Value, steps: &mut Vec<String>) {
    for d in config["linux"]["devices"].as_array().into_iter().flatten() {
        if let Some(p) = d["path"].as_str() {
            steps.push(format!("stat:{p}"));
        }
    }
}

pub fn devices(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let refs = input.refs;
    let devices = input.config["linux"]["devices"].as_array();
    for d in devices.into_iter().flatten() {
        let Some(path) = d["path"].as_str() else {
            continue;
        };
        let kind = match d["type"].as_str() {
            Some("u") => "c",
            Some(k) => k,
            None => continue,
        };
        let stat = r.stats.get(path).cloned().unwrap_or_default();
        let mut fields = stat.split(' ');
        let seen_kind = fields.next().unwrap_or_default();
        let seen_mode = fields.next().and_then(|m| u32::from_str_radix(m, 8).ok());
        let seen_uid = fields.next().and_then(|m| m.parse::<u64>().ok());
        let seen_gid = fields.next().and_then(|m| m.parse::<u64>().ok());
        let ids = refs.ids(cite::DEVICES);
        out.push(Check::compare(
            format!("linux.devices {path}: type"),
            ids.clone(),
            kind,
            seen_kind,
        ));
        if let Some(name) = path.strip_prefix("/dev/").filter(|n| !n.contains('/')) {
            if let (Some(maj), Some(min)) = (d["major"].as_i64(), d["minor"].as_i64()) {
                out.push(Check::compare(
                    format!("linux.devices {path}: major:minor"),
                    ids.clone(),
                    format!("{kind} {maj}:{min}"),
                    r.dev.get(name).cloned().unwrap_or_default(),
                ));
            }
        }
        if let Some(mode) = d["fileMode"].as_u64() {
            out.push(Check::compare(
                format!("linux.devices {path}: fileMode"),
                ids.clone(),
                Some(format!("{:o}", mode & 0o7777)),
                seen_mode.map(|m| format!("{m:o}")),
            ));
        }
        for (field, seen) in [("uid", seen_uid), ("gid", seen_gid)] {
            if let Some(want) = d[field].as_u64() {
                out.push(Check::compare(
                    format!("linux.devices {path}: {field}"),
                    ids.clone(),
                    Some(want),
                    seen,
                ));
            }
        }
    }
}

/// What every container gets unasked: the default devices (config-linux.md "Default
/// Devices") and, with `/proc` mounted, the `/dev` fd symlinks (runtime-linux.md "Dev symbolic
/// links").
pub fn defaults(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let refs = input.refs;
    for (name, want) in [
        ("null", "c 1:3"),
        ("zero", "c 1:5"),
        ("full", "c 1:7"),
        ("random", "c 1:8"),
        ("urandom", "c 1:9"),
        ("tty", "c 5:0"),
    ] {
        out.push(Check::compare(
            format!("default device /dev/{name}"),
            refs.ids(cite::DEFAULT_DEVICES),
            want,
            r.dev.get(name).map(String::as_str).unwrap_or("(absent)"),
        ));
    }
    let ptmx = r.dev.get("ptmx").map(String::as_str).unwrap_or("(absent)");
    out.push(Check::with(
        "default device /dev/ptmx",
        if ptmx == "l pts/ptmx" || ptmx == "l /dev/pts/ptmx" || ptmx == "c 5:2" {
            Status::Pass
        } else {
            Status::Fail
        },
        refs.ids(cite::DEFAULT_DEVICES),
        "a symlink to pts/ptmx or a bind of it",
        ptmx,
    ));
    let proc_mounted = input.config["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["type"] == "proc");
    if proc_mounted {
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            out.push(Check::compare(
                format!("/dev/{name} symlink"),
                refs.ids(cite::DEV_SYMLINKS),
                format!("l {target}"),
                r.dev.get(name).map(String::as_str).unwrap_or("(absent)"),
            ));
        }
    }
}
