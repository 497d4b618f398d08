//! runc's `exec`: a new process in a running container, in all its namespaces, with the
//! container's process as template and the command line's overrides, or a `--process` file.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, ns_inode, stderr, unique_id, wait_exit, Ocirun};
use fixtures::{parse_report, Bundle, Config, TEST_UID};
use serde_json::json;

#[test]
fn exec_joins_the_container_and_returns_its_status() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"]).env(["A=1"])).unwrap();
    let id = unique_id("exec");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let init = oci.state(&id)["pid"].as_i64().unwrap().to_string();

    let out = oci.out([
        "exec",
        "--env",
        "B=2",
        "-u",
        &format!("{TEST_UID}"),
        &id,
        "/bin/probe",
        "report",
        "exit:4",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    for k in ["pid", "net", "ipc", "uts", "mnt"] {
        assert_eq!(r.namespaces[k], ns_inode(&init, k), "{k}");
    }
    assert_eq!(r.env, ["A=1", "B=2"]);
    assert_eq!(r.uid, TEST_UID);
    assert_ne!(r.pid, 1);
    assert!(r.extra_fds.is_empty(), "{:?}", r.extra_fds);

    let out = oci.out(["exec", &id, "/no/such"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("exec /no/such: no such file or directory"));
}

#[test]
fn exec_with_a_process_file_and_detach() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("execp");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let process = oci.root().join("process.json");
    std::fs::write(
        &process,
        json!({"args": ["/bin/probe", "pause"], "cwd": "/", "user": {"uid": 0, "gid": 0},
               "env": ["X=y"]})
        .to_string(),
    )
    .unwrap();
    let pid_file = oci.root().join("exec.pid");
    oci.ok([
        "exec".as_ref(),
        "-d".as_ref(),
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
        "--process".as_ref(),
        process.as_os_str(),
        id.as_ref(),
    ]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let ps: Vec<i32> = serde_json::from_str(&oci.ok(["ps", "--format", "json", &id])).unwrap();
    assert!(ps.contains(&pid), "exec'd process in the cgroup: {ps:?}");

    std::fs::write(&process, r#"{"args": "probe", "cwd": "/"}"#).unwrap();
    let out = oci.out([
        "exec".as_ref(),
        "--process".as_ref(),
        process.as_os_str(),
        id.as_ref(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("process.json: args: invalid type"),
        "{}",
        stderr(&out)
    );

    // `kill --all` reaches the exec'd process too. Last: the container is stopped after it
    // (its init has exited), and exec would refuse it before reading the process file.
    oci.ok(["kill", "--all", &id, "KILL"]);
    assert!(wait_exit(pid));
}

#[test]
fn exec_in_a_stopped_container_is_an_error() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["exit:0"])).unwrap();
    let id = unique_id("execstop");
    let _guard = oci.create(bundle.path(), &id);
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    oci.ok(["start", &id]);
    assert!(wait_exit(pid));
    let out = oci.out(["exec", &id, "/bin/probe"]);
    assert!(stderr(&out).contains(&format!(
        "cannot exec in container {id}: container is stopped"
    )));
}

/// containerd and conmon read `--pid-file` as soon as it appears: like runc (and `create`),
/// exec writes it whole to a temporary file and renames it over the path. A file that was
/// there before is replaced, never truncated and rewritten in place.
#[test]
fn exec_pid_file_is_replaced_atomically() {
    if !is_root() {
        return;
    }
    use std::io::Read;
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("execpidf");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("exec.pid");
    std::fs::write(&pid_file, "stale").unwrap();
    let mut before = std::fs::File::open(&pid_file).unwrap();
    oci.ok([
        "exec".as_ref(),
        "-d".as_ref(),
        "--pid-file".as_ref(),
        pid_file.as_os_str(),
        id.as_ref(),
        "/bin/probe".as_ref(),
        "pause".as_ref(),
    ]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let mut old = String::new();
    before.read_to_string(&mut old).unwrap();
    assert_eq!(old, "stale", "the old pid file was rewritten in place");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["exec.pid"],
        "only the pid file is left in its directory"
    );
    oci.ok(["kill", "--all", &id, "KILL"]);
    assert!(wait_exit(pid));
}
