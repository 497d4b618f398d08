//! A container whose init has exited but cannot finish exiting is `stopped`, and `delete`
//! does not wait for it (runtime.md "State": stopped = "the container process has exited").
//!
//! The init of a pid namespace that dies does not become a zombie until every other process
//! of its namespace has been reaped (pid_namespaces(7); the kernel's zap_pid_ns_processes).
//! A process `exec --detach`ed into the container has its parent outside it: the caller of
//! `exec`, or (once `exec` exits) the caller's nearest subreaper. Until that parent waits for
//! it, the killed init stays an exiting task (PF_EXITING in /proc/PID/stat, state `S`): not a
//! zombie, its pidfd never readable, yet out of its cgroup and never to run again.
//!
//! This test binary makes itself a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so the
//! detached process becomes its child, and does not reap it until the end. It holds one test
//! only: the other test binaries must not collect orphans.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{cgroup_exists, is_root, spawn_to_files, stderr, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Field 4 of `/proc/PID/stat`: the parent's pid.
fn parent_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Creates and starts a probe container and `exec --detach`es a second probe into it, whose
/// parent is then this process (the subreaper). Returns (init pid, exec'd pid).
fn start_with_detached_exec(oci: &Ocirun, bundle: &Bundle, id: &str) -> (i32, i32) {
    oci.ok([
        "create".as_ref(),
        "--bundle".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    oci.ok(["start", id]);
    let init = oci.state(id)["pid"].as_i64().unwrap() as i32;
    let pid_file = oci.root().join(format!("{id}.exec.pid"));
    let pid_file = pid_file.to_str().unwrap();
    oci.ok([
        "exec",
        "--detach",
        "--pid-file",
        pid_file,
        id,
        "/bin/probe",
        "pause",
    ]);
    let exec = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let me = std::process::id() as i32;
    assert_eq!(parent_of(exec), me, "the detached process is our child");
    (init, exec)
}

/// Reaps the exec'd process (a zombie by now), which lets the init finish exiting, then the
/// init (reparented to us when create's stage-1 exited).
fn reap(init: i32, exec: i32) {
    let _ = waitpid(Pid::from_raw(exec), None);
    let _ = waitpid(Pid::from_raw(init), None);
}

#[test]
fn exiting_init_is_stopped_and_delete_does_not_wait_for_it() {
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

    // The init killed from outside: stuck exiting while our exec'd zombie is unreaped.
    let id = unique_id("exiting");
    let guard = oci.guard(&id);
    let (init, exec) = start_with_detached_exec(&oci, &bundle, &id);
    nix::sys::signal::kill(Pid::from_raw(init), nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(
        common::wait_exit(exec),
        "the exec'd process dies with the init"
    );
    let state = oci.state(&id);
    assert_eq!(state["status"], "stopped", "{state}");
    assert!(state.get("pid").is_none(), "{state}");
    let out = oci.out(["kill", &id, "TERM"]);
    assert!(
        stderr(&out).contains("container not running"),
        "{}",
        stderr(&out)
    );
    // A stopped container is deleted without --force, its cgroup with it.
    oci.ok(["delete", &id]);
    assert!(!oci.state_dir(&id).exists());
    assert!(!cgroup_exists(&id), "cgroup of {id} left behind");
    drop(guard);
    reap(init, exec);

    // delete --force kills the init itself, which then cannot finish exiting either. The
    // deadline only catches a delete that waits for the init (it used to give up after 10 s);
    // a delete that does not wait takes a fraction of it.
    let id = unique_id("exiting-force");
    let guard = oci.guard(&id);
    let (init, exec) = start_with_detached_exec(&oci, &bundle, &id);
    let mut spawned = spawn_to_files(&mut oci.cmd(["delete", "--force", &id]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while spawned.0.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let waited = spawned.0.try_wait().unwrap().is_none();
    if waited {
        let _ = spawned.0.kill();
    }
    let out = common::finish(spawned);
    reap(init, exec);
    assert!(!waited, "delete --force waits for the exiting init");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(!oci.state_dir(&id).exists());
    assert!(!cgroup_exists(&id), "cgroup of {id} left behind");
    drop(guard);
}
