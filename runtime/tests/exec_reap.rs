//! A failed `exec` leaves no process behind (runtime.md "Errors": nothing left behind): every
//! process ocirun forked for it — the first child that joins the namespaces and the process
//! it forks — is waited for on every failure after the fork.
//!
//! This test binary makes itself a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so what
//! ocirun leaves when it exits, zombie or alive, is reparented here where the test sees it. It
//! holds one test only: the other test binaries must not collect orphans.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, ns_inode, stderr, unique_id, Ocirun};
use fixtures::{Bundle, Config};

/// Our children as (pid, state letter from /proc/PID/stat), `Z` for a zombie.
fn our_children() -> Vec<(i32, char)> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me {
            out.push((pid, state));
        }
    }
    out
}

/// Every host pid in the pid namespace whose inode is `ns`.
fn pids_in_pid_ns(ns: u64) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}/ns/pid")).is_ok_and(|m| m.ino() == ns))
        .collect()
}

/// Asserts that only the init is left: as our child (reparented from `create`) and in the
/// container's pid namespace.
fn assert_only_init(init: i32, pid_ns: u64, what: &str) {
    let strays: Vec<_> = our_children()
        .into_iter()
        .filter(|(pid, _)| *pid != init)
        .collect();
    assert!(
        strays.is_empty(),
        "{what}: left behind (pid, state): {strays:?}"
    );
    assert_eq!(
        pids_in_pid_ns(pid_ns),
        [init],
        "{what}: container pid namespace"
    );
}

#[test]
fn failed_exec_leaves_no_zombie_and_no_orphan() {
    if !is_root() {
        return;
    }
    // SAFETY: prctl with integer arguments only.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("execreap");
    let guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let init = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    let pid_ns = ns_inode(&init.to_string(), "pid");
    assert_only_init(init, pid_ns, "before exec");

    // Fails in the process ocirun's first child forked, after it joined the namespaces (the
    // probe's root is read-only, so the missing cwd cannot be created).
    let out = oci.out(["exec", "--cwd", "/no/such/dir", &id, "/bin/probe", "pause"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("create cwd /no/such/dir: read-only file system"),
        "{}",
        stderr(&out)
    );
    assert_only_init(init, pid_ns, "exec with a missing cwd");

    let out = oci.out(["exec", "--detach", &id, "/no/such"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exec /no/such: no such file or directory"),
        "{}",
        stderr(&out)
    );
    assert_only_init(init, pid_ns, "exec --detach of a missing binary");

    // The process runs, but its pid file cannot be written: it is killed, as runc does.
    for detach in [false, true] {
        let mut args = vec!["exec", "--pid-file", "/no/such/dir/exec.pid"];
        if detach {
            args.push("--detach");
        }
        args.extend([id.as_str(), "/bin/probe", "pause"]);
        let out = oci.out(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("/no/such/dir/exec.pid: no such file or directory"),
            "{}",
            stderr(&out)
        );
        assert_only_init(
            init,
            pid_ns,
            &format!("exec with a bad pid file, detach {detach}"),
        );
    }

    // A successful exec still works, and its process is ours to reap once ocirun exits.
    let out = oci.out(["exec", &id, "/bin/probe", "exit:3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_only_init(init, pid_ns, "exec that exited 3");

    // The init was reparented to us when create's stage-1 exited: reap it, leaving no zombie
    // in this process.
    oci.ok(["kill", &id, "KILL"]);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(init), None);
    drop(guard);
}
