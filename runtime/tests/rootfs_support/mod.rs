//! Harness for the privileged rootfs tests: a throwaway "container" (a forked child in new
//! mount + pid namespaces) that runs `rootfs::setup` on a tiny rootfs and then runs the test's
//! checks from inside, reporting a failed check or a setup error back over a pipe.

#![allow(dead_code)] // each test binary uses a different part of the harness
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use ocirun::rootfs::{self, RootfsOptions};

static SERIAL: Mutex<()> = Mutex::new(());

/// `Some` when the test may run, holding a lock that runs these tests one at a time for their
/// whole body: fork(2) copies only the calling thread, so a lock another test thread holds at
/// that moment (the panic/backtrace lock while an assertion fails) would never be released in
/// the child. Otherwise prints why the test is skipped.
pub fn root_or_skip() -> Option<MutexGuard<'static, ()>> {
    if nix::unistd::geteuid().is_root() {
        Some(
            SERIAL
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    } else {
        eprintln!("skipped: needs root (mount namespaces, pivot_root, mknod)");
        None
    }
}

/// [`root_or_skip`], then a fresh [`Bundle`]: the start of most privileged rootfs tests. Hold
/// the guard (first) for the whole test; the bundle is dropped before it.
pub fn root_and_bundle() -> Option<(MutexGuard<'static, ()>, Bundle)> {
    let serial = root_or_skip()?;
    Some((serial, Bundle::new()))
}

/// A bundle dir with a minimal rootfs: the usual top-level dirs and a marker file.
pub struct Bundle {
    pub dir: tempfile::TempDir,
}

impl Bundle {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ocirun-rootfs-test")
            .tempdir()
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        for d in ["proc", "sys", "dev", "tmp", "etc", "bin"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::write(rootfs.join("marker"), "inside").unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn options(&self) -> RootfsOptions {
        RootfsOptions {
            no_pivot: false,
            bundle: Some(self.path().to_owned()),
            ..RootfsOptions::default()
        }
    }
}

/// The usual default mounts (what `runc spec` writes), without cgroup.
pub fn default_mounts() -> serde_json::Value {
    serde_json::json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]}
    ])
}

/// A Spec from a JSON `linux`/`mounts`/`root` fragment.
pub fn spec(fragment: serde_json::Value) -> oci_spec::runtime::Spec {
    let mut value = serde_json::json!({"ociVersion": "1.3.0", "root": {"path": "rootfs"}});
    if let (Some(base), Some(extra)) = (value.as_object_mut(), fragment.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(value).unwrap()
}

/// The setup error text of [`run`] with the bundle's default options and no check; panics
/// if the setup succeeds.
pub fn setup_error(bundle: &Bundle, spec: &oci_spec::runtime::Spec) -> String {
    run(bundle, spec, &bundle.options(), || {}).unwrap_err()
}

/// Runs `rootfs::setup` in a fresh "container" then `check` inside it. `Err` is the setup
/// error text; a failed check panics here with its message.
pub fn run(
    bundle: &Bundle,
    spec: &oci_spec::runtime::Spec,
    opts: &RootfsOptions,
    check: impl FnOnce(),
) -> Result<(), String> {
    run_with(bundle, spec, opts, || {}, check)
}

/// Like [`run`], with `before` run in the new mount namespace before the setup (to stage host
/// mounts the container should or should not see).
pub fn run_with(
    bundle: &Bundle,
    spec: &oci_spec::runtime::Spec,
    opts: &RootfsOptions,
    before: impl FnOnce(),
    check: impl FnOnce(),
) -> Result<(), String> {
    run_in(CloneFlags::empty(), bundle, spec, opts, before, check)
}

/// Like [`run_with`], in more new namespaces than mount + pid (`extra`). With
/// `CLONE_NEWUSER`, root of the new user namespace is mapped to the caller's uid/gid only, so
/// mknod and "locked" mount flags behave as in a rootless or userns container.
pub fn run_in(
    extra: CloneFlags,
    bundle: &Bundle,
    spec: &oci_spec::runtime::Spec,
    opts: &RootfsOptions,
    before: impl FnOnce(),
    check: impl FnOnce(),
) -> Result<(), String> {
    let rootfs = bundle.rootfs();
    let setup = || {
        before();
        rootfs::setup(spec, &rootfs, opts)
    };
    run_steps(extra, setup, check)
}

/// The general form: `steps` (the rootfs calls, in whatever order the test wants) then
/// `check`, inside the new namespaces.
pub fn run_steps(
    extra: CloneFlags,
    steps: impl FnOnce() -> Result<(), rootfs::RootfsError>,
    check: impl FnOnce(),
) -> Result<(), String> {
    run_steps_ns(extra, steps, check).map(drop)
}

/// Separates the container's report from the namespace's mount table in the pipe.
const NS_MARKER: &str = "\n--- namespace mountinfo ---\n";

/// Like [`run_steps`], also returning the mount table of the container's mount namespace as
/// seen from outside any chroot (from the outer child, whose root is the host's): what is still
/// mounted in the namespace though the container cannot see it.
pub fn run_steps_ns(
    extra: CloneFlags,
    steps: impl FnOnce() -> Result<(), rootfs::RootfsError>,
    check: impl FnOnce(),
) -> Result<String, String> {
    let (read, write) = nix::unistd::pipe().unwrap();
    // With a user namespace the maps are written from here, the parent namespace: mapping
    // root needs CAP_SETFCAP there (user_namespaces(7)), which the child no longer has.
    let (go_read, go_write) = nix::unistd::pipe().unwrap();
    let (ready_read, ready_write) = nix::unistd::pipe().unwrap();
    // SAFETY: the children only run the closures and then _exit; they never return into the
    // test harness.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop((read, go_write, ready_read));
            let pipes = ChildPipes {
                out: write,
                ready: ready_write,
                go: go_read,
            };
            let code = outer_child(extra, steps, check, pipes);
            // SAFETY: leave without running the parent's atexit handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop((write, go_read, ready_write));
            let mut byte = [0u8; 1];
            let unshared = std::fs::File::from(ready_read).read(&mut byte).unwrap() == 1;
            if unshared && extra.contains(CloneFlags::CLONE_NEWUSER) {
                let uid = nix::unistd::getuid();
                let gid = nix::unistd::getgid();
                std::fs::write(format!("/proc/{child}/uid_map"), format!("0 {uid} 1")).unwrap();
                std::fs::write(format!("/proc/{child}/setgroups"), "deny").unwrap();
                std::fs::write(format!("/proc/{child}/gid_map"), format!("0 {gid} 1")).unwrap();
            }
            let _ = std::fs::File::from(go_write).write_all(b"g");
            let mut text = String::new();
            std::fs::File::from(read).read_to_string(&mut text).unwrap();
            let status = waitpid(child, None).unwrap();
            let (text, ns) = text.split_once(NS_MARKER).unwrap_or((&text, ""));
            match text.split_once('\n') {
                Some(("ok", _)) => Ok(ns.to_owned()),
                Some(("setup", err)) => Err(err.to_owned()),
                Some(("check", msg)) => panic!("check failed inside the container: {msg}"),
                _ => panic!("container died without a report: {status:?} {text:?}"),
            }
        }
    }
}

/// The outer child's ends of the pipes to the test process.
struct ChildPipes {
    /// The report ("ok", "setup\n<error>", "check\n<panic>").
    out: OwnedFd,
    /// Written once the namespaces are unshared.
    ready: OwnedFd,
    /// Read once the id maps are written.
    go: OwnedFd,
}

fn outer_child(
    extra: CloneFlags,
    steps: impl FnOnce() -> Result<(), rootfs::RootfsError>,
    check: impl FnOnce(),
    pipes: ChildPipes,
) -> i32 {
    let ChildPipes { out, ready, go } = pipes;
    let report = |text: String| {
        let fd = nix::unistd::dup(&out).unwrap();
        let mut f = std::fs::File::from(fd);
        let _ = f.write_all(text.as_bytes());
    };
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | extra) {
        report(format!("setup\nunshare: {e}"));
        return 1;
    }
    // Tell the parent we are unshared, wait until it has written the id maps.
    let mut byte = [0u8; 1];
    let synced = std::fs::File::from(ready).write_all(b"r").is_ok()
        && std::fs::File::from(go).read(&mut byte).unwrap_or(0) == 1;
    if !synced {
        report("setup\nsync with the test process failed".into());
        return 1;
    }
    // Kept to read the namespace's mount table later, even if the container detaches this
    // /proc from the namespace.
    let proc = nix::fcntl::open(
        "/proc",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    // SAFETY: single-threaded after fork; the grandchild _exits.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(steps));
            let text = match result {
                Ok(Ok(())) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
                    Ok(()) => "ok\n".to_owned(),
                    Err(panic) => format!("check\n{}", panic_text(&panic)),
                },
                Ok(Err(e)) => format!("setup\n{e}"),
                Err(panic) => format!("check\nbefore/setup panicked: {}", panic_text(&panic)),
            };
            report(text);
            // SAFETY: see above.
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Parent { child }) => {
            let code = match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => code,
                _ => 1,
            };
            let mountinfo = nix::fcntl::openat(
                &proc,
                "self/mountinfo",
                nix::fcntl::OFlag::O_RDONLY,
                nix::sys::stat::Mode::empty(),
            )
            .map(|fd| {
                let mut text = String::new();
                let _ = std::fs::File::from(fd).read_to_string(&mut text);
                text
            })
            .unwrap_or_default();
            report(format!("{NS_MARKER}{mountinfo}"));
            code
        }
        Err(e) => {
            report(format!("setup\nfork: {e}"));
            1
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct Mount {
    pub root: String,
    pub mount_point: String,
    pub options: Vec<String>,
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: Vec<String>,
}

impl Mount {
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// The container's mount table, from inside it.
pub fn mountinfo() -> Vec<Mount> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|line| {
            let (left, right) = line.split_once(" - ").unwrap();
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            let split = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
            Mount {
                root: l[3].to_owned(),
                mount_point: l[4].to_owned(),
                options: split(l[5]),
                optional: l[6..].iter().map(|s| s.to_string()).collect(),
                fstype: r[0].to_owned(),
                source: r[1].to_owned(),
                super_options: split(r.get(2).copied().unwrap_or("")),
            }
        })
        .collect()
}

/// The topmost mount at `mount_point`.
pub fn mount_at(mount_point: &str) -> Mount {
    mountinfo()
        .into_iter()
        .rev()
        .find(|m| m.mount_point == mount_point)
        .unwrap_or_else(|| panic!("nothing mounted at {mount_point}"))
}
