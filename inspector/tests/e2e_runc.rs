//! End to end: start a real container with runc (`runc spec` config, busybox-static rootfs in
//! a temp bundle, `runc run -d`) and find it in `ocitop --json` with its own namespaces and
//! its cgroup, and follow one with a live collector as the TUI does (refreshes that carry over
//! what cannot have changed) through exec and delete. Needs root and runc; the containers are
//! always deleted.

#![allow(clippy::unwrap_used)] // tests may unwrap

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const RUNC: &str = "/usr/sbin/runc";
const BUSYBOX: &str = "/bin/busybox";

/// Deletes the container however the test ends.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(RUNC)
            .args(["delete", "--force", &self.0])
            .status();
    }
}

/// A child process killed (if still running) and waited for however the test ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn skip_reason() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root");
    }
    if !Path::new(RUNC).exists() {
        return Some("needs runc at /usr/sbin/runc");
    }
    if !Path::new(BUSYBOX).exists() {
        return Some("needs busybox-static at /bin/busybox");
    }
    None
}

/// A bundle from `runc spec` with a busybox rootfs, running `sleep 600 & exec sleep 601`.
fn bundle() -> tempfile::TempDir {
    let bundle = tempfile::tempdir().unwrap();
    let rootfs = bundle.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sleep")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    let ok = Command::new(RUNC)
        .arg("spec")
        .current_dir(bundle.path())
        .status()
        .unwrap();
    assert!(ok.success(), "runc spec failed");
    let config_path = bundle.path().join("config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["process"]["terminal"] = Value::Bool(false);
    config["process"]["args"] = serde_json::json!(["sh", "-c", "sleep 600 & exec sleep 601"]);
    std::fs::write(&config_path, config.to_string()).unwrap();
    bundle
}

/// `runc ARGS...` with the container's stdio on files in the bundle (a container inherits
/// runc's stdio: not a pipe nobody would close); panics with runc's stderr if it fails.
fn runc(bundle: &Path, args: &[&str]) {
    let err = bundle.join(format!("runc-{}.err", args[0]));
    let status = Command::new(RUNC)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(bundle.join(format!("runc-{}.out", args[0]))).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "runc {args:?}: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
}

#[test]
fn ocitop_json_finds_a_runc_container() {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let bundle = bundle();
    let id = format!("ocitop-e2e-{}", std::process::id());
    let _cleanup = Container(id.clone());
    let dir = bundle.path().to_str().unwrap();
    runc(bundle.path(), &["run", "--detach", "--bundle", dir, &id]);
    let state: Value = serde_json::from_slice(
        &Command::new(RUNC)
            .args(["state", &id])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let pid = state["pid"].as_u64().unwrap();

    // The shell forks `sleep 600` before exec'ing; wait until both are there.
    let mut snap = Value::Null;
    for _ in 0..50 {
        let out = Command::new(env!("CARGO_BIN_EXE_ocitop"))
            .arg("--json")
            .output()
            .unwrap();
        assert!(out.status.success());
        snap = serde_json::from_slice(&out.stdout).unwrap();
        let c = find(&snap, &id);
        if c["pids"].as_array().is_some_and(|p| p.len() == 2) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let c = find(&snap, &id);
    assert_eq!(c["runtime"], "runc");
    assert_eq!(c["status"], "running");
    assert_eq!(c["init_pid"].as_u64(), Some(pid));
    assert_eq!(c["pids"].as_array().unwrap().len(), 2, "init and its child");
    assert_eq!(c["bundle"].as_str(), Some(bundle.path().to_str().unwrap()));

    // Its namespaces are the init's, read independently here; runc spec asks for new pid,
    // net, ipc, uts and mount namespaces, so those differ from ours.
    for kind in ["mnt", "uts", "ipc", "pid", "net"] {
        let link = std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
        let inode = link
            .to_str()
            .unwrap()
            .split_once(":[")
            .unwrap()
            .1
            .trim_end_matches(']')
            .parse::<u64>()
            .unwrap();
        assert_eq!(c["namespaces"][kind].as_u64(), Some(inode), "{kind}");
        let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        assert_ne!(link, ours, "{kind} should be the container's own");
    }

    // Its cgroup is the one /proc/PID/cgroup names, and the cgroup is in the snapshot.
    let cgroup_file = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let cgroup = c["cgroup"].as_str().unwrap();
    assert!(cgroup.ends_with(&id), "cgroup {cgroup} names the container");
    assert!(cgroup_file.contains(cgroup));
    let cg = snap["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"] == cgroup)
        .expect("the container's cgroup is listed");
    assert!(cg["procs"].as_u64().unwrap() >= 2);

    // A second one only created (its init waits on runc's exec.fifo): created, not running.
    let waiting = format!("{id}-created");
    let _cleanup_waiting = Container(waiting.clone());
    runc(bundle.path(), &["create", "--bundle", dir, &waiting]);
    let out = Command::new(env!("CARGO_BIN_EXE_ocitop"))
        .arg("--json")
        .output()
        .unwrap();
    let snap2: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(find(&snap2, &waiting)["status"], "created");
    assert_eq!(find(&snap2, &id)["status"], "running");
    drop(_cleanup_waiting);

    // `runc pause` freezes its cgroup and writes no status: the freezer says paused; and
    // running again after `runc resume`.
    let json = || -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_ocitop"))
            .arg("--json")
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    runc(bundle.path(), &["pause", &id]);
    let paused = json();
    assert_eq!(find(&paused, &id)["status"], "paused");
    assert_eq!(find(&paused, &id)["freezer"], "frozen");
    runc(bundle.path(), &["resume", &id]);
    assert_eq!(find(&json(), &id)["status"], "running");

    // Killed and deleted, it is gone from the next snapshot.
    drop(_cleanup);
    let out = Command::new(env!("CARGO_BIN_EXE_ocitop"))
        .arg("--json")
        .output()
        .unwrap();
    let snap: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(snap["containers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != id.as_str()));
}

#[test]
fn a_live_collector_follows_a_runc_container() {
    use ocitop::collect::{Collector, Roots};
    use ocitop::model::Snapshot;
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason}");
        return;
    }
    let mut live = Collector::new(Roots::default());
    let first = live.snapshot().unwrap();
    let bundle = bundle();
    let id = format!("ocitop-live-{}", std::process::id());
    let _cleanup = Container(id.clone());
    let dir = bundle.path().to_str().unwrap();
    runc(bundle.path(), &["run", "--detach", "--bundle", dir, &id]);
    assert!(first.containers.iter().all(|c| c.id != id));

    // Refreshes until the container's processes run exactly `commands`: the shell forks
    // `sleep 600`, then execs `sleep 601` on its own pid, and `runc exec` starts as runc's init
    // before it execs: a refresh must notice each new image.
    let mut until = |commands: &[&str]| -> Snapshot {
        for _ in 0..50 {
            let s = live.snapshot().unwrap();
            let running = s.containers.iter().find(|c| c.id == id).map(|c| {
                let mut running: Vec<String> = c
                    .pids
                    .iter()
                    .filter_map(|&p| s.process(p))
                    .map(|p| p.cmdline.join(" "))
                    .collect();
                running.sort();
                running
            });
            if running.is_some_and(|r| r == commands) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("container {id} never ran {commands:?} in a refresh");
    };
    let s = until(&["sleep 600", "sleep 601"]);
    let c = s.containers.iter().find(|c| c.id == id).unwrap();
    // What a refresh says is what a first snapshot (`--json`) says.
    let cold = Collector::new(Roots::default()).snapshot().unwrap();
    let same = cold.containers.iter().find(|c| c.id == id).unwrap();
    assert_eq!(
        (&c.pids, &c.namespaces, &c.cgroup),
        (&same.pids, &same.namespaces, &same.cgroup)
    );
    let init = s.process(c.init_pid.unwrap()).unwrap();
    assert!(
        !init.carried_over,
        "a container's processes are read every refresh"
    );

    // `runc exec` (in the foreground, so runc reaps it, not this host's pid 1, which reaps
    // slowly): the exec'd process is runc's child, not the init's descendant, but it is in
    // the container's namespaces.
    let exec_runc = Command::new(RUNC)
        .args(["exec", &id, "sleep", "602"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(bundle.path().join("exec.out")).unwrap())
        .stderr(std::fs::File::create(bundle.path().join("exec.err")).unwrap())
        .spawn()
        .unwrap();
    let mut exec_runc = Reaped(exec_runc);
    let s = until(&["sleep 600", "sleep 601", "sleep 602"]);
    let c = s.containers.iter().find(|c| c.id == id).unwrap();
    let exec = c
        .pids
        .iter()
        .filter_map(|&p| s.process(p))
        .find(|p| p.cmdline.iter().any(|a| a == "602"))
        .expect("the exec'd process is a member");
    assert_eq!(exec.namespaces, init.namespaces);

    // Deleted: gone from the next refresh.
    drop(_cleanup);
    let _ = exec_runc.0.wait();
    let s = live.snapshot().unwrap();
    assert!(s.containers.iter().all(|c| c.id != id));
    // Its init is gone, or a zombie its parent (pid 1 here) has not reaped yet.
    let left = s
        .process(init.pid)
        .filter(|p| p.start_ticks == init.start_ticks);
    assert!(left.is_none_or(|p| p.state == 'Z'), "{left:?}");
}

fn find<'a>(snap: &'a Value, id: &str) -> &'a Value {
    snap["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("container {id} not in ocitop --json"))
}
