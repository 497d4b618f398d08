//! Namespaces as lsns(8) lists them (with the containers in each, and the process longest in
//! it as its representative), the container × namespace-kind sharing matrix, and where up a
//! process's ancestry each of its namespaces was entered (namespaces(7)).

use super::{Container, Namespace, NsKind, Process, Snapshot};
use std::collections::{BTreeMap, HashMap};

/// One namespace per (kind, inode) with the process longest in it, its member count and the
/// containers whose init is in it, sorted by kind then inode.
pub fn table(
    processes: &[Process],
    host: &BTreeMap<NsKind, u64>,
    containers: &[Container],
) -> Vec<Namespace> {
    // Processes in the same namespaces mostly share one copy of the set (collect::proc):
    // gather them by copy first, then walk each distinct set once.
    type Set = BTreeMap<NsKind, u64>;
    // The longest in: the earliest (start time, pid).
    type Eldest = (u64, u32);
    // By the address of the copy: (the set, its eldest member, how many processes share it).
    let mut by_copy: HashMap<*const Set, (&Set, Eldest, usize)> = HashMap::new();
    for p in processes {
        let set: &Set = &p.namespaces;
        let me = (p.start_ticks, p.pid);
        let e = by_copy.entry(set).or_insert((set, me, 0));
        e.1 = e.1.min(me);
        e.2 += 1;
    }
    let mut seen: BTreeMap<(NsKind, u64), (Eldest, usize)> = BTreeMap::new();
    for (set, eldest, n) in by_copy.into_values() {
        for (&kind, &inode) in set {
            let e = seen.entry((kind, inode)).or_insert((eldest, 0));
            e.0 = e.0.min(eldest);
            e.1 += n;
        }
    }
    let mut holders: HashMap<(NsKind, u64), Vec<String>> = HashMap::new();
    for c in containers {
        for (&k, &ino) in &c.namespaces {
            holders.entry((k, ino)).or_default().push(c.id.clone());
        }
    }
    seen.into_iter()
        .map(|((kind, inode), ((_, owner_pid), members))| {
            let mut containers = holders.remove(&(kind, inode)).unwrap_or_default();
            containers.sort();
            Namespace {
                kind,
                inode,
                owner_pid,
                members,
                host: host.get(&kind) == Some(&inode),
                containers,
            }
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
    /// The container runs in a VM: its namespaces are the guest kernel's.
    InVm,
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
                None if c.in_vm => Share::InVm,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn proc(pid: u32, start_ticks: u64, net: u64) -> Process {
        Process {
            pid,
            ppid: 1,
            comm: "x".into(),
            cmdline: Vec::new().into(),
            state: 'S',
            uids: None,
            gids: None,
            start_ticks,
            cpu_ticks: 0,
            rss_kib: None,
            threads: None,
            namespaces: BTreeMap::from([(NsKind::Net, net)]).into(),
            cgroups: None,
            carried_over: false,
        }
    }

    #[test]
    fn the_representative_is_the_process_longest_in_it() {
        // After the pids wrapped, 305 is a newcomer to net 9; 30000 has been there longest.
        let processes = vec![
            proc(1, 1, 1),
            proc(305, 900_000, 9),
            proc(30000, 5_000, 9),
            proc(30001, 5_000, 9),
        ];
        let c = Container {
            id: "web".into(),
            namespaces: BTreeMap::from([(NsKind::Net, 9)]),
            ..Container::default()
        };
        let t = table(&processes, &host(&processes), &[c]);
        let net9 = t.iter().find(|n| n.inode == 9).unwrap();
        assert_eq!((net9.owner_pid, net9.members), (30000, 3));
        assert_eq!(net9.containers, ["web"]);
        assert!(t
            .iter()
            .find(|n| n.inode == 1)
            .unwrap()
            .containers
            .is_empty());
    }
}
