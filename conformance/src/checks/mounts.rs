//! The container's filesystem: `root.readonly`, `mounts` and their options, masked and
//! read-only paths, devices, default devices and `/dev` symlinks, and the cgroup placement
//! (config.md "Root", "Mounts", "Linux mount options"; config-linux.md "Devices", "Default
//! Devices", "Masked Paths", "Readonly Paths", "Cgroups Path"; runtime-linux.md "Dev symbolic
//! links").

use super::{cite, Input};
use crate::verdict::{Check, Status};
use ocikit_probe::MountInfo;

/// `tmp2` → `/tmp2` (relative destinations are relative to `/`, config.md "Mounts"),
/// trailing slashes and doubled slashes dropped.
pub fn normalize_destination(dest: &str) -> String {
    let parts: Vec<&str> = dest
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// The topmost mount at `point` as the process sees it.
fn mount_at<'a>(mounts: &'a [MountInfo], point: &str) -> Option<&'a MountInfo> {
    mounts.iter().rev().find(|m| m.mount_point == point)
}

/// Whether `m` shows the effect of mount option `opt`; `None` for options that leave no trace
/// in mountinfo (filesystem data like `mode=755`, `bind`, ...).
fn option_holds(m: &MountInfo, opt: &str) -> Option<bool> {
    let has = |o: &str| m.mount_options.iter().any(|x| x == o);
    let sb = |o: &str| m.super_options.iter().any(|x| x == o);
    let opt_field = |prefix: &str| m.optional_fields.iter().any(|x| x.starts_with(prefix));
    // Recursive variants (mount_setattr(2) AT_RECURSIVE) show on the mount itself as the
    // plain flag.
    let plain = match opt {
        "rro" | "rrw" | "rnosuid" | "rsuid" | "rdev" | "rnodev" | "rexec" | "rnoexec"
        | "rnoatime" | "ratime" | "rnodiratime" | "rdiratime" | "rrelatime" | "rstrictatime"
        | "rnosymfollow" | "rsymfollow" => &opt[1..],
        other => other,
    };
    Some(match plain {
        "ro" | "rw" | "nosuid" | "nodev" | "noexec" | "noatime" | "nodiratime" | "relatime"
        | "nosymfollow" => has(plain),
        "suid" => !has("nosuid"),
        "dev" => !has("nodev"),
        "exec" => !has("noexec"),
        "atime" => !has("noatime"),
        "diratime" => !has("nodiratime"),
        "symfollow" => !has("nosymfollow"),
        "strictatime" => !has("noatime") && !has("relatime"),
        // Superblock flags (proc(5) mountinfo field 11).
        "sync" | "dirsync" | "lazytime" => sb(plain),
        "async" => !sb("sync"),
        "nolazytime" => !sb("lazytime"),
        "private" | "rprivate" => !opt_field("shared:") && !opt_field("master:"),
        "shared" | "rshared" => opt_field("shared:"),
        // A slave of a mount with no peers is private (mount_namespaces(7)): what must hold is
        // that nothing propagates out.
        "slave" | "rslave" => !opt_field("shared:"),
        "unbindable" | "runbindable" => opt_field("unbindable"),
        _ => return None,
    })
}

pub fn check(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let cfg = input.config;
    let refs = input.refs;
    let sc = input.scope;
    if cfg["root"]["readonly"].as_bool() == Some(true) && sc.covers("root/readonly") {
        let root = mount_at(&r.mounts, "/");
        out.push(Check::compare(
            "root.readonly: / is mounted ro",
            refs.ids(cite::ROOT_READONLY),
            Some(true),
            root.map(|m| m.mount_options.iter().any(|o| o == "ro")),
        ));
        out.push(Check::compare(
            "root.readonly: writing a file in / fails",
            refs.ids(cite::ROOT_READONLY),
            "EROFS",
            r.writes
                .get("/.ocikit-readonly-root")
                .map(String::as_str)
                .unwrap_or("(not tried)"),
        ));
    }
    let mounts = cfg["mounts"].as_array().filter(|_| sc.covers("mounts"));
    for m in mounts.into_iter().flatten() {
        let Some(dest) = m["destination"].as_str() else {
            continue;
        };
        let point = normalize_destination(dest);
        let mut cites = refs.ids(cite::CREATE_APPLY);
        if !dest.starts_with('/') {
            cites.extend(refs.ids(cite::MOUNTS_RELATIVE));
        }
        if matches!(point.as_str(), "/proc" | "/sys" | "/dev/pts" | "/dev/shm") {
            cites.extend(refs.ids(cite::DEFAULT_FILESYSTEMS));
        }
        let Some(seen) = mount_at(&r.mounts, &point) else {
            out.push(Check::with(
                format!("mount at {point}"),
                Status::Fail,
                cites,
                "a mount",
                "none",
            ));
            continue;
        };
        let options: Vec<&str> = m["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str())
            .collect();
        let bind = options.iter().any(|o| *o == "bind" || *o == "rbind");
        if let (Some(t), false) = (m["type"].as_str(), bind) {
            out.push(Check::compare(
                format!("mount at {point}: type"),
                cites.clone(),
                t,
                seen.fs_type.as_str(),
            ));
        } else {
            out.push(Check::pass(format!("mount at {point}"), cites.clone()));
        }
        for opt in options {
            let Some(holds) = option_holds(seen, opt) else {
                continue;
            };
            let mut ids = refs.mount_option(opt);
            ids.extend(cites.iter().cloned());
            out.push(Check::with(
                format!("mount at {point}: option {opt}"),
                if holds { Status::Pass } else { Status::Fail },
                ids,
                format!("{opt} in effect"),
                format!(
                    "options {} {}",
                    seen.mount_options.join(","),
                    seen.optional_fields.join(" ")
                ),
            ));
        }
    }
    let masked = cfg["linux"]["maskedPaths"]
        .as_array()
        .filter(|_| sc.covers("linux/maskedPaths"));
    for p in masked.into_iter().flatten() {
        let Some(p) = p.as_str() else { continue };
        let masked = mount_at(&r.mounts, p).is_some()
            || r.stats.get(p).is_some_and(|s| s.starts_with("ENOENT"));
        out.push(Check::with(
            format!("linux.maskedPaths {p}"),
            if masked { Status::Pass } else { Status::Fail },
            refs.ids(cite::CREATE_APPLY),
            "a mount masking it",
            r.stats.get(p).cloned().unwrap_or_default(),
        ));
    }
    let ro_paths = cfg["linux"]["readonlyPaths"]
        .as_array()
        .filter(|_| sc.covers("linux/readonlyPaths"));
    for p in ro_paths.into_iter().flatten() {
        let Some(p) = p.as_str() else { continue };
        let ro = mount_at(&r.mounts, p).map(|m| m.mount_options.iter().any(|o| o == "ro"));
        out.push(Check::compare(
            format!("linux.readonlyPaths {p} mounted ro"),
            refs.ids(cite::CREATE_APPLY),
            Some(true),
            ro,
        ));
    }
    devices(input, out);
}

fn devices(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let refs = input.refs;
    let devices = input.config["linux"]["devices"]
        .as_array()
        .filter(|_| input.scope.covers("linux/devices"));
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
    cgroups(input, out);
    if !input.scope.all {
        return; // default devices and /dev symlinks are judged by the base case
    }
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

/// An absolute `cgroupsPath` is relative to the cgroup mount point: from outside, the process's
/// `/proc/<pid>/cgroup` shows it in at least one hierarchy.
fn cgroups(input: &Input, out: &mut Vec<Check>) {
    let Some(path) = input.config["linux"]["cgroupsPath"].as_str() else {
        return;
    };
    if !path.starts_with('/')
        || input.outside.cgroup.is_empty()
        || !input.scope.covers("linux/cgroupsPath")
    {
        return;
    }
    let placed = input
        .outside
        .cgroup
        .iter()
        .any(|l| l.splitn(3, ':').nth(2) == Some(path));
    out.push(Check::with(
        "linux.cgroupsPath (absolute) in /proc/<pid>/cgroup",
        if placed { Status::Pass } else { Status::Fail },
        input.refs.ids(cite::CGROUPS_ABSOLUTE),
        path,
        input.outside.cgroup.join(" "),
    ));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mi(point: &str, opts: &[&str], optional: &[&str]) -> MountInfo {
        MountInfo {
            mount_id: 1,
            parent_id: 0,
            dev: "0:1".into(),
            root: "/".into(),
            mount_point: point.into(),
            mount_options: opts.iter().map(|s| s.to_string()).collect(),
            optional_fields: optional.iter().map(|s| s.to_string()).collect(),
            fs_type: "tmpfs".into(),
            source: "tmpfs".into(),
            super_options: vec![],
        }
    }

    #[test]
    fn destinations_normalize() {
        assert_eq!(normalize_destination("tmp2"), "/tmp2");
        assert_eq!(normalize_destination("/a//b/"), "/a/b");
        assert_eq!(normalize_destination("/"), "/");
    }

    #[test]
    fn options_map_to_mountinfo() {
        let m = mi("/x", &["ro", "nosuid", "relatime"], &["shared:4"]);
        assert_eq!(option_holds(&m, "ro"), Some(true));
        assert_eq!(option_holds(&m, "rw"), Some(false));
        assert_eq!(option_holds(&m, "dev"), Some(true));
        assert_eq!(option_holds(&m, "suid"), Some(false));
        assert_eq!(option_holds(&m, "strictatime"), Some(false));
        assert_eq!(option_holds(&m, "rshared"), Some(true));
        assert_eq!(option_holds(&m, "private"), Some(false));
        assert_eq!(option_holds(&m, "mode=755"), None);
        let stacked = [mi("/x", &["rw"], &[]), mi("/x", &["ro"], &[])];
        assert_eq!(
            mount_at(&stacked, "/x").map(|m| m.mount_options[0].as_str()),
            Some("ro")
        );
    }
}
