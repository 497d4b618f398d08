//! The process tree as rows to draw: shim → container init → children, with host processes
//! folded away unless asked for, a filter that keeps the matches and their ancestors, one
//! container followed, and collapsed subtrees. Shared by the TUI and `ocitop --once`.

use super::containers::ProcIndex;
use super::{Snapshot, Status};
use std::collections::{BTreeSet, HashSet};

/// What the tree shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// Show every process (the full tree from pid 1), not only shims and containers.
    pub show_host: bool,
    /// Keep rows matching this text (name, command line, container id or exact pid) and their
    /// ancestors.
    pub filter: Option<String>,
    /// Show only this container (by id).
    pub follow: Option<String>,
    /// Pids whose children are hidden.
    pub collapsed: BTreeSet<u32>,
}

/// What one row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    Process(u32),
    /// A container with no live process (STALE, stopped, or a VM shim's), by index.
    Container(usize),
}

/// One row: the item and the tree guides drawn before it ("│  ├─ ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub item: Item,
    pub prefix: String,
    pub depth: usize,
    /// Whether it has children that are hidden because it is collapsed.
    pub folded: bool,
}

/// Builds the rows for these options.
pub fn rows(s: &Snapshot, opts: &TreeOptions) -> Vec<Row> {
    let index = ProcIndex::new(&s.processes);
    let followed = opts
        .follow
        .as_deref()
        .and_then(|id| s.containers.iter().find(|c| c.id == id));
    // The processes the view is about.
    let mut scope: HashSet<u32> = HashSet::new();
    if let Some(c) = followed {
        scope.extend(c.pids.iter().copied());
        scope.extend(c.shim_pid);
    } else if opts.show_host {
        scope.extend(s.processes.iter().map(|p| p.pid));
    } else {
        for shim in &s.shims {
            scope.extend(index.subtree(shim.pid));
        }
        for c in &s.containers {
            scope.extend(c.pids.iter().copied());
        }
    }
    // Each tree starts at a process whose parent is out of view: a shim, an init started by
    // a runtime that has gone, a process `exec` left to pid 1, or pid 1 itself.
    let mut roots: Vec<u32> = scope
        .iter()
        .copied()
        .filter(|&pid| index.get(pid).is_some_and(|p| !scope.contains(&p.ppid)))
        .collect();
    roots.sort_unstable();
    // The filter keeps matches and their ancestors.
    let visible: Option<HashSet<u32>> = opts.filter.as_deref().filter(|f| !f.is_empty()).map(|f| {
        let mut keep = HashSet::new();
        for &pid in &scope {
            if matches(s, pid, f) {
                let mut cur = Some(pid);
                while let Some(p) = cur {
                    if !keep.insert(p) {
                        break;
                    }
                    cur = index.get(p).map(|q| q.ppid).filter(|pp| scope.contains(pp));
                }
            }
        }
        keep
    });
    let shown =
        |pid: u32| scope.contains(&pid) && visible.as_ref().is_none_or(|v| v.contains(&pid));

    let mut out = Vec::new();
    let roots: Vec<u32> = roots.into_iter().filter(|&p| shown(p)).collect();
    let n = roots.len();
    for (i, root) in roots.into_iter().enumerate() {
        walk(
            &index,
            root,
            0,
            "",
            i + 1 == n,
            true,
            &shown,
            opts,
            &mut out,
        );
    }
    // Containers with no live process, at the end.
    for (i, c) in s.containers.iter().enumerate() {
        let dead = c.pids.is_empty() || c.status == Status::Stale;
        let followed_ok = opts.follow.as_deref().is_none_or(|id| id == c.id);
        let filter_ok = opts
            .filter
            .as_deref()
            .is_none_or(|f| f.is_empty() || c.id.contains(f));
        if dead && followed_ok && filter_ok && (c.shim_pid.is_none() || c.status == Status::Stale) {
            out.push(Row {
                item: Item::Container(i),
                prefix: String::new(),
                depth: 0,
                folded: false,
            });
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    index: &ProcIndex,
    pid: u32,
    depth: usize,
    guides: &str,
    last: bool,
    root: bool,
    shown: &dyn Fn(u32) -> bool,
    opts: &TreeOptions,
    out: &mut Vec<Row>,
) {
    let children: Vec<u32> = index
        .children(pid)
        .iter()
        .copied()
        .filter(|&c| shown(c))
        .collect();
    let collapsed = opts.collapsed.contains(&pid);
    let prefix = if root {
        String::new()
    } else {
        format!("{guides}{}", if last { "└─ " } else { "├─ " })
    };
    out.push(Row {
        item: Item::Process(pid),
        prefix,
        depth,
        folded: collapsed && !children.is_empty(),
    });
    if collapsed {
        return;
    }
    let child_guides = if root {
        String::new()
    } else {
        format!("{guides}{}", if last { "   " } else { "│  " })
    };
    let mut children = children;
    children.sort_unstable();
    let n = children.len();
    for (i, c) in children.into_iter().enumerate() {
        walk(
            index,
            c,
            depth + 1,
            &child_guides,
            i + 1 == n,
            false,
            shown,
            opts,
            out,
        );
    }
}

/// Whether a process matches a filter text: its pid exactly, or the text in its name, command
/// line or its container's id.
pub fn matches(s: &Snapshot, pid: u32, filter: &str) -> bool {
    if filter.parse::<u32>().ok() == Some(pid) {
        return true;
    }
    let Some(p) = s.process(pid) else {
        return false;
    };
    p.comm.contains(filter)
        || p.cmdline.iter().any(|a| a.contains(filter))
        || s.container_of(pid).is_some_and(|c| c.id.contains(filter))
        || s.shim(pid)
            .and_then(|sh| sh.id.as_deref())
            .is_some_and(|id| id.contains(filter))
}
