//! Helpers for the peers tests (`tests/peers.rs`): the tools written for runc (containerd's
//! runc shim through `ctr`, podman with conmon, docker) driving the ocirun binary unchanged.
//!
//! Each daemon or tool gets private state in a temp dir (containerd: root, state, socket;
//! podman: root, runroot, tmpdir, containers.conf; dockerd: data-root, exec-root, socket) and a
//! guard that stops it and removes what it left, so a test never touches the host's own
//! containers or images, even when it fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // not every test uses every helper

pub mod containerd;
pub mod docker;
pub mod podman;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The runtime binary under test: ocirun, or the binary named by `PEERS_RUNTIME` (e.g.
/// `/usr/sbin/runc`) to run the same scenarios against a control runtime.
pub fn ocirun() -> PathBuf {
    match std::env::var_os("PEERS_RUNTIME") {
        Some(control) => PathBuf::from(control),
        None => PathBuf::from(env!("CARGO_BIN_EXE_ocirun")),
    }
}

/// True when the test can run: root, busybox for the rootfs, and every tool on PATH.
/// Otherwise prints why it is skipped.
pub fn preflight(test: &str, tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped {test}: needs root");
        return false;
    }
    if !Path::new("/bin/busybox").is_file() {
        eprintln!("skipped {test}: needs /bin/busybox (apt-get install busybox-static)");
        return false;
    }
    for tool in tools {
        if which(tool).is_none() {
            eprintln!("skipped {test}: {tool} is not installed");
            return false;
        }
    }
    true
}

/// The path of `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A short unique name (container ids, names) for this process and test.
pub fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "peers-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A busybox rootfs (the fixtures crate's recipe) in its own temp dir.
pub struct Rootfs {
    pub dir: tempfile::TempDir,
}

impl Rootfs {
    pub fn new() -> Self {
        Self::lay(false)
    }

    /// A rootfs with its own copies of the binaries, for `tar` (`docker import`): hard links
    /// to the shared files get a new ctime whenever a parallel test links them again, and tar
    /// fails with "file changed as we read it".
    pub fn with_copies() -> Self {
        Self::lay(true)
    }

    /// A busybox rootfs in a fresh temp dir; `copy_files`: copies of the binaries, not links.
    fn lay(copy_files: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("peers-rootfs-")
            .tempdir()
            .unwrap();
        fixtures::Rootfs::new()
            .busybox(true)
            .copy_files(copy_files)
            .lay(&dir.path().join("rootfs"))
            .unwrap();
        Rootfs { dir }
    }

    /// A rootfs owned by `uid:gid` (the host ids a user namespace maps root to), as one
    /// prepared for `--uidmap` is: binaries copied (not linked to shared files), every entry
    /// chowned, the temp dir searchable by that user.
    pub fn owned_by(uid: u32, gid: u32) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("peers-rootfs-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("rootfs");
        fixtures::Rootfs::new()
            .busybox(true)
            .copy_files(true)
            .lay(&root)
            .unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        chown_tree(&root, uid, gid);
        Rootfs { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    let meta = std::fs::symlink_metadata(path).unwrap();
    if meta.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

/// How long any one tool command may take before the test fails (a hang guard, not a timing
/// assertion: the slowest command seen on a loaded 2-core machine takes a few seconds).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// Runs `cmd` (stdin closed unless set) to completion, killing it and failing the test if it
/// outlives [`COMMAND_LIMIT`].
pub fn run(cmd: &mut Command) -> Output {
    let line = format!("{cmd:?}");
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {line}: {e}"));
    wait_output(child, &line)
}

fn wait_output(mut child: Child, line: &str) -> Output {
    // Read both pipes on threads so that a chatty tool never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{line}: still running after {COMMAND_LIMIT:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

/// Runs `cmd` and returns its stdout, failing the test (with both outputs) unless it exits 0.
pub fn ok(cmd: &mut Command) -> String {
    let line = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{line}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cmd` run under a new pseudo-terminal with `script(1)` (util-linux), for the `-t` modes of
/// ctr and docker that insist on a terminal on their own stdin. The exit status is the
/// command's (`script -e`).
pub fn in_pty(cmd: &Command) -> Command {
    let mut line = shell_quote(cmd.get_program().to_str().unwrap());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(a.to_str().unwrap()));
    }
    let mut s = Command::new("script");
    s.args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    s
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The exit code, failing the test if the process died of a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| {
        panic!(
            "killed by a signal: {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` every 50 ms for up to 10 s (teardown by the tools is asynchronous: a shim or
/// conmon exits after the command that asked it to returns). Returns the last failure.
pub fn eventually(mut check: impl FnMut() -> Result<(), String>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match check() {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// What a container could leave behind, looked up by its id (or any unique string in its
/// process command lines, paths and cgroup names).
pub fn leaks(id: &str, state_roots: &[&Path]) -> Vec<String> {
    let mut found = Vec::new();
    for root in state_roots {
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains(id) {
                    found.push(format!("state dir {}", e.path().display()));
                }
            }
        }
    }
    find_cgroups(Path::new("/sys/fs/cgroup"), id, 0, &mut found);
    if let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") {
        for line in mounts.lines().filter(|l| l.contains(id)) {
            found.push(format!("mount {line}"));
        }
    }
    for pid in processes_matching(id) {
        found.push(format!("process {pid}"));
    }
    found
}

/// Asserts (within [`eventually`]'s grace) that nothing named after `id` is left.
pub fn assert_no_leaks(id: &str, state_roots: &[&Path]) {
    let r = eventually(|| {
        let l = leaks(id, state_roots);
        if l.is_empty() {
            Ok(())
        } else {
            Err(l.join("\n"))
        }
    });
    if let Err(e) = r {
        panic!("left behind by container {id}:\n{e}");
    }
}

fn find_cgroups(dir: &Path, id: &str, depth: u32, found: &mut Vec<String>) {
    // The controllers, then the tools' parents (/default, /libpod_parent, /docker, ...):
    // a container's cgroup is at most a few levels down.
    if depth > 5 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if !ft.is_dir() || ft.is_symlink() {
            continue;
        }
        if depth > 0 && e.file_name().to_string_lossy().contains(id) {
            found.push(format!("cgroup {}", e.path().display()));
        } else {
            find_cgroups(&e.path(), id, depth + 1, found);
        }
    }
}

/// Pids whose command line contains `needle` (this test process and its children excluded).
pub fn processes_matching(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if cmdline.is_empty() {
            continue; // a zombie or kernel thread: nothing of it is running
        }
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

/// SIGKILLs every process whose command line contains `needle` (cleanup of daemons' helpers:
/// shims, conmon).
pub fn kill_matching(needle: &str) {
    for pid in processes_matching(needle) {
        // SAFETY: kill with a pid read from /proc and a constant signal.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Lazily unmounts every mount point under `dir` (deepest first), so that the temp dir can go.
pub fn unmount_under(dir: &Path) {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: umount2 with a valid C string and a constant flag.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Removes the (empty) cgroup `/<name>` in every hierarchy: the parent a tool asked the runtime
/// to create (`ctr`'s `/<namespace>`, dockerd's `cgroup-parent`), which runc leaves too.
pub fn remove_cgroup_parent(name: &str) {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for e in entries.flatten() {
        std::fs::remove_dir(e.path().join(name)).ok();
    }
    std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(name)).ok();
}
