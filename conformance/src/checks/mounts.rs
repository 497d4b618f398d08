//! The container's filesystem: `root.readonly`, `mounts` and their options, masked and
//! read-only paths, the rootfs propagation (config.md "Root", "Mounts", "Linux mount options";
//! config-linux.md "Masked Paths", "Readonly Paths", "Rootfs Mount Propagation").

use super::{cite, Input};
use crate::verdict::{Check, Status};
use ocikit_probe::MountInfo;
use serde_json::Value;

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
pub fn mount_at<'a>(mounts: &'a [MountInfo], point: &str) -> Option<&'a MountInfo> {
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
        "nostrictatime" => has("noatime") || has("relatime"),
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

/// Options that set the same thing: only the last of a group is in effect (mount(8) reads them
/// in order, so `["noexec", "exec"]` leaves exec).
fn group_of(opt: &str) -> String {
    let (recursive, plain) = match opt.strip_prefix('r') {
        Some(p)
            if !matches!(opt, "ro" | "rw" | "relatime" | "rbind" | "remount")
                && !matches!(p, "" | "o" | "w") =>
        {
            (true, p)
        }
        _ => (false, opt),
    };
    let g = match plain {
        "ro" | "rw" | "o" | "w" => "ro",
        "atime" | "noatime" | "relatime" | "norelatime" | "strictatime" | "nostrictatime" => {
            "atime"
        }
        "private" | "shared" | "slave" | "unbindable" => "propagation",
        "sync" | "async" => "sync",
        other => other.strip_prefix("no").unwrap_or(other),
    };
    if recursive {
        format!("r:{g}")
    } else {
        g.to_string()
    }
}

/// The options whose effect must show: the last of each group.
fn in_effect<'a>(options: &[&'a str]) -> Vec<&'a str> {
    options
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            !options[i + 1..]
                .iter()
                .any(|later| group_of(later) == group_of(o))
        })
        .map(|(_, o)| *o)
        .collect()
}

/// The probe writes into `/` when the root is to be read-only.
pub fn probe_root_readonly(config: &Value, steps: &mut Vec<String>) {
    if config["root"]["readonly"].as_bool() == Some(true) {
        steps.push("write:/.ocikit-readonly-root".to_string());
    }
}

/// Judged both ways: `true` by the mount flag and a write that fails with EROFS, `false` by a
/// write that succeeds (the probe's rootfs is writable on the host, so a runtime that mounts
/// every root read-only fails it).
pub fn root_readonly(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let refs = input.refs;
    let Some(readonly) = input.config["root"]["readonly"].as_bool() else {
        return;
    };
    let root = mount_at(&r.mounts, "/");
    out.push(Check::compare(
        format!(
            "root.readonly {readonly}: / is mounted {}",
            if readonly { "ro" } else { "rw" }
        ),
        refs.ids(cite::ROOT_READONLY),
        Some(readonly),
        root.map(|m| m.mount_options.iter().any(|o| o == "ro")),
    ));
    if readonly {
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
}

/// What is visible at each destination: `dev:DEST` gives the device of the filesystem there.
pub fn probe_mounts(config: &Value, steps: &mut Vec<String>) {
    for m in config["mounts"].as_array().into_iter().flatten() {
        if let Some(dest) = m["destination"].as_str() {
            steps.push(format!("dev:{}", normalize_destination(dest)));
        }
    }
}

/// Every mount: at its destination, and *visible* there (the device of what the container sees
/// at the path is the mount's: mounts made out of order hide each other, which mountinfo alone
/// does not show), with its type and every option that leaves a trace.
pub fn mounts(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    let refs = input.refs;
    for m in input.config["mounts"].as_array().into_iter().flatten() {
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
        if let Some(dev) = r.actions.get(&format!("dev:{point}")) {
            let mut ids = cites.clone();
            ids.extend(refs.ids(cite::MOUNTS_ORDER));
            out.push(Check::with(
                format!("mount at {point} is what the container sees there"),
                if *dev == seen.dev {
                    Status::Pass
                } else {
                    Status::Fail
                },
                ids,
                format!("the device of the mount, {}", seen.dev),
                format!("{dev} (hidden by a later mount, or mounted out of order)"),
            ));
        }
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
        }
        for opt in in_effect(&options) {
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
}

pub fn probe_masked_paths(config: &Value, steps: &mut Vec<String>) {
    for p in config["linux"]["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(p) = p.as_str() {
            steps.push(format!("stat:{p}"));
        }
    }
}

/// A masked path is covered by a mount (a `/dev/null` bind on a file, a read-only tmpfs on a
/// directory). A path that does not exist in the container cannot tell a masking runtime from
/// one that ignores the field: the check is then an error of the case, never a pass.
pub fn masked_paths(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    for p in input.config["linux"]["maskedPaths"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(p) = p.as_str() else { continue };
        let stat = r.stats.get(p).cloned().unwrap_or_default();
        let what = format!("linux.maskedPaths {p}");
        let ids = input.refs.ids(cite::CREATE_APPLY);
        if stat.starts_with('E') || stat.is_empty() {
            out.push(Check::with(
                what,
                Status::Error,
                ids,
                "a path that exists in the container",
                format!(
                    "{} (masking cannot be told from doing nothing)",
                    if stat.is_empty() {
                        "not looked at"
                    } else {
                        &stat
                    }
                ),
            ));
            continue;
        }
        let masked = mount_at(&r.mounts, p).is_some();
        out.push(Check::with(
            what,
            if masked { Status::Pass } else { Status::Fail },
            ids,
            "a mount masking it",
            format!("{stat}, no mount at {p}"),
        ));
    }
}

pub fn readonly_paths(input: &Input, out: &mut Vec<Check>) {
    let r = input.report;
    for p in input.config["linux"]["readonlyPaths"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(p) = p.as_str() else { continue };
        let ro = mount_at(&r.mounts, p).map(|m| m.mount_options.iter().any(|o| o == "ro"));
        out.push(Check::compare(
            format!("linux.readonlyPaths {p} mounted ro"),
            input.refs.ids(cite::CREATE_APPLY),
            Some(true),
            ro,
        ));
    }
}

/// `linux.rootfsPropagation`: the propagation of the container's `/` as mountinfo shows it.
/// (Cases make the bundle's rootfs a shared mount on the host first, so that `slave` has a
/// master to show and `private` is not what a runtime gets by doing nothing.)
pub fn rootfs_propagation(input: &Input, out: &mut Vec<Check>) {
    let Some(want) = input.config["linux"]["rootfsPropagation"].as_str() else {
        return;
    };
    let Some(root) = mount_at(&input.report.mounts, "/") else {
        return;
    };
    let has = |p: &str| root.optional_fields.iter().any(|f| f.starts_with(p));
    let holds = match want {
        "shared" | "rshared" => has("shared:"),
        "slave" | "rslave" => has("master:") && !has("shared:"),
        "private" | "rprivate" => !has("shared:") && !has("master:"),
        "unbindable" | "runbindable" => has("unbindable"),
        _ => false,
    };
    out.push(Check::with(
        format!("linux.rootfsPropagation {want}: the propagation of /"),
        if holds { Status::Pass } else { Status::Fail },
        input.refs.ids(cite::CREATE_APPLY),
        format!("{want} in effect"),
        format!("/ has {:?}", root.optional_fields),
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
    fn only_the_last_option_of_a_group_is_in_effect() {
        assert_eq!(in_effect(&["noexec", "exec", "ro"]), vec!["exec", "ro"]);
        assert_eq!(in_effect(&["ro", "nosuid", "rw"]), vec!["nosuid", "rw"]);
        assert_eq!(in_effect(&["rbind", "rro", "rrw"]), vec!["rbind", "rrw"]);
        assert_eq!(in_effect(&["strictatime", "relatime"]), vec!["relatime"]);
        assert_eq!(
            in_effect(&["rnoatime", "ratime", "noatime"]),
            vec!["ratime", "noatime"]
        );
        assert_eq!(
            in_effect(&["private", "rshared"]),
            vec!["private", "rshared"]
        );
        assert_eq!(
            in_effect(&["sync", "async", "mode=755"]),
            vec!["async", "mode=755"]
        );
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
