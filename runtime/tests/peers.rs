//! The tools written for runc drive ocirun unchanged: containerd's runc shim (through `ctr`),
//! podman with conmon, and docker (when dockerd can run), each on private state, with ocirun
//! given as the runc binary. Every scenario checks what a user of the tool sees (exit codes,
//! output, exec, tty, logs, stop, stats) and that nothing named after the container is left:
//! no state dir, cgroup, mount or process.
//!
//! Root only; each test skips with a printed reason when root, /bin/busybox or its tool is
//! missing. CI packages: `containerd podman conmon docker.io busybox-static` (util-linux's
//! `script` for the tty cases is Essential).
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod peers_support;

use peers_support::containerd::Containerd;
use peers_support::docker::Docker;
use peers_support::podman::{Podman, OCIRUN_DEFAULT_ROOT};
use peers_support::{
    assert_no_leaks, code, eventually, in_pty, ok, preflight, run, text, unique, Rootfs,
};
use std::path::Path;

/// A shell that exits with `code` on SIGTERM (pid 1 ignores signals it has no handler for).
fn trap_loop(code: i32) -> String {
    format!("echo logline; trap 'echo got-term; exit {code}' TERM; while :; do sleep 0.1; done")
}

// ---------------------------------------------------------------- containerd (ctr + runc shim)

/// `ctr run --rm`: output reaches ctr and the exit status is ctr's (runtime.md "Lifecycle").
#[test]
fn containerd_run_foreground_exit_status() {
    if !preflight(
        "containerd_run_foreground_exit_status",
        &["containerd", "ctr", "containerd-shim-runc-v2"],
    ) {
        return;
    }
    let rootfs = Rootfs::new();
    let ctd = Containerd::start("peers");
    let id = unique("ctd-fg");
    let out = run(&mut ctd.ctr_run(
        &["--rm"],
        &rootfs.path(),
        &id,
        &["sh", "-c", "echo hello-from-ctr; exit 3"],
    ));
    assert_eq!(code(&out), 3, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("hello-from-ctr"), "{out:?}");
    assert_no_leaks(&id, &[&ctd.runc_root(), &ctd.task_state()]);
}

/// `ctr run -d`, `task ls/ps/exec/kill/delete`, `container delete`: the shim's create, start,
/// state, ps --format json, exec --process --detach, kill and delete.
#[test]
fn containerd_detached_ps_exec_kill_delete() {
    if !preflight(
        "containerd_detached_ps_exec_kill_delete",
        &["containerd", "ctr", "containerd-shim-runc-v2"],
    ) {
        return;
    }
    let rootfs = Rootfs::new();
    let ctd = Containerd::start("peers");
    let id = unique("ctd-d");
    ok(&mut ctd.ctr_run(&["-d"], &rootfs.path(), &id, &["sh", "-c", &trap_loop(5)]));
    assert_eq!(ctd.task_status(&id).as_deref(), Some("RUNNING"));

    // task ps: the init's pid, as `ctr task ls` shows it.
    let ls = ok(&mut ctd.ctr(["task", "ls"]));
    let pid: String = ls
        .lines()
        .find(|l| l.starts_with(&id))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    let ps = ok(&mut ctd.ctr(["task", "ps", &id]));
    assert!(
        ps.lines()
            .any(|l| l.split_whitespace().next() == Some(&pid)),
        "task ps lacks the init {pid}:\n{ps}"
    );

    // task exec: output and exit status of the exec'd process.
    let out = run(&mut ctd.ctr([
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id,
        "sh",
        "-c",
        "echo in-exec; exit 4",
    ]));
    assert_eq!(code(&out), 4, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("in-exec"), "{out:?}");

    // task kill (SIGTERM by default): the trap exits 5, which task delete reports.
    ok(&mut ctd.ctr(["task", "kill", &id]));
    ctd.wait_stopped(&id);
    let out = run(&mut ctd.ctr(["task", "delete", &id]));
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stderr).contains("exit code 5"),
        "task delete should report exit code 5: {}",
        text(&out.stderr)
    );
    ok(&mut ctd.ctr(["container", "delete", &id]));
    assert_no_leaks(&id, &[&ctd.runc_root(), &ctd.task_state()]);
}

/// `ctr run -t` and `ctr task exec -t`: the shim's console socket (runc's --console-socket),
/// the process on a pty, and the exit status through the pty.
#[test]
fn containerd_tty_run_and_exec() {
    if !preflight(
        "containerd_tty_run_and_exec",
        &["containerd", "ctr", "containerd-shim-runc-v2", "script"],
    ) {
        return;
    }
    let rootfs = Rootfs::new();
    let ctd = Containerd::start("peers");
    let id = unique("ctd-tty");
    let script = "tty; test -t 0 && test -t 1 && echo IS-A-TTY; exit 5";
    let out = run(&mut in_pty(&ctd.ctr_run(
        &["--rm", "-t"],
        &rootfs.path(),
        &id,
        &["sh", "-c", script],
    )));
    assert_eq!(code(&out), 5, "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("/dev/pts/") && stdout.contains("IS-A-TTY"),
        "{stdout}"
    );
    assert_no_leaks(&id, &[&ctd.runc_root(), &ctd.task_state()]);

    let id = unique("ctd-exec-tty");
    ok(&mut ctd.ctr_run(&["-d"], &rootfs.path(), &id, &["sleep", "1000"]));
    let out = run(&mut in_pty(&ctd.ctr([
        "task",
        "exec",
        "-t",
        "--exec-id",
        "et",
        &id,
        "sh",
        "-c",
        "tty; test -t 1 && echo IS-A-TTY; exit 6",
    ])));
    assert_eq!(code(&out), 6, "{out:?}");
    assert!(text(&out.stdout).contains("IS-A-TTY"), "{out:?}");
    ctd.kill_and_remove(&id);
    assert_no_leaks(&id, &[&ctd.runc_root(), &ctd.task_state()]);
}

/// `ctr task pause` / `resume`: the shim runs `runc pause` / `runc resume` (runc's command
/// line; config-linux.md has the freezer through cgroups). The task must show PAUSED, then
/// RUNNING again.
#[test]
fn containerd_pause_resume() {
    if !preflight(
        "containerd_pause_resume",
        &["containerd", "ctr", "containerd-shim-runc-v2"],
    ) {
        return;
    }
    let rootfs = Rootfs::new();
    let ctd = Containerd::start("peers");
    let id = unique("ctd-pause");
    ok(&mut ctd.ctr_run(&["-d"], &rootfs.path(), &id, &["sleep", "1000"]));
    let paused = run(&mut ctd.ctr(["task", "pause", &id]));
    let paused_status = ctd.task_status(&id);
    let resumed = run(&mut ctd.ctr(["task", "resume", &id]));
    let resumed_status = ctd.task_status(&id);
    ctd.kill_and_remove(&id);
    assert!(
        paused.status.success(),
        "ctr task pause: {}",
        text(&paused.stderr)
    );
    assert_eq!(paused_status.as_deref(), Some("PAUSED"));
    assert!(
        resumed.status.success(),
        "ctr task resume: {}",
        text(&resumed.stderr)
    );
    assert_eq!(resumed_status.as_deref(), Some("RUNNING"));
    assert_no_leaks(&id, &[&ctd.runc_root(), &ctd.task_state()]);
}

// ---------------------------------------------------------------------- podman (+ conmon)

fn podman_ok(test: &str) -> bool {
    preflight(test, &["podman", "conmon"])
}

/// `podman run --rm`: conmon's create/start, output, the exit code propagated, cleanup.
#[test]
fn podman_run_rm_exit_code() {
    if !podman_ok("podman_run_rm_exit_code") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-rm");
    let out = run(&mut pm.run(
        &["--rm", "--name", &name, "--cidfile", &pm.cidfile(&name)],
        &rootfs.path(),
        &["/bin/sh", "-c", "echo hello-from-podman; exit 3"],
    ));
    assert_eq!(code(&out), 3, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("hello-from-podman"), "{out:?}");
    let all = ok(&mut pm.cmd(["ps", "-a", "--format", "{{.Names}}"]));
    assert!(!all.contains(&name), "--rm left the container: {all}");
    pm.assert_no_leaks(&name);
}

/// A command missing from the rootfs: podman (like docker) exits 127, "command not found", as
/// it does with runc, which fails `create` (not `start`) when `process.args[0]` cannot be
/// found, and says so in the --log file podman reads.
#[test]
fn podman_missing_command_exits_127() {
    if !podman_ok("podman_missing_command_exits_127") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-missing");
    let out = run(&mut pm.run(
        &["--rm", "--name", &name, "--cidfile", &pm.cidfile(&name)],
        &rootfs.path(),
        &["/bin/no-such-command"],
    ));
    assert_eq!(code(&out), 127, "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no-such-command"),
        "the error names the command: {}",
        text(&out.stderr)
    );
    pm.assert_no_leaks(&name);
}

/// `podman run -d`, `ps`, `exec` (plain and -t), `logs`, `stop` (SIGTERM, the trap's exit
/// code in inspect), `rm`.
#[test]
fn podman_detached_ps_exec_logs_stop_rm() {
    if !podman_ok("podman_detached_ps_exec_logs_stop_rm") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-d");
    ok(&mut pm.run(
        &["-d", "--name", &name],
        &rootfs.path(),
        &["/bin/sh", "-c", &trap_loop(0)],
    ));
    let id = pm.id_of(&name);

    let ps = ok(&mut pm.cmd(["ps", "--format", "{{.Names}} {{.Status}}"]));
    assert!(
        ps.lines().any(|l| l.starts_with(&name) && l.contains("Up")),
        "podman ps: {ps}"
    );

    let out = run(&mut pm.cmd(["exec", &name, "sh", "-c", "echo in-exec; exit 4"]));
    assert_eq!(code(&out), 4, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("in-exec"), "{out:?}");

    let out = ok(&mut pm.cmd([
        "exec",
        "-t",
        &name,
        "sh",
        "-c",
        "tty; test -t 1 && echo IS-A-TTY",
    ]));
    assert!(
        out.contains("/dev/pts/") && out.contains("IS-A-TTY"),
        "{out}"
    );

    let out = ok(&mut pm.cmd(["exec", "-u", "1000:1000", &name, "id"]));
    assert!(
        out.contains("uid=1000") && out.contains("gid=1000"),
        "{out}"
    );

    eventually(|| {
        let logs = ok(&mut pm.cmd(["logs", &name]));
        logs.contains("logline")
            .then_some(())
            .ok_or(format!("podman logs: {logs:?}"))
    })
    .unwrap();

    ok(&mut pm.cmd(["stop", "-t", "10", &name]));
    let state = ok(&mut pm.cmd([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        &name,
    ]));
    assert_eq!(
        state.trim(),
        "exited 0",
        "stopped by SIGTERM, the trap exits 0"
    );
    let logs = ok(&mut pm.cmd(["logs", &name]));
    assert!(logs.contains("got-term"), "the trap ran: {logs}");

    ok(&mut pm.cmd(["rm", &name]));
    let all = ok(&mut pm.cmd(["ps", "-a", "--format", "{{.Names}}"]));
    assert!(!all.contains(&name), "{all}");
    assert_no_leaks(&id, &[Path::new(OCIRUN_DEFAULT_ROOT)]);
}

/// `podman run -t`: conmon's console socket; the process on a pty, exit code propagated.
#[test]
fn podman_run_tty() {
    if !podman_ok("podman_run_tty") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-tty");
    let out = run(&mut pm.run(
        &[
            "--rm",
            "-t",
            "--name",
            &name,
            "--cidfile",
            &pm.cidfile(&name),
        ],
        &rootfs.path(),
        &[
            "/bin/sh",
            "-c",
            "tty; test -t 0 && test -t 1 && echo IS-A-TTY; exit 7",
        ],
    ));
    assert_eq!(code(&out), 7, "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("/dev/pts/") && stdout.contains("IS-A-TTY"),
        "{stdout}"
    );
    pm.assert_no_leaks(&name);
}

/// `podman pause` / `unpause`: podman runs `<runtime> pause ID` / `resume ID` (runc's command
/// line) and shows the container paused, then running again.
#[test]
fn podman_pause_unpause() {
    if !podman_ok("podman_pause_unpause") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-pause");
    ok(&mut pm.run(&["-d", "--name", &name], &rootfs.path(), &["sleep", "1000"]));
    let id = pm.id_of(&name);
    let status = || ok(&mut pm.cmd(["inspect", "--format", "{{.State.Status}}", &name]));
    let paused = run(&mut pm.cmd(["pause", &name]));
    let paused_status = status();
    let resumed = run(&mut pm.cmd(["unpause", &name]));
    let resumed_status = status();
    ok(&mut pm.cmd(["rm", "-f", "-t", "0", &name]));
    assert!(
        paused.status.success(),
        "podman pause: {}",
        text(&paused.stderr)
    );
    assert_eq!(paused_status.trim(), "paused");
    assert!(
        resumed.status.success(),
        "podman unpause: {}",
        text(&resumed.stderr)
    );
    assert_eq!(resumed_status.trim(), "running");
    assert_no_leaks(&id, &[Path::new(OCIRUN_DEFAULT_ROOT)]);
}

/// `podman run --memory 64m --pids-limit 50`: config-linux.md "Memory" and "pids"
/// (linux.resources) must be applied, as runc does: the container sees its limits.
#[test]
fn podman_resource_limits_apply() {
    if !podman_ok("podman_resource_limits_apply") {
        return;
    }
    let rootfs = Rootfs::new();
    let pm = Podman::new();
    let name = unique("pm-limits");
    // v1 files first, then the v2 names (a unified host).
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; \
                  cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max";
    let out = ok(&mut pm.run(
        &[
            "--rm",
            "--name",
            &name,
            "--cidfile",
            &pm.cidfile(&name),
            "--memory",
            "64m",
            "--pids-limit",
            "50",
        ],
        &rootfs.path(),
        &["/bin/sh", "-c", script],
    ));
    let values: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        values,
        ["67108864", "50"],
        "memory limit, pids.max inside: {out}"
    );
    pm.assert_no_leaks(&name);
}

/// `podman run --uidmap/--gidmap`: a user namespace (config-linux.md "User namespace
/// mappings") with podman's bind mounts (/dev/shm, /etc/hosts, ...) whose sources sit in
/// podman's 0700 storage: the runtime must reach them from the host user namespace (runc
/// opens them before the init enters the new user namespace), not as the mapped root.
#[test]
fn podman_user_namespace_mappings() {
    if !podman_ok("podman_user_namespace_mappings") {
        return;
    }
    let rootfs = Rootfs::owned_by(100_000, 100_000);
    let pm = Podman::new();
    let name = unique("pm-userns");
    let out = run(&mut pm.run(
        &[
            "--rm",
            "--name",
            &name,
            "--cidfile",
            &pm.cidfile(&name),
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
        ],
        &rootfs.path(),
        &["/bin/sh", "-c", "cat /proc/self/uid_map; id -u"],
    ));
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let fields: Vec<String> = text(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(
        fields,
        ["0", "100000", "65536", "0"],
        "uid_map, id -u inside"
    );
    pm.assert_no_leaks(&name);
}

// ------------------------------------------------------------------------------- docker

/// dockerd on a private containerd, or the reason it cannot run here (printed as a skip).
/// The rootfs is returned too: it must outlive dockerd.
fn docker(test: &str) -> Option<(Docker, Rootfs)> {
    if !preflight(
        test,
        &[
            "dockerd",
            "docker",
            "containerd",
            "containerd-shim-runc-v2",
            "tar",
        ],
    ) {
        return None;
    }
    let rootfs = Rootfs::with_copies();
    match Docker::start(&rootfs.path()) {
        Ok(d) => Some((d, rootfs)),
        Err(why) => {
            eprintln!("skipped {test}: dockerd cannot run here: {why}");
            None
        }
    }
}

/// `docker run --rm --runtime ocirun`: output and exit code; `-t` through a pty.
#[test]
fn docker_run_exit_code_and_tty() {
    let Some((dk, _rootfs)) = docker("docker_run_exit_code_and_tty") else {
        return;
    };
    let out = run(&mut dk.run(
        &["--rm"],
        &["/bin/sh", "-c", "echo hello-from-docker; exit 3"],
    ));
    assert_eq!(code(&out), 3, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("hello-from-docker"), "{out:?}");

    if peers_support::which("script").is_some() {
        let out = run(&mut in_pty(&dk.run(
            &["--rm", "-t"],
            &["/bin/sh", "-c", "tty; test -t 1 && echo IS-A-TTY; exit 7"],
        )));
        assert_eq!(code(&out), 7, "{out:?}");
        assert!(text(&out.stdout).contains("IS-A-TTY"), "{out:?}");
    }
    let all = ok(&mut dk.cmd(["ps", "-aq"]));
    assert!(all.trim().is_empty(), "--rm left: {all}");
    let left: Vec<_> = std::fs::read_dir(dk.runtime_root())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "ocirun state left: {left:?}");
}

/// `docker run -d`, `top` (runtime ps), `exec`, `logs`, `stop`, `rm`.
#[test]
fn docker_detached_exec_logs_stop_rm() {
    let Some((dk, _rootfs)) = docker("docker_detached_exec_logs_stop_rm") else {
        return;
    };
    let name = unique("dk-d");
    let id = ok(&mut dk.run(&["-d", "--name", &name], &["/bin/sh", "-c", &trap_loop(0)]))
        .trim()
        .to_string();
    let top = ok(&mut dk.cmd(["top", &name]));
    assert!(top.contains("while :"), "docker top: {top}");
    let out = run(&mut dk.cmd(["exec", &name, "sh", "-c", "echo in-exec; exit 4"]));
    assert_eq!(code(&out), 4, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains("in-exec"), "{out:?}");
    eventually(|| {
        let logs = ok(&mut dk.cmd(["logs", &name]));
        logs.contains("logline")
            .then_some(())
            .ok_or(format!("docker logs: {logs:?}"))
    })
    .unwrap();
    ok(&mut dk.cmd(["stop", "-t", "10", &name]));
    let state = ok(&mut dk.cmd([
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        &name,
    ]));
    assert_eq!(state.trim(), "exited 0");
    assert!(ok(&mut dk.cmd(["logs", &name])).contains("got-term"));
    ok(&mut dk.cmd(["rm", &name]));
    assert_no_leaks(&id, &[&dk.runtime_root()]);
}

/// `docker update --memory`: the shim runs `runc update --resources -` (runc's command line,
/// the resources as JSON on stdin) and the new limit applies to the running container
/// (config-linux.md "Memory").
#[test]
fn docker_update_memory() {
    let Some((dk, _rootfs)) = docker("docker_update_memory") else {
        return;
    };
    let name = unique("dk-update");
    ok(&mut dk.run(&["-d", "--name", &name], &["sleep", "1000"]));
    let update = run(&mut dk.cmd(["update", "--memory", "64m", "--memory-swap", "128m", &name]));
    let limit = run(&mut dk.cmd([
        "exec",
        &name,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]));
    ok(&mut dk.cmd(["rm", "-f", &name]));
    assert!(
        update.status.success(),
        "docker update: {}",
        text(&update.stderr)
    );
    assert_eq!(text(&limit.stdout).trim(), "67108864", "{limit:?}");
}

/// `docker stats --no-stream` of a container docker runs with ocirun shows the container's
/// own memory limit and pids (containerd's runc shim reads them from the cgroup ocirun
/// placed it in), and `ocirun events --stats` on docker's state agrees.
#[test]
fn docker_stats_and_events_agree() {
    let Some((dk, _rootfs)) = docker("docker_stats_and_events_agree") else {
        return;
    };
    let name = unique("dk-stats");
    let id = ok(&mut dk.run(
        &[
            "-d",
            "--name",
            &name,
            "--memory",
            "64m",
            "--pids-limit",
            "30",
        ],
        &["sleep", "1000"],
    ))
    .trim()
    .to_string();
    let stats = ok(&mut dk.cmd([
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}|{{.PIDs}}",
        &name,
    ]));
    let events = run(std::process::Command::new(peers_support::ocirun())
        .arg("--root")
        .arg(dk.runtime_root())
        .args(["events", "--stats", &id]));
    ok(&mut dk.cmd(["rm", "-f", &name]));
    let (mem, pids) = stats.trim().split_once('|').unwrap();
    assert!(mem.ends_with("/ 64MiB"), "docker stats: {stats}");
    assert_eq!(pids, "1", "docker stats: {stats}");
    assert!(events.status.success(), "{}", text(&events.stderr));
    let event: serde_json::Value = serde_json::from_slice(&events.stdout).unwrap();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["data"]["memory"]["usage"]["limit"], 67108864);
    assert_eq!(
        event["data"]["pids"],
        serde_json::json!({"current": 1, "limit": 30})
    );
    assert_no_leaks(&id, &[&dk.runtime_root()]);
}
