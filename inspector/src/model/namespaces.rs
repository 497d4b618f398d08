//! Namespaces as lsns(8) lists them, the container × namespace-kind sharing matrix, and where
//! up a process's ancestry each of its namespaces was entered (namespaces(7)).

use super::{Namespace, NsKind, Process, Snapshot};
use std::collections::{BTreeMap, HashMap};

/// One namespace per (kind, inode) with its lowest pid and member count, sorted by kind then
/// inode.
pub fn table(processes: &[Process], host: &BTreeMap<NsKind, u64>) -> Vec<Namespace> {
    // Processes in the same namespaces mostly share one copy of the set (collect::proc):
    // gather them by copy first, then walk each distinct set once.
    type Set = BTreeMap<NsKind, u64>;
    // By the address of the copy: (the set, its lowest pid, how many processes share it).
    let mut by_copy: HashMap<*const Set, (&Set, u32, usize)> = HashMap::new();
    for p in processes {
        let set: &Set = &p.namespaces;
        let e = by_copy.entry(set).or_insert((set, p.pid, 0));
        e.1 = e.1.min(p.pid);
        e.2 += 1;
    }
    let mut seen: BTreeMap<(NsKind, u64), (u32, usize)> = BTreeMap::new();
    for (set, lowest, n) in by_copy.into_values() {
        for (&kind, &inode) in set {
            let e = seen.entry((kind, inode)).or_insert((lowest, 0));
            e.0 = e.0.min(lowest);
            e.1 += n;
        }
    }
    seen.into_iter()
        .map(|((kind, inode), (owner_pid, members))| Namespace {
            kind,
            inode,
            owner_pid,
            members,
            host: host.get(&kind) == Some(&inode),
        })
        .collect()
}

/// The host's namespaces: for each kind, pid 1's, else the lowest pid's that can be read
/// (processes are sorted by pid).
pub fn host(processes: &[Process]) -> BTreeMap<NsKind, u64> {
    let mut host = BTreeMap::new();
    for p in processes {
        for (&k, &ino) in p.namespaces.iter() {
            host.entry(k).or_insert(ino);
        }
        if host.len() == NsKind::ALL.len() {
            break;
        }
    }
    host
}

/// How a container holds one kind of namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Share {
    /// The same as pid 1's.
    Host,
    /// Its own: no other container and not the host.
    Own,
    /// Shared with these other containers (by index into `Snapshot::containers`).
    With(Vec<usize>),
    /// Not readable (or the container has no live init).
    Unknown,
}

/// For each container (by index), how it holds each kind of namespace, in [`NsKind::ALL`] order.
pub fn matrix(s: &Snapshot) -> Vec<[Share; 8]> {
    let host = &s.host.namespaces;
    let mut holders: HashMap<(NsKind, u64), Vec<usize>> = HashMap::new();
    for (i, c) in s.containers.iter().enumerate() {
        for (&k, &ino) in &c.namespaces {
            holders.entry((k, ino)).or_default().push(i);
        }
    }
    s.containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            NsKind::ALL.map(|k| match c.namespaces.get(&k) {
                None => Share::Unknown,
                Some(ino) if host.get(&k) == Some(ino) => Share::Host,
                Some(&ino) => {
                    let others: Vec<usize> = holders[&(k, ino)]
                        .iter()
                        .copied()
                        .filter(|&j| j != i)
                        .collect();
                    if others.is_empty() {
                        Share::Own
                    } else {
                        Share::With(others)
                    }
                }
            })
        })
        .collect()
}

/// Where one namespace of a process came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entered {
    pub kind: NsKind,
    pub inode: Option<u64>,
    /// The highest ancestor (the process itself included) still in this namespace whose parent
    /// is in another one: where it was entered (unshare, clone or setns). `None` when the whole
    /// known ancestry shares it (inherited from boot or from outside the snapshot).
    pub at_pid: Option<u32>,
}

/// For each kind, the ancestor where `pid`'s namespace was entered. A process that was
/// reparented (its parent died) shows its new parent's view, as the kernel does.
pub fn entered(s: &Snapshot, pid: u32) -> Vec<Entered> {
    let mut chain = Vec::new();
    let mut cur = s.process(pid);
    while let Some(p) = cur {
        if chain.iter().any(|q: &&Process| q.pid == p.pid) {
            break;
        }
        chain.push(p);
        cur = if p.ppid == 0 { None } else { s.process(p.ppid) };
    }
    NsKind::ALL
        .into_iter()
        .map(|kind| {
            let inode = chain.first().and_then(|p| p.namespaces.get(&kind)).copied();
            let at_pid = inode.and_then(|ino| {
                chain.windows(2).find_map(|w| {
                    let (child, parent) = (w[0], w[1]);
                    // pid 1 may hide its links; the host's namespaces stand in for them.
                    let pi = parent.namespaces.get(&kind).or_else(|| {
                        (parent.pid == 1)
                            .then(|| s.host.namespaces.get(&kind))
                            .flatten()
                    })?;
                    (child.namespaces.get(&kind) == Some(&ino) && *pi != ino).then_some(child.pid)
                })
            });
            Entered {
                kind,
                inode,
                at_pid,
            }
        })
        .collect()
}
