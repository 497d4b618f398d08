//! The cgroup tree as rows to draw (like systemd-cgls): one row per cgroup path, empty
//! subtrees folded away unless asked for, and the helpers that turn usage and limits into
//! ratios for the bars.

use super::{Cgroup, CgroupStats, Limit, Snapshot};
use std::collections::{BTreeMap, BTreeSet};

/// One row: the cgroup (index into `Snapshot::cgroups`) and the tree guides before its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgRow {
    pub index: usize,
    pub prefix: String,
    /// The last path component ("/" for the root).
    pub name: String,
}

/// Rows of the cgroup tree. Without `show_empty`, subtrees holding no process are hidden;
/// a filter keeps paths containing the text and their ancestors.
pub fn rows(s: &Snapshot, show_empty: bool, filter: Option<&str>) -> Vec<CgRow> {
    let by_path: BTreeMap<&str, usize> = s
        .cgroups
        .iter()
        .enumerate()
        .map(|(i, c)| (c.path.as_str(), i))
        .collect();
    // Subtree process counts, bottom-up (longest paths first).
    let mut subtree: BTreeMap<&str, usize> = BTreeMap::new();
    let mut paths: Vec<&str> = by_path.keys().copied().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in &paths {
        let own = s.cgroups[by_path[p]].procs;
        let total = *subtree.entry(p).or_insert(0) + own;
        subtree.insert(p, total);
        if let Some(parent) = parent(p) {
            *subtree.entry(parent).or_insert(0) += total;
        }
    }
    let filter = filter.filter(|f| !f.is_empty());
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    for p in by_path.keys() {
        let non_empty = show_empty || subtree.get(p).copied().unwrap_or(0) > 0;
        let matched = filter.is_none_or(|f| p.contains(f));
        if non_empty && matched {
            let mut cur = Some(*p);
            while let Some(c) = cur {
                if !keep.insert(c) {
                    break;
                }
                cur = parent(c);
            }
        }
    }
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &keep {
        if let Some(par) = parent(p) {
            children.entry(par).or_default().push(p);
        }
    }
    let mut out = Vec::new();
    if keep.contains("/") {
        walk("/", "", true, true, &by_path, &children, &mut out);
    }
    out
}

fn walk(
    path: &str,
    guides: &str,
    last: bool,
    root: bool,
    by_path: &BTreeMap<&str, usize>,
    children: &BTreeMap<&str, Vec<&str>>,
    out: &mut Vec<CgRow>,
) {
    let prefix = if root {
        String::new()
    } else {
        format!("{guides}{}", if last { "└─ " } else { "├─ " })
    };
    let name = if root {
        "/".to_string()
    } else {
        path.rsplit('/').next().unwrap_or(path).to_string()
    };
    out.push(CgRow {
        index: by_path[path],
        prefix,
        name,
    });
    let child_guides = if root {
        String::new()
    } else {
        format!("{guides}{}", if last { "   " } else { "│  " })
    };
    let kids = children.get(path).map(Vec::as_slice).unwrap_or(&[]);
    for (i, k) in kids.iter().enumerate() {
        walk(
            k,
            &child_guides,
            i + 1 == kids.len(),
            false,
            by_path,
            children,
            out,
        );
    }
}

/// The parent of a cgroup path ("/a/b" → "/a", "/a" → "/", "/" → none).
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

/// Memory usage against its limit, when both are known and the limit is not "max".
pub fn memory_ratio(st: &CgroupStats) -> Option<f64> {
    match (st.memory_current, st.memory_max) {
        (Some(cur), Some(Limit::Value(max))) if max > 0 => Some(cur as f64 / max as f64),
        _ => None,
    }
}

/// Pids against pids.max.
pub fn pids_ratio(st: &CgroupStats) -> Option<f64> {
    match (st.pids_current, st.pids_max) {
        (Some(cur), Some(Limit::Value(max))) if max > 0 => Some(cur as f64 / max as f64),
        _ => None,
    }
}

/// CPU used between two readings as a fraction of the quota (or of one CPU when unlimited).
pub fn cpu_ratio(prev: &Cgroup, cur: &Cgroup, elapsed_us: u64) -> Option<f64> {
    let used = cur
        .stats
        .cpu_usage_us?
        .checked_sub(prev.stats.cpu_usage_us?)?;
    if elapsed_us == 0 {
        return None;
    }
    let allowed = match (cur.stats.cpu_quota_us, cur.stats.cpu_period_us) {
        (Some(Limit::Value(q)), Some(p)) if p > 0 => q as f64 / p as f64,
        _ => 1.0,
    };
    Some(used as f64 / elapsed_us as f64 / allowed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
    }
}
