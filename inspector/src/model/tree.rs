//! The process tree as rows to draw: pod → shim → container init → children, with host
//! processes folded away unless asked for, a filter that keeps the matches and their
//! ancestors (and a matching container's or pod's whole tree), one container followed,
//! collapsed subtrees and sibling order by pid, CPU, memory or start time (htop's tree
//! view). Shared by the TUI and `ocitop --once`.
//!
//! Where a process is drawn is its parent in /proc, except:
//! - an exec session belongs under its container: a conmon podman starts per `podman exec`
//!   (it names the container), and a member whose parent is not one (what `runc exec -d` or
//!   `nsenter` left to pid 1) hang under the container's shim, else its init;
//! - the containers of a pod are grouped under the pod, as k9s does: a row for the pod, and
//!   under it the shims (one per pod with CRI, one per container with podman) or the inits
//!   without one, and its containers that have no host process (in a VM, STALE).

use super::containers::ProcIndex;
use super::{Container, Snapshot, Status};
use std::collections::{BTreeSet, HashMap, HashSet};

/// How siblings are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    Pid,
    /// Highest first.
    Cpu,
    /// Resident memory, highest first.
    Memory,
    /// Start time, oldest first.
    Start,
}

impl SortBy {
    pub const ALL: [SortBy; 4] = [SortBy::Pid, SortBy::Cpu, SortBy::Memory, SortBy::Start];

    pub fn name(self) -> &'static str {
        match self {
            SortBy::Pid => "pid",
            SortBy::Cpu => "cpu",
            SortBy::Memory => "memory",
            SortBy::Start => "start",
        }
    }
}

/// What the tree shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// Show every process (the full tree from pid 1), not only shims and containers.
    pub show_host: bool,
    /// Keep rows matching this text (name, command line, container or pod id or name, exact
    /// pid) and their ancestors.
    pub filter: Option<String>,
    /// Show only this container (by id).
    pub follow: Option<String>,
    /// Pids whose children are hidden.
    pub collapsed: BTreeSet<u32>,
    /// Pods (by id) whose rows are hidden.
    pub collapsed_pods: BTreeSet<String>,
    pub sort: SortBy,
    /// The other way round.
    pub reverse: bool,
}

/// What one row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    Process(u32),
    /// A container with no live host process (STALE, stopped, in a VM), by index.
    Container(usize),
    /// A pod, by index into `Snapshot::pods`.
    Pod(usize),
}

/// What a row is across snapshots (indexes change when containers come and go).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Process(u32),
    Container(String),
    Pod(String),
}

impl Item {
    pub fn key(self, s: &Snapshot) -> Option<Key> {
        Some(match self {
            Item::Process(pid) => Key::Process(pid),
            Item::Container(i) => Key::Container(s.containers.get(i)?.id.clone()),
            Item::Pod(i) => Key::Pod(s.pods.get(i)?.id.clone()),
        })
    }
}

/// One row: the item and the tree guides drawn before it ("│  ├─ ").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub item: Item,
    pub prefix: String,
    pub depth: usize,
    /// Whether it has children that are hidden because it is collapsed.
    pub folded: bool,
    /// Whether it has children (shown or folded).
    pub has_children: bool,
}

/// Builds the rows for these options, siblings ordered without CPU rates.
pub fn rows(s: &Snapshot, opts: &TreeOptions) -> Vec<Row> {
    rows_with(s, opts, &|_| None)
}

/// Builds the rows; `cpu` gives a process's CPU use (percent of a CPU) for the CPU order.
pub fn rows_with(s: &Snapshot, opts: &TreeOptions, cpu: &dyn Fn(u32) -> Option<f64>) -> Vec<Row> {
    let t = Tree::new(s, opts);
    let keep = opts
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|f| t.matching(f));
    let shown = |n: Item| keep.as_ref().is_none_or(|k| k.contains(&n));
    let order = |a: &Item, b: &Item| t.compare(*a, *b, cpu);
    let mut roots: Vec<Item> = t.roots.iter().copied().filter(|&n| shown(n)).collect();
    roots.sort_by(order);
    // Containers with nothing on the host and no pod go last, as before.
    roots.sort_by_key(|n| matches!(n, Item::Container(_)));
    let mut out = Vec::new();
    let n = roots.len();
    for (i, root) in roots.into_iter().enumerate() {
        t.walk(root, 0, "", i + 1 == n, true, &shown, &order, &mut out);
    }
    out
}

/// The nodes in view and their display parents.
struct Tree<'a> {
    s: &'a Snapshot,
    opts: &'a TreeOptions,
    index: ProcIndex<'a>,
    children: HashMap<Item, Vec<Item>>,
    parent: HashMap<Item, Item>,
    roots: Vec<Item>,
}

impl<'a> Tree<'a> {
    fn new(s: &'a Snapshot, opts: &'a TreeOptions) -> Self {
        let index = ProcIndex::new(&s.processes);
        let exec_shims = exec_shims(s);
        let followed = opts
            .follow
            .as_deref()
            .and_then(|id| s.containers.iter().position(|c| c.id == id));
        // The processes the view is about.
        let mut scope: HashSet<u32> = HashSet::new();
        if let Some(ci) = followed {
            let c = &s.containers[ci];
            scope.extend(c.pids.iter().copied());
            scope.extend(c.shim_pid);
            for (&shim, &of) in &exec_shims {
                if of == ci {
                    scope.extend(index.subtree(shim));
                }
            }
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
        let container_of: HashMap<u32, usize> = s
            .containers
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.pids.iter().map(move |&p| (p, i)))
            .collect();
        let pod_index = |c: &Container| {
            c.pod
                .as_deref()
                .and_then(|id| s.pods.iter().position(|p| p.id == id))
        };
        // Where a container's exec sessions hang: its shim, else its init.
        let anchor = |ci: usize, me: u32| {
            let c = &s.containers[ci];
            c.shim_pid
                .filter(|p| *p != me && scope.contains(p))
                .or(c.init_pid.filter(|p| *p != me && scope.contains(p)))
        };
        let mut parent: HashMap<Item, Item> = HashMap::new();
        // The processes at the top of a pod: its shims, or its inits without a shim.
        let mut pod_tops: HashMap<u32, usize> = HashMap::new();
        for c in &s.containers {
            let Some(pi) = pod_index(c) else { continue };
            match (c.shim_pid.filter(|p| scope.contains(p)), c.init_pid) {
                (Some(shim), _) => pod_tops.insert(shim, pi),
                (None, Some(init)) if scope.contains(&init) => pod_tops.insert(init, pi),
                _ => None,
            };
        }
        for &pid in &scope {
            let Some(p) = index.get(pid) else { continue };
            let real = Some(p.ppid).filter(|pp| scope.contains(pp));
            let exec_of = exec_shims.get(&pid).copied().or_else(|| {
                // A member whose parent is neither a member nor a shim: an exec left to
                // anyone (runc exec -d, nsenter).
                let &ci = container_of.get(&pid)?;
                let c = &s.containers[ci];
                let parent_is_member = c.pids.binary_search(&p.ppid).is_ok();
                let parent_is_shim = s.shim(p.ppid).is_some();
                (c.init_pid != Some(pid) && !parent_is_member && !parent_is_shim).then_some(ci)
            });
            let up = match exec_of.and_then(|ci| anchor(ci, pid)) {
                Some(a) => Some(Item::Process(a)),
                None => match pod_tops.get(&pid) {
                    Some(&pi) => Some(Item::Pod(pi)),
                    None => real.map(Item::Process),
                },
            };
            if let Some(up) = up {
                parent.insert(Item::Process(pid), up);
            }
        }
        // Containers with no live host process: their own rows.
        for (i, c) in s.containers.iter().enumerate() {
            let followed_ok = followed.is_none_or(|f| f == i);
            let listed =
                c.pids.is_empty() && (c.shim_pid.is_none() || c.status == Status::Stale || c.in_vm);
            if listed && followed_ok {
                let up = pod_index(c).map(Item::Pod);
                if let Some(up) = up {
                    parent.insert(Item::Container(i), up);
                } else {
                    parent.remove(&Item::Container(i));
                }
                parent
                    .entry(Item::Container(i))
                    .or_insert(Item::Container(usize::MAX));
            }
        }
        // A pod sits where its first top process would have: under that one's parent.
        let mut pods_used: BTreeSet<usize> = BTreeSet::new();
        for up in parent.values() {
            if let Item::Pod(pi) = up {
                pods_used.insert(*pi);
            }
        }
        for &pi in &pods_used {
            let first = pod_tops
                .iter()
                .filter(|(_, &p)| p == pi)
                .map(|(&pid, _)| pid)
                .min();
            let up = first
                .and_then(|pid| index.get(pid))
                .map(|p| p.ppid)
                .filter(|pp| scope.contains(pp));
            parent.insert(
                Item::Pod(pi),
                up.map_or(Item::Pod(usize::MAX), Item::Process),
            );
        }
        // usize::MAX marks "no parent" for nodes that exist without one.
        let mut children: HashMap<Item, Vec<Item>> = HashMap::new();
        let mut roots = Vec::new();
        let mut nodes: Vec<Item> = scope.iter().map(|&p| Item::Process(p)).collect();
        nodes.extend(
            parent
                .keys()
                .filter(|k| !matches!(k, Item::Process(_)))
                .copied(),
        );
        for n in nodes {
            match parent.get(&n) {
                Some(Item::Pod(usize::MAX) | Item::Container(usize::MAX)) | None => roots.push(n),
                Some(&up) => children.entry(up).or_default().push(n),
            }
        }
        parent.retain(|_, up| !matches!(up, Item::Pod(usize::MAX) | Item::Container(usize::MAX)));
        Tree {
            s,
            opts,
            index,
            children,
            parent,
            roots,
        }
    }

    /// The nodes to keep for a filter: the matches, their ancestors, and everything under a
    /// matching pod or container row.
    fn matching(&self, f: &str) -> HashSet<Item> {
        let mut keep = HashSet::new();
        let all: Vec<Item> = self
            .roots
            .iter()
            .copied()
            .chain(self.children.values().flatten().copied())
            .collect();
        for n in all {
            let hit = match n {
                Item::Process(pid) => matches(self.s, pid, f),
                Item::Container(i) => self
                    .s
                    .containers
                    .get(i)
                    .is_some_and(|c| container_matches(self.s, c, f)),
                Item::Pod(i) => self.s.pods.get(i).is_some_and(|p| pod_matches(p, f)),
            };
            if !hit {
                continue;
            }
            let mut cur = Some(n);
            while let Some(c) = cur {
                if !keep.insert(c) {
                    break;
                }
                cur = self.parent.get(&c).copied();
            }
            if !matches!(n, Item::Process(_)) {
                let mut stack = vec![n];
                while let Some(c) = stack.pop() {
                    keep.insert(c);
                    stack.extend(self.children.get(&c).into_iter().flatten());
                }
            }
        }
        keep
    }

    /// The process that stands for a node when ordering.
    fn representative(&self, n: Item) -> Option<u32> {
        match n {
            Item::Process(pid) => Some(pid),
            Item::Container(i) => self.s.containers.get(i)?.init_pid,
            Item::Pod(_) => self
                .children
                .get(&n)?
                .iter()
                .filter_map(|c| match c {
                    Item::Process(p) => Some(*p),
                    _ => None,
                })
                .min(),
        }
    }

    fn compare(&self, a: Item, b: Item, cpu: &dyn Fn(u32) -> Option<f64>) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let (ra, rb) = (self.representative(a), self.representative(b));
        let proc = |pid: Option<u32>| pid.and_then(|p| self.index.get(p));
        let by = match self.opts.sort {
            SortBy::Pid => Ordering::Equal,
            // Highest first; unknown last.
            SortBy::Cpu => {
                let v = |p: Option<u32>| p.and_then(cpu).unwrap_or(-1.0);
                v(rb).total_cmp(&v(ra))
            }
            SortBy::Memory => {
                let v = |p: Option<u32>| proc(p).and_then(|p| p.rss_kib);
                v(rb).cmp(&v(ra))
            }
            SortBy::Start => {
                let v = |p: Option<u32>| proc(p).map_or(u64::MAX, |p| p.start_ticks);
                v(ra).cmp(&v(rb))
            }
        };
        let by = by.then(ra.unwrap_or(u32::MAX).cmp(&rb.unwrap_or(u32::MAX)));
        let by = by.then_with(|| format!("{a:?}").cmp(&format!("{b:?}")));
        if self.opts.reverse {
            by.reverse()
        } else {
            by
        }
    }

    fn collapsed(&self, n: Item) -> bool {
        match n {
            Item::Process(pid) => self.opts.collapsed.contains(&pid),
            Item::Pod(i) => self
                .s
                .pods
                .get(i)
                .is_some_and(|p| self.opts.collapsed_pods.contains(&p.id)),
            Item::Container(_) => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        n: Item,
        depth: usize,
        guides: &str,
        last: bool,
        root: bool,
        shown: &dyn Fn(Item) -> bool,
        order: &dyn Fn(&Item, &Item) -> std::cmp::Ordering,
        out: &mut Vec<Row>,
    ) {
        let mut children: Vec<Item> = self
            .children
            .get(&n)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&c| shown(c))
            .collect();
        let collapsed = self.collapsed(n);
        let prefix = if root {
            String::new()
        } else {
            format!("{guides}{}", if last { "└─ " } else { "├─ " })
        };
        out.push(Row {
            item: n,
            prefix,
            depth,
            folded: collapsed && !children.is_empty(),
            has_children: !children.is_empty(),
        });
        if collapsed {
            return;
        }
        let child_guides = if root {
            String::new()
        } else {
            format!("{guides}{}", if last { "   " } else { "│  " })
        };
        children.sort_by(order);
        let count = children.len();
        for (i, c) in children.into_iter().enumerate() {
            self.walk(
                c,
                depth + 1,
                &child_guides,
                i + 1 == count,
                false,
                shown,
                order,
                out,
            );
        }
    }
}

/// The shims that hold an exec session of a container rather than the container (podman's
/// conmon per `podman exec`): by shim pid, the container's index.
pub fn exec_shims(s: &Snapshot) -> HashMap<u32, usize> {
    let mut out = HashMap::new();
    for sh in &s.shims {
        let Some(id) = sh.id.as_deref() else { continue };
        let Some(ci) = s.containers.iter().position(|c| {
            c.id == id
                && c.shim_pid != Some(sh.pid)
                && (sh.namespace.is_none() || c.namespace.is_none() || sh.namespace == c.namespace)
        }) else {
            continue;
        };
        if sh.exec || s.containers[ci].shim_pid.is_some() {
            out.insert(sh.pid, ci);
        }
    }
    out
}

/// Whether a container matches a filter text: its id, name or pod's name.
pub fn container_matches(s: &Snapshot, c: &Container, f: &str) -> bool {
    c.id.contains(f)
        || c.name.as_deref().is_some_and(|n| n.contains(f))
        || c.pod
            .as_deref()
            .and_then(|id| s.pod(id))
            .is_some_and(|p| pod_matches(p, f))
}

fn pod_matches(p: &super::Pod, f: &str) -> bool {
    p.id.contains(f)
        || p.name.as_deref().is_some_and(|n| n.contains(f))
        || p.namespace.as_deref().is_some_and(|n| n.contains(f))
}

/// Whether a process matches a filter text: its pid exactly, or the text in its name,
/// command line, or its container's (or the container a shim holds) id, name or pod.
pub fn matches(s: &Snapshot, pid: u32, filter: &str) -> bool {
    if filter.parse::<u32>().ok() == Some(pid) {
        return true;
    }
    let Some(p) = s.process(pid) else {
        return false;
    };
    if p.comm.contains(filter) || p.cmdline.iter().any(|a| a.contains(filter)) {
        return true;
    }
    let held = s.shim(pid).and_then(|sh| {
        s.containers
            .iter()
            .find(|c| c.shim_pid == Some(pid) || sh.id.as_deref() == Some(c.id.as_str()))
    });
    s.container_of(pid)
        .or(held)
        .is_some_and(|c| container_matches(s, c, filter))
        || s.shim(pid)
            .and_then(|sh| sh.id.as_deref())
            .is_some_and(|id| id.contains(filter))
}
