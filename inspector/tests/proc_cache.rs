//! The proc reader between passes: what a refresh reads again and what it carries over.
//!
//! - command line and namespaces are reused only for the same process image (pid, start time,
//!   comm); an exec (new comm), a new process on the same pid (new start time) or the periodic
//!   full re-read reads them again; cgroups are read whenever stat is;
//! - a process that nothing says has changed (not watched, not young, its pid and its parent's
//!   not handed out since, its parent still there) is carried over unread, and read again as
//!   soon as one of those changes.
//!
//! The proc roots here are temp dirs; one with `self`, `loadavg`, `stat` and `pid_max` like
//! the host's own /proc lets the reader follow the pid allocator.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::proc::{ProcReader, Watch, REREAD_EVERY, YOUNG_SECS};
use ocitop::model::{NsKind, Process};
use std::collections::HashSet;
use std::path::Path;

struct Proc<'a> {
    pid: u32,
    ppid: u32,
    comm: &'a str,
    state: char,
    start: u64,
    net: u64,
    arg: &'a str,
    cgroup: &'a str,
    /// Fields 26, 28 and 48 of stat: where the image's code, stack and arguments are.
    image: [u64; 3],
    /// The process it is a thread of (`Tgid:` of status), if not its own.
    tgid: Option<u32>,
}

impl Default for Proc<'_> {
    fn default() -> Self {
        Proc {
            pid: 42,
            ppid: 1,
            comm: "sleep",
            state: 'S',
            start: 100,
            net: 1,
            arg: "sleep",
            cgroup: "/a",
            image: [0x5000, 0x7ff0, 0x7fe0],
            tgid: None,
        }
    }
}

fn write_proc(root: &Path, p: Proc) {
    let dir = root.join(p.pid.to_string());
    std::fs::create_dir_all(dir.join("ns")).unwrap();
    // Fields 1-24 as proc(5) lists them, then 25-52 zero but for the image's three.
    let mut tail = [0u64; 28];
    (tail[1], tail[3], tail[23]) = (p.image[0], p.image[1], p.image[2]);
    let tail: Vec<String> = tail.iter().map(u64::to_string).collect();
    std::fs::write(
        dir.join("stat"),
        format!(
            "{} ({}) {} {} 42 42 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 {} 0 0 {}\n",
            p.pid,
            p.comm,
            p.state,
            p.ppid,
            p.start,
            tail.join(" ")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("cmdline"), format!("{}\0", p.arg)).unwrap();
    std::fs::write(
        dir.join("status"),
        format!(
            "Name:\t{}\nTgid:\t{}\nPid:\t{}\n",
            p.comm,
            p.tgid.unwrap_or(p.pid),
            p.pid
        ),
    )
    .unwrap();
    std::fs::write(dir.join("cgroup"), format!("0::{}\n", p.cgroup)).unwrap();
    let link = dir.join("ns/net");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("net:[{}]", p.net), &link).unwrap();
}

/// Makes `root` look like this process's own /proc: the allocator's last pid, the fork count,
/// the number of tasks and the uptime in seconds. Like the kernel's, they must change when a
/// process is added (a fork) or removed (one task less), or the reader rightly takes the pids
/// it listed before as still the same.
fn write_host(root: &Path, last_pid: u32, forks: u64, tasks: u32, uptime_secs: u64) {
    let own = root.join("self");
    if own.symlink_metadata().is_err() {
        std::os::unix::fs::symlink(std::process::id().to_string(), &own).unwrap();
        std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
        std::fs::write(root.join("sys/kernel/pid_max"), "32768\n").unwrap();
    }
    std::fs::write(
        root.join("loadavg"),
        format!("0.00 0.00 0.00 1/{tasks} {last_pid}\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("stat"),
        format!("cpu 0 0 0 0\nbtime 1\nprocesses {forks}\n"),
    )
    .unwrap();
    std::fs::write(root.join("uptime"), format!("{uptime_secs}.00 0.00\n")).unwrap();
}

/// Makes `root`'s `self` say it is in the initial pid namespace, where the host-wide task
/// counters count exactly what /proc shows (so new pids may be probed instead of listed).
fn in_initial_pid_ns(root: &Path) {
    let ns = root.join(std::process::id().to_string()).join("ns");
    std::fs::create_dir_all(&ns).unwrap();
    std::os::unix::fs::symlink("pid:[4026531836]", ns.join("pid")).unwrap();
}

/// Watch these pids closely and no other.
fn closely(pids: &HashSet<u32>) -> Watch<'_> {
    Watch {
        closely: Some(pids),
        stat_of_all: false,
    }
}

fn only(out: Vec<Process>, pid: u32) -> Process {
    out.into_iter().find(|p| p.pid == pid).unwrap()
}

#[test]
fn cache_follows_the_process_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut r = ProcReader::new(root);
    let init = |comm, start, net, arg, cgroup| Proc {
        comm,
        start,
        net,
        arg,
        cgroup,
        ..Proc::default()
    };
    write_proc(root, init("runc:[2:INIT]", 100, 1, "runc", "/a"));
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("runc", 1)
    );

    // Same image: the cached command line and namespaces, but the fresh cgroup.
    write_proc(root, init("runc:[2:INIT]", 100, 2, "changed", "/b"));
    let p = &r.read_all().unwrap()[0];
    assert_eq!(p.cmdline[0], "runc");
    assert_eq!(p.namespaces[&NsKind::Net], 1);
    assert_eq!(p.main_cgroup(), Some("/b"));
    assert!(!p.carried_over);

    // exec: a new comm, everything is read again.
    write_proc(root, init("sleep", 100, 2, "sleep", "/b"));
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("sleep", 2)
    );

    // exec of the same program: same comm, but the image is mapped elsewhere.
    write_proc(
        root,
        Proc {
            image: [0x6000, 0x7ff8, 0x7fe8],
            ..init("sleep", 100, 5, "sleep-again", "/b")
        },
    );
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("sleep-again", 5)
    );

    // pid reuse: a new start time, read again.
    write_proc(root, init("sleep", 200, 3, "sleep2", "/b"));
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("sleep2", 3)
    );

    // Whatever the image, within REREAD_EVERY passes everything is read again.
    write_proc(root, init("sleep", 200, 4, "sleep3", "/b"));
    let mut seen = Vec::new();
    for _ in 0..REREAD_EVERY {
        seen.push(r.read_all().unwrap()[0].namespaces[&NsKind::Net]);
    }
    assert!(
        seen.contains(&4),
        "a full read within {REREAD_EVERY}: {seen:?}"
    );
}

#[test]
fn a_root_that_is_not_our_own_proc_is_read_every_pass() {
    // No `self` naming this process: the allocator cannot be followed, nothing is carried.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_proc(root, Proc::default());
    let mut r = ProcReader::new(root);
    let none = HashSet::new();
    r.refresh(closely(&none)).unwrap();
    write_proc(
        root,
        Proc {
            state: 'R',
            ..Proc::default()
        },
    );
    let p = only(r.refresh(closely(&none)).unwrap(), 42);
    assert_eq!((p.state, p.carried_over), ('R', false));
}

/// A reader over a tree where pid 42 is old (started at 1 s, the host up 1000 s) and pid 1000
/// was the last pid handed out, after one first pass.
fn settled() -> (tempfile::TempDir, ProcReader) {
    settled_in(false)
}

/// [`settled`], in the initial pid namespace if `initial`.
fn settled_in(initial: bool) -> (tempfile::TempDir, ProcReader) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_host(root, 1000, 5000, 2, 1000);
    if initial {
        in_initial_pid_ns(root);
    }
    write_proc(
        root,
        Proc {
            pid: 1,
            ppid: 0,
            comm: "init",
            ..Proc::default()
        },
    );
    write_proc(root, Proc::default());
    let mut r = ProcReader::new(root);
    r.refresh(closely(&HashSet::new())).unwrap();
    (tmp, r)
}

#[test]
fn an_unchanged_process_nobody_watches_is_carried_over() {
    let (tmp, mut r) = settled();
    let root = tmp.path();
    let none = HashSet::new();
    write_proc(
        root,
        Proc {
            state: 'R',
            cgroup: "/moved",
            ..Proc::default()
        },
    );
    let mut carried = 0;
    let mut last_read = ('S', "/a");
    for _ in 1..REREAD_EVERY {
        let p = only(r.refresh(closely(&none)).unwrap(), 42);
        if p.carried_over {
            carried += 1;
            assert_eq!((p.state, p.main_cgroup()), (last_read.0, Some(last_read.1)));
        } else {
            // Its periodic re-read.
            assert_eq!((p.state, p.main_cgroup()), ('R', Some("/moved")));
            last_read = ('R', "/moved");
        }
    }
    assert_eq!(carried, REREAD_EVERY - 2, "carried over but once");
    assert_eq!(last_read.0, 'R', "read again within {REREAD_EVERY} passes");

    // Watched closely (or everything): stat and cgroup read every pass.
    let watched = HashSet::from([42]);
    for watch in [closely(&watched), Watch::EVERYTHING] {
        write_proc(
            root,
            Proc {
                state: 'D',
                cgroup: "/b",
                ..Proc::default()
            },
        );
        let p = only(r.refresh(watch).unwrap(), 42);
        assert_eq!(
            (p.state, p.main_cgroup(), p.carried_over),
            ('D', Some("/b"), false)
        );
        write_proc(
            root,
            Proc {
                state: 'S',
                cgroup: "/a",
                ..Proc::default()
            },
        );
        let p = only(r.refresh(watch).unwrap(), 42);
        assert_eq!(
            (p.state, p.main_cgroup(), p.carried_over),
            ('S', Some("/a"), false)
        );
    }

    // All on screen but not watched closely: stat every pass, the cgroup kept.
    let all_stat = Watch {
        closely: Some(&none),
        stat_of_all: true,
    };
    write_proc(
        root,
        Proc {
            state: 'D',
            cgroup: "/c",
            ..Proc::default()
        },
    );
    let p = only(r.refresh(all_stat).unwrap(), 42);
    assert_eq!(
        (p.state, p.main_cgroup(), p.carried_over),
        ('D', Some("/a"), false)
    );
}

#[test]
fn a_pid_handed_out_again_is_read_again() {
    let (tmp, mut r) = settled();
    let root = tmp.path();
    let none = HashSet::new();
    // Pid 45 is not due for its periodic re-read (45 % REREAD_EVERY) in the passes below.
    let old = Proc {
        pid: 45,
        ..Proc::default()
    };
    write_proc(root, old);
    write_host(root, 1001, 5001, 3, 1000);
    r.refresh(closely(&none)).unwrap();
    // What the files of 45 say changes, but no task came or went and the allocator did not
    // move: the kernel cannot have given 45 to anyone else, 45 is still the old process.
    let new = Proc {
        pid: 45,
        comm: "new",
        start: 99_000,
        arg: "new",
        ..Proc::default()
    };
    write_proc(root, new);
    let p = only(r.refresh(closely(&none)).unwrap(), 45);
    assert!(
        p.carried_over && &*p.comm == "sleep",
        "the cursor did not pass 45: {p:?}"
    );
    // Now 45 died and the allocator wrapped round and gave 45 to a new process (pid_max
    // 32768): read again.
    write_host(root, 50, 5200, 3, 1000);
    let p = only(r.refresh(closely(&none)).unwrap(), 45);
    assert_eq!((&*p.comm, p.cmdline[0].as_str()), ("new", "new"));
    assert!(!p.carried_over);
}

#[test]
fn a_young_process_and_an_orphan_are_read_again() {
    let (tmp, mut r) = settled();
    let root = tmp.path();
    let none = HashSet::new();
    // Started 5 s ago (the host is up 1000 s, start times are in USER_HZ ticks, 100 a
    // second): it may still exec. Pid 47 is not due for its periodic re-read (47 % REREAD_EVERY) in
    // the passes below.
    write_proc(
        root,
        Proc {
            pid: 47,
            ppid: 42,
            comm: "sh",
            start: 995 * 100,
            ..Proc::default()
        },
    );
    write_host(root, 1001, 5001, 3, 1000);
    r.refresh(closely(&none)).unwrap();
    write_proc(
        root,
        Proc {
            pid: 47,
            ppid: 42,
            comm: "conmon",
            start: 995 * 100,
            arg: "conmon",
            ..Proc::default()
        },
    );
    let p = only(r.refresh(closely(&none)).unwrap(), 47);
    assert_eq!((&*p.comm, p.cmdline[0].as_str()), ("conmon", "conmon"));

    // Later, no longer young: carried over, until its parent goes and it is re-parented.
    write_host(root, 1001, 5001, 3, 995 + YOUNG_SECS + 1);
    write_proc(
        root,
        Proc {
            pid: 47,
            ppid: 1,
            comm: "conmon",
            start: 995 * 100,
            arg: "conmon",
            ..Proc::default()
        },
    );
    let p = only(r.refresh(closely(&none)).unwrap(), 47);
    assert!(p.carried_over && p.ppid == 42, "{p:?}");
    std::fs::remove_dir_all(root.join("42")).unwrap();
    write_host(root, 1001, 5001, 2, 995 + YOUNG_SECS + 1);
    let out = r.refresh(closely(&none)).unwrap();
    assert!(out.iter().all(|p| p.pid != 42));
    let p = only(out, 47);
    assert_eq!((p.ppid, p.carried_over), (1, false));
}

#[test]
fn the_pids_are_listed_again_only_when_a_task_came_or_went() {
    let (tmp, mut r) = settled();
    let root = tmp.path();
    let none = HashSet::new();
    let pids = |out: Vec<Process>| out.iter().map(|p| p.pid).collect::<Vec<_>>();
    // A pid dir appearing without a fork: the kernel cannot do that, the old listing holds.
    write_proc(
        root,
        Proc {
            pid: 50,
            ..Proc::default()
        },
    );
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42]);
    // A fork: listed again.
    write_host(root, 1001, 5001, 3, 1000);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 50]);
    // A task reaped, no fork: listed again.
    std::fs::remove_dir_all(root.join("50")).unwrap();
    write_host(root, 1001, 5001, 2, 1000);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42]);
}

#[test]
fn a_young_process_is_read_until_it_has_exec_d_and_stayed() {
    let (tmp, mut r) = settled();
    let root = tmp.path();
    let none = HashSet::new();
    // Started 5 s ago, both children of 42: 47 forked and has not exec'd (42's image), 48
    // has exec'd (an image of its own). Neither is due for its periodic re-read below.
    let young = |pid, image| Proc {
        pid,
        ppid: 42,
        start: 995 * 100,
        image,
        ..Proc::default()
    };
    write_proc(root, young(47, Proc::default().image));
    write_proc(root, young(48, [0x9000, 0x7ee0, 0x7ed0]));
    write_host(root, 1002, 5002, 4, 1000);
    let carried = |out: &[Process], pid| out.iter().find(|p| p.pid == pid).unwrap().carried_over;
    let out = r.refresh(closely(&none)).unwrap();
    assert!(!carried(&out, 47) && !carried(&out, 48), "new: read");
    let out = r.refresh(closely(&none)).unwrap();
    assert!(
        !carried(&out, 47) && !carried(&out, 48),
        "young: read again"
    );
    // 48 has shown the same image of its own twice: settled, carried over like any other;
    // 47 may still exec, and is read on.
    for _ in 0..3 {
        let out = r.refresh(closely(&none)).unwrap();
        assert!(!carried(&out, 47) && carried(&out, 48));
    }
    // 47 execs: seen at once, and settles in turn.
    write_proc(
        root,
        Proc {
            comm: "nginx",
            arg: "nginx",
            ..young(47, [0xa000, 0x7dd0, 0x7dc0])
        },
    );
    let p = only(r.refresh(closely(&none)).unwrap(), 47);
    assert_eq!(
        (&*p.comm, p.cmdline[0].as_str(), p.carried_over),
        ("nginx", "nginx", false)
    );
    r.refresh(closely(&none)).unwrap();
    assert!(only(r.refresh(closely(&none)).unwrap(), 47).carried_over);
}

#[test]
fn new_pids_are_found_in_the_allocators_arc_without_listing() {
    let (tmp, mut r) = settled_in(true);
    let root = tmp.path();
    let none = HashSet::new();
    let pids = |out: Vec<Process>| out.iter().map(|p| p.pid).collect::<Vec<_>>();
    // Each pass below is a second after the one before (uptime 1000 s for the first), and
    // pid N is made half a second after the pass before N's.
    let new = |pid: u32| Proc {
        pid,
        start: u64::from(pid - 1) * 100 + 50,
        ..Proc::default()
    };
    // A pid dir the allocator cannot have handed out (60 is not in the arc): were /proc
    // listed, it would show. So it proves which passes listed.
    write_proc(root, new(60));
    let listed = r.how.listed;

    // A fork: 1001, the only pid in the arc, is found there.
    write_proc(root, new(1001));
    write_host(root, 1001, 5001, 3, 1001);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 1001]);
    // A new thread of 42: a task in the arc, but no process.
    write_proc(
        root,
        Proc {
            tgid: Some(42),
            ..new(1002)
        },
    );
    write_host(root, 1002, 5002, 4, 1002);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 1001]);
    // A process that came and went between two passes (like `true`): nothing to add.
    write_host(root, 1003, 5003, 4, 1003);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 1001]);
    assert_eq!((r.how.probed, r.how.listed), (3, listed));

    // One task fewer than the new ones account for (the thread of 42 ended): an older task
    // was reaped, which only a listing can name.
    std::fs::remove_dir_all(root.join("1002")).unwrap();
    write_host(root, 1003, 5003, 3, 1004);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 60, 1001]);
    assert_eq!(r.how.listed, listed + 1);
    // An older process (1001) gone as a new one (1004) came: listed.
    std::fs::remove_dir_all(root.join("1001")).unwrap();
    write_proc(
        root,
        Proc {
            start: 1004 * 100 + 50,
            ..new(1004)
        },
    );
    write_host(root, 1004, 5004, 3, 1005);
    assert_eq!(pids(r.refresh(closely(&none)).unwrap()), [1, 42, 60, 1004]);
    assert_eq!(r.how.listed, listed + 2);
    // A new task that started in the very tick of the previous pass's uptime cannot be told
    // from one the cursor skipped: listed.
    write_proc(
        root,
        Proc {
            start: 1005 * 100,
            ..new(1005)
        },
    );
    write_host(root, 1005, 5005, 4, 1006);
    assert_eq!(
        pids(r.refresh(closely(&none)).unwrap()),
        [1, 42, 60, 1004, 1005]
    );
    assert_eq!(r.how.listed, listed + 3);
}
