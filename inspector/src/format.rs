//! Text for values, shared by the TUI and `ocitop --once`: sizes, limits, unknowns ("?"),
//! the label of a process row and a container's short name.

use crate::model::{Container, Limit, Pod, Shim, ShimKind, Snapshot};

/// Bytes as 1.5G / 312M / 4.0K.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

/// An optional value, "?" when unknown.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "?".to_string(), |v| v.to_string())
}

/// A byte limit: "max", a size, or "?".
pub fn limit_bytes(l: Option<Limit>) -> String {
    match l {
        Some(Limit::Max) => "max".into(),
        Some(Limit::Value(v)) => bytes(v),
        None => "?".into(),
    }
}

/// A count limit: "max", the number, or "?".
pub fn limit_count(l: Option<Limit>) -> String {
    match l {
        Some(Limit::Max) => "max".into(),
        Some(Limit::Value(v)) => v.to_string(),
        None => "?".into(),
    }
}

/// "runc default/web" style name of a container: runtime, containerd namespace, and the
/// engine's name for it, else its id.
pub fn container_name(c: &Container) -> String {
    match &c.namespace {
        Some(ns) => format!("{} {ns}/{}", c.runtime, c.display_name()),
        None => format!("{} {}", c.runtime, c.display_name()),
    }
}

/// What a shim is, for a row label.
pub fn shim_label(sh: &Shim) -> String {
    let kind = match sh.kind {
        ShimKind::ContainerdRunc => "containerd shim",
        ShimKind::Kata => "kata shim",
        ShimKind::ContainerdOther => "containerd shim",
        ShimKind::Conmon => "conmon",
    };
    let mut out = kind.to_string();
    if let Some(ns) = &sh.namespace {
        out.push_str(&format!(" ns={ns}"));
    }
    if let Some(id) = &sh.id {
        out.push_str(&format!(" id={}", short_id(id)));
    }
    if let Some(name) = &sh.name {
        out.push_str(&format!(" name={name}"));
    }
    if let Some(r) = &sh.runtime {
        out.push_str(&format!(" runtime={}", r.rsplit('/').next().unwrap_or(r)));
    }
    out
}

/// Generated ids (docker's, podman's, CRI's: 64 hex digits) cut to 12 like docker ps; ids a
/// person chose are not cut, or two would read the same.
pub fn short_id(id: &str) -> &str {
    if id.len() > 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        &id[..12]
    } else {
        id
    }
}

/// The role tag shown after a process in the tree: shim, exec session, container init,
/// VM, or nothing.
pub fn role_tag(s: &Snapshot, pid: u32) -> Option<String> {
    if let Some(&ci) = crate::model::tree::exec_shims(s).get(&pid) {
        return Some(format!(
            "exec in {}",
            container_name_short(&s.containers[ci])
        ));
    }
    if let Some(sh) = s.shim(pid) {
        return Some(shim_label(sh));
    }
    if let Some(c) = s
        .containers
        .iter()
        .find(|c| c.init_pid == Some(pid) && !c.pids.is_empty())
    {
        return Some(format!("{} {}", container_name_short(c), c.status.as_str()));
    }
    if let Some(pod) = s
        .pods
        .iter()
        .find(|p| p.vm.as_ref().is_some_and(|v| v.pid == Some(pid)))
    {
        let hv = pod
            .vm
            .as_ref()
            .and_then(|v| v.hypervisor.as_deref())
            .unwrap_or("VM");
        return Some(format!("VM ({hv}) of {}", pod_name(pod)));
    }
    if let Some(pod) = s
        .pods
        .iter()
        .find(|p| p.vm.as_ref().is_some_and(|v| v.virtiofsd_pid == Some(pid)))
    {
        return Some(format!("virtiofsd of {}", pod_name(pod)));
    }
    // A member whose parent is not: what `exec` started (under the shim, or left to pid 1).
    let c = s.container_of(pid)?;
    let parent = s.process(pid)?.ppid;
    (c.pids.binary_search(&parent).is_err()).then(|| format!("{} exec", container_name_short(c)))
}

/// Like [`container_name`] with the id shortened.
pub fn container_name_short(c: &Container) -> String {
    let name = c.name.as_deref().unwrap_or_else(|| short_id(&c.id));
    match &c.namespace {
        Some(ns) => format!("{} {ns}/{name}", c.runtime),
        None => format!("{} {name}", c.runtime),
    }
}

/// A pod as people name it: `namespace/name` (Kubernetes), its name, else its short id.
pub fn pod_name(p: &Pod) -> String {
    match (&p.namespace, &p.name) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.clone(),
        _ => short_id(&p.id).to_string(),
    }
}

/// The text of a pod row: its name, engine, containers and VM.
pub fn pod_line(p: &Pod) -> String {
    let n = p.containers.len();
    let mut out = format!(
        "pod {} ({}, {n} container{})",
        pod_name(p),
        p.engine,
        if n == 1 { "" } else { "s" }
    );
    if let Some(vm) = &p.vm {
        out.push_str(&format!(
            ", VM {} pid {}",
            vm.hypervisor.as_deref().unwrap_or("?"),
            opt(vm.pid)
        ));
        if let Some(state) = &vm.state {
            out.push_str(&format!(" {state}"));
        }
    }
    out
}

/// How long ago, from seconds since the epoch: "35s", "4m", "3h", "2d".
pub fn ago(now: u64, then: u64) -> String {
    let d = now.saturating_sub(then);
    match d {
        0..=119 => format!("{d}s"),
        120..=7199 => format!("{}m", d / 60),
        7200..=172_799 => format!("{}h", d / 3600),
        _ => format!("{}d", d / 86400),
    }
}

/// The text of a row for a container with no host process: status, name, and why (STALE,
/// with how long ago it went if this ocitop saw it go) or where it is (a VM).
pub fn container_line(s: &Snapshot, c: &Container) -> String {
    let mut out = format!("{} {}", c.status.as_str(), container_name_short(c));
    let now = s.host.taken_at;
    if let Some(reason) = &c.stale_reason {
        out.push_str(&format!(": {reason}"));
        match (c.gone_since, c.started_at) {
            (Some(t), _) if now > 0 => out.push_str(&format!(", exited {} ago", ago(now, t))),
            (None, Some(t)) if now > 0 => out.push_str(&format!(
                ", exited before ocitop started; started {} ago",
                ago(now, t)
            )),
            _ => {}
        }
    } else if c.in_vm {
        out.push_str(" (in VM)");
    } else if let Some(dir) = &c.state_dir {
        out.push_str(&format!(" ({dir})"));
    }
    out
}

/// Process start time as seconds since the epoch, from its start ticks and the boot time.
pub fn start_time(s: &Snapshot, start_ticks: u64) -> Option<u64> {
    let ticks = s.host.clock_ticks.max(1);
    Some(s.host.boot_time? + start_ticks / ticks)
}

/// A shim's long command line shortened to its program and the flags that name containers.
pub fn shim_command(p: &crate::model::Process) -> String {
    let prog = p
        .cmdline
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_else(|| p.comm.to_string());
    let mut out = prog;
    let mut args = p.cmdline.iter().skip(1);
    while let Some(a) = args.next() {
        // Ids are cut like docker ps does; names are not.
        let cut = matches!(a.as_str(), "-id" | "-c");
        if cut || matches!(a.as_str(), "-namespace" | "-n" | "--name") {
            if let Some(v) = args.next() {
                let v = if cut { short_id(v) } else { v };
                out.push_str(&format!(" {a} {v}"));
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(ago(1000, 965), "35s");
        assert_eq!(ago(1000, 0), "16m");
        assert_eq!(ago(100_000, 0), "27h");
        assert_eq!(ago(0, 5), "0s");
    }

    #[test]
    fn only_generated_ids_are_cut() {
        let hex = "3f99075e836aff1a1d3382885c588b683e8a4fe4177a1b62dede97c3f66de771";
        assert_eq!(short_id(hex), "3f99075e836a");
        assert_eq!(short_id("ocitop-runc-paused"), "ocitop-runc-paused");
    }

    #[test]
    fn sizes() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(300 << 20), "300M");
    }
}
