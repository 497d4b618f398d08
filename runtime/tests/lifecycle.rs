//! runtime.md "Lifecycle" and "Operations" through the command line: create leaves the
//! process waiting, start runs it, kill signals it, delete removes everything; each operation
//! in a wrong state or on an unknown id fails with one line naming the id and changes nothing.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{finish, is_root, spawn_to_files, stderr, unique_id, wait_exit, Ocirun};
use fixtures::{Bundle, Config};

/// runtime.md "State": the REQUIRED fields, with their types.
fn assert_state_shape(state: &serde_json::Value, id: &str, status: &str) {
    assert_eq!(state["ociVersion"], "1.3.0");
    assert_eq!(state["id"], id);
    assert_eq!(state["status"], status);
    let bundle = state["bundle"].as_str().unwrap();
    assert!(bundle.starts_with('/'), "bundle must be absolute: {bundle}");
    if status == "created" || status == "running" {
        assert!(
            state["pid"].as_i64().unwrap() > 0,
            "pid required when {status}"
        );
    }
}

#[test]
fn create_start_kill_delete() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("life");
    let pid_file = oci.root().join("pid");
    oci.ok([
        "create".as_ref(),
        "--bundle".as_ref(),
        bundle.path().as_os_str(),
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
        id.as_ref(),
    ]);
    let _guard = oci.guard(&id);

    // Step 2: created, the user program not run yet (the init still waits on the fifo).
    let state = oci.state(&id);
    assert_state_shape(&state, &id, "created");
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert!(oci.state_dir(&id).join("exec.fifo").exists());
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "ocirun[2:INIT]",
        "the probe must not run before start"
    );
    assert_eq!(
        state["bundle"],
        bundle.path().canonicalize().unwrap().to_str().unwrap()
    );

    // Step 6-8: start runs the program; the fifo is gone.
    oci.ok(["start", &id]);
    assert_state_shape(&oci.state(&id), &id, "running");
    assert!(!oci.state_dir(&id).join("exec.fifo").exists());
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "probe");

    // Step 10: kill; the probe exits on the signal.
    oci.ok(["kill", &id, "KILL"]);
    assert!(wait_exit(pid));
    assert_state_shape(&oci.state(&id), &id, "stopped");

    // Step 11-12: delete removes the state and the cgroup.
    oci.ok(["delete", &id]);
    assert!(!oci.state_dir(&id).exists());
    assert!(!common::cgroup_exists(&id));
    let out = oci.out(["state", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("container {id} does not exist")));
}

#[test]
fn wrong_state_operations_fail_and_change_nothing() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("wrong");
    let _guard = oci.create(bundle.path(), &id);

    // delete on created (not stopped) without --force.
    let out = oci.out(["delete", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!(
        "cannot delete container {id}: container is created"
    )));
    assert_eq!(oci.status(&id), "created");

    oci.ok(["start", &id]);
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    // start on running.
    let out = oci.out(["start", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!(
        "cannot start container {id}: container is running"
    )));
    // delete on running.
    let out = oci.out(["delete", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("container is running"));
    assert_eq!(oci.status(&id), "running");

    oci.ok(["kill", &id, "9"]);
    assert!(wait_exit(pid));
    // kill and start on stopped.
    let out = oci.out(["kill", &id, "TERM"]);
    assert!(stderr(&out).contains(&format!(
        "cannot kill container {id}: container not running (status stopped)"
    )));
    let out = oci.out(["start", &id]);
    assert!(stderr(&out).contains("container is stopped"));
    assert!(oci.state_dir(&id).exists());
    oci.ok(["delete", &id]);
}

#[test]
fn unknown_and_invalid_ids_are_errors() {
    let oci = Ocirun::new();
    for cmd in ["start", "state", "kill", "delete"] {
        let out = oci.out([cmd, "nope"]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            stderr(&out).contains("container nope does not exist"),
            "{cmd}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{cmd}: one line");
    }
    for bad in ["..", "a/b", "", "x y"] {
        let out = oci.out(["state", bad]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("invalid container id"), "{bad:?}");
    }
    // runc: delete --force of an unknown id succeeds.
    assert!(oci.out(["delete", "--force", "nope"]).status.success());
}

#[test]
fn duplicate_id_is_refused() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("dup");
    let _guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].clone();
    let out = oci.create_out(bundle.path(), &id);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("container {id} already exists")));
    assert_eq!(
        oci.state(&id)["pid"],
        pid,
        "the first container is untouched"
    );
}

#[test]
fn delete_force_kills_a_running_container() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("force");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    oci.ok(["delete", "--force", &id]);
    assert!(wait_exit(pid));
    assert!(!oci.state_dir(&id).exists());
    assert!(!common::cgroup_exists(&id));
}

#[test]
fn kill_all_signals_every_process_of_the_cgroup() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    // Without a pid namespace the init is not special: busybox sh with a background child.
    let config = Config::new()
        .args(["/bin/sh", "-c", "sleep 1000 & exec sleep 1001"])
        .remove_namespace("pid");
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("killall");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let pids = oci.ok(["ps", "--format", "json", &id]);
    let pids: Vec<i32> = serde_json::from_str(&pids).unwrap();
    oci.ok(["kill", "--all", &id, "KILL"]);
    for pid in &pids {
        assert!(wait_exit(*pid), "pid {pid} survived kill --all");
    }
    oci.ok(["delete", &id]);
}

/// runc's `kill --all` of a stopped container signals what its init left in the cgroup:
/// containerd's shim runs it after the init of a container sharing a pid namespace exits
/// (the processes it started outlive it there), and must not be told "not running".
#[test]
fn kill_all_reaches_what_a_stopped_init_left_in_its_cgroup() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let config = Config::new()
        .args(["/bin/sh", "-c", "sleep 1000 & exit 0"])
        .remove_namespace("pid");
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("killall-stopped");
    let _guard = oci.create(bundle.path(), &id);
    let init = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    oci.ok(["start", &id]);
    assert!(wait_exit(init), "the init did not exit");
    assert_eq!(oci.status(&id), "stopped");
    let left = common::cgroup_procs(&id);
    assert_eq!(left.len(), 1, "the background sleep is left: {left:?}");
    oci.ok(["kill", "--all", &id, "KILL"]);
    assert!(wait_exit(left[0]), "pid {} survived kill --all", left[0]);
    // Without --all a stopped container still cannot be signalled.
    let out = oci.out(["kill", &id, "KILL"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not running"), "{}", stderr(&out));
    oci.ok(["delete", &id]);
}

#[test]
fn start_without_process_is_an_error() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::new().remove("/process")).unwrap();
    let id = unique_id("noproc");
    let _guard = oci.create(bundle.path(), &id);
    let out = oci.out(["start", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no process"), "{}", stderr(&out));
}

#[test]
fn list_shows_containers_like_runc() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("list");
    let _guard = oci.create(bundle.path(), &id);
    let table = oci.ok(["list"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], id);
    assert_eq!(row[2], "created");
    assert_eq!(row[5], "root");
    assert_eq!(oci.ok(["list", "-q"]).trim(), id);
    let json: serde_json::Value =
        serde_json::from_str(&oci.ok(["list", "--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], id.as_str());
    assert_eq!(json[0]["status"], "created");
}

#[test]
fn concurrent_commands_on_one_id_are_serialized() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("race");
    let _guard = oci.create(bundle.path(), &id);
    // Eight concurrent starts: exactly one may succeed, the rest see "running".
    let children: Vec<_> = (0..8)
        .map(|_| spawn_to_files(&mut oci.cmd(["start", &id])))
        .collect();
    let outs: Vec<_> = children.into_iter().map(finish).collect();
    let ok = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(ok, 1, "{:?}", outs.iter().map(stderr).collect::<Vec<_>>());
    for o in outs.iter().filter(|o| !o.status.success()) {
        assert!(stderr(o).contains("container is running"), "{}", stderr(o));
    }
    // Concurrent creates of one id: exactly one wins.
    let id2 = unique_id("race2");
    let _guard2 = oci.guard(&id2);
    let children: Vec<_> = (0..4)
        .map(|_| spawn_to_files(&mut oci.create_cmd(bundle.path(), &id2)))
        .collect();
    let outs: Vec<_> = children.into_iter().map(finish).collect();
    assert_eq!(outs.iter().filter(|o| o.status.success()).count(), 1);
    assert_eq!(oci.status(&id2), "created");
}

#[test]
fn errors_are_logged_as_runc_json_lines() {
    let oci = Ocirun::new();
    let log = oci.root().join("log.json");
    let out = oci.out([
        "--log".as_ref(),
        log.as_os_str(),
        "--log-format".as_ref(),
        "json".as_ref(),
        "start".as_ref(),
        "ghost".as_ref(),
    ]);
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert_eq!(line["msg"], "container ghost does not exist");
    assert!(line["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn pause_and_resume_freeze_the_container() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("freeze");
    let _guard = oci.create(bundle.path(), &id);
    let out = oci.out(["pause", &id]);
    assert!(stderr(&out).contains(&format!(
        "cannot pause container {id}: container is created"
    )));
    oci.ok(["start", &id]);
    let pid = oci.state(&id)["pid"].as_i64().unwrap();
    oci.ok(["pause", &id]);
    assert_eq!(oci.status(&id), "paused");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let state = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(state == "D" || state == "S", "frozen task state {state}");
    let out = oci.out(["resume", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(oci.status(&id), "running");
    let out = oci.out(["resume", &id]);
    assert!(stderr(&out).contains("container is running"));
    // A paused container can still be deleted with --force (thawed to let SIGKILL land).
    oci.ok(["pause", &id]);
    oci.ok(["delete", "--force", &id]);
    assert!(wait_exit(pid as i32));
    assert!(!common::cgroup_exists(&id));
}

/// An init that dies without a word during create (here killed by a createRuntime hook, which
/// reads its pid from the state on stdin) fails create with one line naming the container,
/// like every other error, and leaves nothing behind.
#[test]
fn create_names_the_container_when_its_init_dies() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let kill_init = r#"pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p'); kill -9 "$pid""#;
    let config = Config::probe(&["pause"]).set(
        "/hooks",
        serde_json::json!({
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", kill_init]}],
        }),
    );
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("initdies");
    let out = oci.create_out(bundle.path(), &id);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // The error comes first (warnings follow it).
    let first = err.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("ocirun: container {id}: init process exited before the container was created"),
        "{err}"
    );
    assert!(!oci.state_dir(&id).exists());
    assert!(!common::cgroup_exists(&id));
}
