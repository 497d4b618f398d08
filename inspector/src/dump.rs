//! `ocitop --once`: the snapshot as plain text, like systemd-cgls and lsns, for scripts, CI
//! logs and bug reports. Uses the same model rows as the TUI.

use crate::format;
use crate::model::namespaces::{self, Share};
use crate::model::tree::{self, Item, TreeOptions};
use crate::model::{cgtree, NsKind, Snapshot, Status};
use std::fmt::Write;

/// The whole text report.
pub fn text(s: &Snapshot, show_host: bool) -> String {
    let mut out = String::new();
    let stale = s
        .containers
        .iter()
        .filter(|c| c.status == Status::Stale)
        .count();
    let _ = writeln!(
        out,
        "ocitop: {} containers ({stale} stale), {} shims, {} processes, cgroups {:?}",
        s.containers.len(),
        s.shims.len(),
        s.processes.len(),
        s.host.cgroup_mode
    );
    out.push('\n');
    let opts = TreeOptions {
        show_host,
        ..TreeOptions::default()
    };
    for row in tree::rows(s, &opts) {
        let _ = writeln!(out, "{}", tree_line(s, &row));
    }

    let _ = writeln!(
        out,
        "\n{:<29} {:<16} {:<10} {:<28} {:<8} {:<8} {:<8} CGROUP",
        "CONTAINER", "ID", "ENGINE", "POD", "STATUS", "PID", "SHIM"
    );
    for c in &s.containers {
        let pod = c
            .pod
            .as_deref()
            .map(|id| {
                s.pod(id)
                    .map_or_else(|| format::short_id(id).to_string(), format::pod_name)
            })
            .map(|p| {
                if c.sandbox {
                    format!("{p} (sandbox)")
                } else {
                    p
                }
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<29} {:<16} {:<10} {:<28} {:<8} {:<8} {:<8} {}",
            format::container_name_short(c),
            format::short_id(&c.id),
            c.engine.as_deref().unwrap_or("-"),
            pod,
            c.status.as_str(),
            format::opt(c.init_pid),
            format::opt(c.shim_pid),
            c.cgroup.as_deref().unwrap_or("?"),
        );
        if let Some(reason) = &c.stale_reason {
            let _ = writeln!(out, "    stale: {reason}");
        }
        if let Some(declared) = crate::model::containers::declared_disagrees(c) {
            let _ = writeln!(out, "    state file says {declared}");
        }
    }

    out.push_str("\nNAMESPACES (container x kind: host, own, or the containers it shares with)\n");
    let _ = write!(out, "{:<29}", "CONTAINER");
    for k in NsKind::ALL {
        let _ = write!(out, " {:<13}", k.name());
    }
    out.push('\n');
    for (c, row) in s.containers.iter().zip(namespaces::matrix(s)) {
        let _ = write!(out, "{:<29}", format::container_name_short(c));
        for cell in row {
            let _ = write!(out, " {:<13}", share_text(s, &cell));
        }
        out.push('\n');
    }

    out.push_str("\n        NS TYPE   NPROCS   PID HOST CONTAINERS\n");
    for ns in &s.namespaces {
        let _ = writeln!(
            out,
            "{:>10} {:<6} {:>6} {:>5} {:<4} {}",
            ns.inode,
            ns.kind.name(),
            ns.members,
            ns.owner_pid,
            if ns.host { "host" } else { "" },
            namespace_containers(s, &ns.containers),
        );
    }

    out.push_str(
        "\nCGROUP                                   PROCS  MEMORY          PIDS        CPU QUOTA\n",
    );
    for row in cgtree::rows(s, false, None) {
        let c = &s.cgroups[row.index];
        let st = &c.stats;
        let name = format!("{}{}", row.prefix, row.name);
        let _ = writeln!(
            out,
            "{:<40} {:>5}  {:<15} {:<11} {}",
            name,
            c.procs,
            format!(
                "{}/{}",
                st.memory_current.map_or("?".into(), format::bytes),
                format::limit_bytes(st.memory_max)
            ),
            format!(
                "{}/{}",
                format::opt(st.pids_current),
                format::limit_count(st.pids_max)
            ),
            cpu_quota(st),
        );
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// One tree row as text: guides, pid, command, and the role tag.
pub fn tree_line(s: &Snapshot, row: &tree::Row) -> String {
    match row.item {
        Item::Process(pid) => {
            let Some(p) = s.process(pid) else {
                return format!("{}{pid} ?", row.prefix);
            };
            let tag = format::role_tag(s, pid)
                .map(|t| format!("  ◆ {t}"))
                .unwrap_or_default();
            let command = if s.shim(pid).is_some() {
                format::shim_command(p)
            } else {
                p.command()
            };
            format!("{}{}{pid} {command}{tag}", row.prefix, fold_mark(row))
        }
        Item::Container(i) => format!(
            "{}{}",
            row.prefix,
            format::container_line(s, &s.containers[i])
        ),
        Item::Pod(i) => format!(
            "{}{}{}",
            row.prefix,
            fold_mark(row),
            format::pod_line(&s.pods[i])
        ),
    }
}

/// The marker of a folded row.
fn fold_mark(row: &tree::Row) -> &'static str {
    if row.folded {
        "[+] "
    } else {
        ""
    }
}

/// The containers in a namespace as a short list: their names, or their pod's when they are
/// all of one pod.
pub fn namespace_containers(s: &Snapshot, ids: &[String]) -> String {
    let cs: Vec<&crate::model::Container> = ids
        .iter()
        .filter_map(|id| s.containers.iter().find(|c| &c.id == id))
        .collect();
    let Some(first) = cs.first() else {
        return String::new();
    };
    if cs.len() > 1 && cs.iter().all(|c| c.pod.is_some() && c.pod == first.pod) {
        if let Some(p) = first.pod.as_deref().and_then(|id| s.pod(id)) {
            return format!("pod {}", format::pod_name(p));
        }
    }
    let names: Vec<&str> = cs
        .iter()
        .map(|c| c.name.as_deref().unwrap_or_else(|| format::short_id(&c.id)))
        .collect();
    names.join(",")
}

/// A matrix cell as text.
pub fn share_text(s: &Snapshot, cell: &Share) -> String {
    match cell {
        Share::Host => "host".into(),
        Share::Own => "own".into(),
        Share::Unknown => "?".into(),
        Share::InVm => "in VM".into(),
        Share::With(others) => {
            let first = &s.containers[others[0]];
            let first = first
                .name
                .as_deref()
                .unwrap_or_else(|| format::short_id(&first.id));
            let more = if others.len() > 1 {
                format!("+{}", others.len() - 1)
            } else {
                String::new()
            };
            format!("={first}{more}")
        }
    }
}

/// cpu quota as "50000/100000" or "max", "?" if unknown.
pub fn cpu_quota(st: &crate::model::CgroupStats) -> String {
    match (st.cpu_quota_us, st.cpu_period_us) {
        (Some(crate::model::Limit::Max), _) => "max".into(),
        (Some(crate::model::Limit::Value(q)), Some(p)) => format!("{q}/{p}us"),
        _ => "?".into(),
    }
}
