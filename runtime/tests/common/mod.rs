//! Helpers shared by ocirun's integration tests: the built binary with a private `--root`,
//! unique ids, a guard that deletes a container even when a test fails, and the root check.
#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper

use fixtures::{parse_report, Bundle, Config, Report};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// True when running as root; otherwise prints why the test is skipped.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: needs root");
    }
    root
}

/// A unique container id for this process and test.
pub fn unique_id(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// ocirun with its own state root (removed on drop).
pub struct Ocirun {
    pub root: tempfile::TempDir,
}

impl Ocirun {
    pub fn new() -> Self {
        Ocirun {
            root: tempfile::Builder::new()
                .prefix("ocirun-test-root-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `ocirun --root <root> ARGS...`, stdin closed.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ocirun"));
        c.arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Runs and collects the output. stdout and stderr go through files, not pipes: a
    /// container's init inherits them (as with runc), and a pipe would only read EOF when the
    /// container ends.
    pub fn out<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut stdout = tempfile::tempfile().unwrap();
        let mut stderr = tempfile::tempfile().unwrap();
        let status = self
            .cmd(args)
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap())
            .status()
            .unwrap();
        Output {
            status,
            stdout: read_all(&mut stdout),
            stderr: read_all(&mut stderr),
        }
    }

    /// Runs, asserting success; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.out(args.clone());
        let shown: Vec<String> = args
            .into_iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        assert!(
            out.status.success(),
            "ocirun {shown:?} failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `create --bundle B ID`, asserting success; the guard deletes it at the end.
    pub fn create(&self, bundle: &Path, id: &str) -> Guard<'_> {
        self.ok([
            "create".as_ref(),
            "--bundle".as_ref(),
            bundle.as_os_str(),
            id.as_ref(),
        ]);
        self.guard(id)
    }

    pub fn guard(&self, id: &str) -> Guard<'_> {
        Guard {
            ocirun: self,
            id: id.to_string(),
        }
    }

    /// The parsed `state` JSON.
    pub fn state(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(["state", id])).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root().join(id)
    }

    /// `ocirun --root R run -b BUNDLE ID`, to spawn or to redirect.
    pub fn run_cmd(&self, bundle: &Path, id: &str) -> Command {
        self.cmd([
            "run".as_ref(),
            "-b".as_ref(),
            bundle.as_os_str(),
            id.as_ref(),
        ])
    }

    /// `ocirun --root R create -b BUNDLE ID`, to spawn or to redirect.
    pub fn create_cmd(&self, bundle: &Path, id: &str) -> Command {
        self.cmd([
            "create".as_ref(),
            "-b".as_ref(),
            bundle.as_os_str(),
            id.as_ref(),
        ])
    }

    /// [`Ocirun::run_cmd`], run to the end, output collected as by [`Ocirun::out`].
    pub fn run_out(&self, bundle: &Path, id: &str) -> Output {
        finish(spawn_to_files(&mut self.run_cmd(bundle, id)))
    }

    /// [`Ocirun::create_cmd`], run to the end, output collected as by [`Ocirun::out`].
    pub fn create_out(&self, bundle: &Path, id: &str) -> Output {
        finish(spawn_to_files(&mut self.create_cmd(bundle, id)))
    }

    /// `run -b BUNDLE ID` for a fresh bundle of `config` and a unique id from `name`,
    /// asserting success; the container is deleted afterwards even if that assertion fails.
    pub fn run_bundle(&self, config: &Config, name: &str) -> Output {
        let bundle = Bundle::new(config).unwrap();
        let id = unique_id(name);
        let _guard = self.guard(&id);
        let out = self.run_out(bundle.path(), &id);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    }

    /// [`Ocirun::run_bundle`] for a probe `report` config: the probe's parsed report.
    pub fn run_report(&self, config: &Config, name: &str) -> Report {
        let out = self.run_bundle(config, name);
        parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap()
    }

    /// `create -b BUNDLE ID` for a fresh bundle of `config`, asserting that it fails and
    /// leaves no state directory behind (bad input leaves nothing); returns stderr.
    pub fn create_fails(&self, config: &Config, name: &str) -> String {
        let bundle = Bundle::new(config).unwrap();
        let id = unique_id(name);
        let out = self.create_out(bundle.path(), &id);
        assert!(!out.status.success());
        assert!(!self.state_dir(&id).exists());
        stderr(&out)
    }
}

/// Deletes the container (with --force) when dropped, so a failing test leaves nothing.
pub struct Guard<'a> {
    ocirun: &'a Ocirun,
    pub id: String,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = self.ocirun.out(["delete", "--force", &self.id]);
    }
}

fn read_all(file: &mut std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut bytes = Vec::new();
    file.rewind().unwrap();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

/// Spawns `cmd` with stdout/stderr in files (see [`Ocirun::out`]); `finish` collects it.
pub fn spawn_to_files(cmd: &mut Command) -> (std::process::Child, std::fs::File, std::fs::File) {
    let stdout = tempfile::tempfile().unwrap();
    let stderr = tempfile::tempfile().unwrap();
    let child = cmd
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap();
    (child, stdout, stderr)
}

/// Waits for a child from [`spawn_to_files`].
pub fn finish(spawned: (std::process::Child, std::fs::File, std::fs::File)) -> Output {
    let (mut child, mut stdout, mut stderr) = spawned;
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: read_all(&mut stdout),
        stderr: read_all(&mut stderr),
    }
}

/// stderr, as a string.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits (up to 10 s) for process `pid` to exit, with a pidfd: no polling loop. True if it
/// exited (or was already gone).
pub fn wait_exit(pid: i32) -> bool {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return true;
    }
    let mut p = libc::pollfd {
        fd: fd as i32,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; then closing the fd we opened.
    let r = unsafe { libc::poll(&mut p, 1, 10_000) };
    unsafe { libc::close(fd as i32) };
    r == 1
}

/// The inode of a namespace link (`/proc/PID/ns/KIND`).
pub fn ns_inode(pid: &str, kind: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .ino()
}

/// The container's cgroup in the pids hierarchy (ocirun's default path), if it exists.
pub fn cgroup_exists(id: &str) -> bool {
    Path::new("/sys/fs/cgroup/pids/ocirun").join(id).exists()
        || Path::new("/sys/fs/cgroup/unified/ocirun").join(id).exists()
}

/// The pids in the container's cgroup (ocirun's default path; the pids hierarchy on v1, the
/// unified one on v2), empty when it does not exist.
pub fn cgroup_procs(id: &str) -> Vec<i32> {
    ["/sys/fs/cgroup/pids/ocirun", "/sys/fs/cgroup/ocirun"]
        .iter()
        .find_map(|dir| std::fs::read_to_string(Path::new(dir).join(id).join("cgroup.procs")).ok())
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Every pid whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(needle) {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Accepts the runtime's connection on a `--console-socket` listener and receives the
/// terminal's master (SCM_RIGHTS), as containerd and conmon do.
pub fn accept_console(listener: &std::os::unix::net::UnixListener) -> std::fs::File {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 256];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("an fd over SCM_RIGHTS");
    // SAFETY: the fd was just received and is ours.
    std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) })
}
