//! A private containerd (root, state and socket in a temp dir, the CRI plugin off) and `ctr`
//! commands that run containers on ocirun through containerd's runc shim
//! (`io.containerd.runc.v2` with `--runc-binary`).

use super::{eventually, ok, run, unmount_under};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Containerd {
    pub dir: tempfile::TempDir,
    child: Child,
    /// The namespace all of this test's containers live in (unique: ctr's default cgroup
    /// parent is `/<namespace>`, removed on drop).
    pub namespace: String,
}

impl Containerd {
    /// Starts containerd and waits until `ctr version` answers; containers go in a unique
    /// namespace `<prefix>-<pid>-<n>`.
    pub fn start(prefix: &str) -> Containerd {
        let namespace = super::unique(prefix);
        let dir = tempfile::Builder::new()
            .prefix("peers-ctd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        // The shim's state (task bundles) lives under `state`; ocirun's own under `runc-root`.
        std::fs::create_dir_all(d.join("runc-root")).unwrap();
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
# Else the opt plugin makes /opt/containerd on the host.
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"#,
            opt = d.join("opt").display(),
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("ctd.sock").display(),
        );
        let child = spawn(d, &config);
        let ctd = Containerd {
            dir,
            child,
            namespace,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ctd.address().exists() && run(&mut ctd.ctr(["version"])).status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer in 20s; its log:\n{}",
                ctd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ctd
    }

    pub fn address(&self) -> PathBuf {
        self.dir.path().join("ctd.sock")
    }

    /// ocirun's `--root` as the shim passes it (ctr's `--runc-root`).
    pub fn runc_root(&self) -> PathBuf {
        self.dir.path().join("runc-root")
    }

    /// The shim's per-task state dirs (bundle, log.json, init.pid) of this namespace.
    pub fn task_state(&self) -> PathBuf {
        self.dir
            .path()
            .join("state/io.containerd.runtime.v2.task")
            .join(&self.namespace)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address SOCK -n NAMESPACE ARGS...`
    pub fn ctr<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.address())
            .arg("-n")
            .arg(&self.namespace)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// `ctr run` of `rootfs` on ocirun: `ctr run OPTS --runc-binary OCIRUN --runc-root R
    /// --env PATH=/bin --rootfs ROOTFS ID ARGS...`.
    pub fn ctr_run(&self, opts: &[&str], rootfs: &Path, id: &str, args: &[&str]) -> Command {
        let mut c = self.ctr(["run"]);
        c.args(opts)
            .arg("--runc-binary")
            .arg(super::ocirun())
            .arg("--runc-root")
            .arg(self.runc_root())
            .args(["--env", "PATH=/bin", "--rootfs"])
            .arg(rootfs)
            .arg(id)
            .args(args);
        c
    }

    /// The STATUS column of `ctr task ls` for `id`, if listed.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = ok(&mut self.ctr(["task", "ls"]));
        out.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
            })
            .next()
    }

    /// Waits until `ctr task ls` shows `id` STOPPED; panics with the last status otherwise.
    pub fn wait_stopped(&self, id: &str) {
        eventually(|| match self.task_status(id).as_deref() {
            Some("STOPPED") => Ok(()),
            other => Err(format!("status {other:?}")),
        })
        .unwrap();
    }

    /// `task kill -s SIGKILL`, then once stopped `task delete` and `container delete`, each
    /// asserted to succeed.
    pub fn kill_and_remove(&self, id: &str) {
        ok(&mut self.ctr(["task", "kill", "-s", "SIGKILL", id]));
        self.wait_stopped(id);
        ok(&mut self.ctr(["task", "delete", id]));
        ok(&mut self.ctr(["container", "delete", id]));
    }
}

/// Writes `config` to `dir/config.toml` and starts containerd with it, its output going to
/// `dir/containerd.log`.
pub fn spawn(dir: &Path, config: &str) -> Child {
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
    Command::new("containerd")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Whatever a failed test left: tasks killed and deleted, containers removed.
        if let Ok(out) = self.ctr(["task", "ls", "-q"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                self.ctr(["task", "kill", "-s", "SIGKILL", id])
                    .output()
                    .ok();
                std::thread::sleep(Duration::from_millis(200));
                self.ctr(["task", "delete", "-f", id]).output().ok();
            }
        }
        if let Ok(out) = self.ctr(["container", "ls", "-q"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                self.ctr(["container", "delete", id]).output().ok();
            }
        }
        self.child.kill().ok();
        self.child.wait().ok();
        // Shims outlive containerd by design; ours are the ones naming our socket.
        super::kill_matching(&self.address().to_string_lossy());
        unmount_under(self.dir.path());
        super::remove_cgroup_parent(&self.namespace);
    }
}
