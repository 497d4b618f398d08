//! A private dockerd (data-root, exec-root, pidfile and socket in a temp dir; no iptables, no
//! bridge) on a private containerd, with ocirun registered as the runtime `ocirun`
//! (daemon.json `"runtimes"`), and an image imported from a busybox rootfs (no registry).

use super::containerd::Containerd;
use super::{ok, run, unmount_under};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const IMAGE: &str = "peers/busybox:1";

pub struct Docker {
    child: Child,
    /// Containers' cgroup parent (daemon.json `cgroup-parent`), removed on drop.
    cgroup_parent: String,
    pub dir: tempfile::TempDir,
    /// Dropped after dockerd (fields drop in order).
    pub containerd: Containerd,
}

impl Docker {
    /// Starts dockerd and waits until `docker version` answers; `Err` with dockerd's log when
    /// it cannot run here (the caller skips with that reason).
    pub fn start(rootfs: &Path) -> Result<Docker, String> {
        let containerd = Containerd::start("peers-moby");
        let cgroup_parent = super::unique("dk");
        let dir = tempfile::Builder::new()
            .prefix("peers-dk-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let config = serde_json::json!({
            "data-root": d.join("data"),
            "exec-root": d.join("exec"),
            "pidfile": d.join("docker.pid"),
            "hosts": [format!("unix://{}", d.join("docker.sock").display())],
            "iptables": false,
            "ip-forward": false,
            "ip-masq": false,
            "bridge": "none",
            "cgroup-parent": format!("/{cgroup_parent}"),
            "runtimes": { "ocirun": { "path": super::ocirun() } },
        });
        std::fs::write(d.join("daemon.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--containerd")
            .arg(containerd.address())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut docker = Docker {
            child,
            cgroup_parent,
            dir,
            containerd,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if docker.socket().exists() && run(&mut docker.cmd(["version"])).status.success() {
                break;
            }
            if let Ok(Some(status)) = docker.child.try_wait() {
                return Err(format!("dockerd exited ({status}): {}", docker.log_tail()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "dockerd did not answer in 30s: {}",
                    docker.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        docker.import(rootfs);
        Ok(docker)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// `docker -H unix://SOCK ARGS...`
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new("docker");
        c.arg("-H")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// `docker run --runtime ocirun --network none OPTS IMAGE ARGS...`
    pub fn run(&self, opts: &[&str], args: &[&str]) -> Command {
        let mut c = self.cmd(["run", "--runtime", "ocirun", "--network", "none"]);
        c.args(opts).arg(IMAGE).args(args);
        c
    }

    /// ocirun's `--root` as docker's shim passes it.
    pub fn runtime_root(&self) -> PathBuf {
        self.dir.path().join("exec/runtime-runc/moby")
    }

    /// `tar -C ROOTFS -c . | docker import - IMAGE`
    fn import(&self, rootfs: &Path) {
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut import = self.cmd(["import", "-", IMAGE]);
        import.stdin(tar.stdout.take().unwrap());
        ok(&mut import);
        assert!(tar.wait().unwrap().success());
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if let Ok(out) = self.cmd(["ps", "-aq"]).output() {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                self.cmd(["rm", "-f", id]).output().ok();
            }
        }
        // SAFETY: kill with our child's pid and a constant signal.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().ok();
        self.child.wait().ok();
        unmount_under(self.dir.path());
        super::remove_cgroup_parent(&self.cgroup_parent);
    }
}
