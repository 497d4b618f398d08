//! Driving a runtime binary through runc's command line, with a timeout on every call.
//!
//! Every call is `RUNTIME --root DIR <op> ...`, its stdout and stderr go to files in the case's
//! directory (the container inherits `create`'s, so pipes could block), and it runs in a
//! process group of its own so that a timeout kills whatever it started.
//!
//! `--wrap-mountns` runs each call in a private mount namespace where
//! `/sys/fs/cgroup/unified/cgroup.controllers` reads empty: an environment fact of hybrid
//! cgroup hosts that some runtimes (crun 1.8) refuse, handled for every runtime alike.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One runtime binary and how to call it.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub name: String,
    pub path: PathBuf,
    pub timeout: Duration,
    /// An empty file to bind over the unified hierarchy's `cgroup.controllers`, when wrapping.
    pub wrap_mountns: Option<PathBuf>,
}

/// What one call did.
#[derive(Debug, Clone)]
pub struct Call {
    pub command: String,
    /// Exit status; `None` when killed by a signal or timed out.
    pub status: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Call {
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }

    /// `exit 1: <last stderr line>` for reports.
    pub fn summary(&self) -> String {
        let last = self
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let last: String = last.chars().take(200).collect();
        match (self.timed_out, self.status) {
            (true, _) => "timed out".to_string(),
            (false, Some(0)) => "success".to_string(),
            (false, Some(n)) => format!("exit {n}: {last}"),
            (false, None) => format!("killed by a signal: {last}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Runtime {
    /// Runs `RUNTIME [--root ROOT] ARGS...` with stdio to `<dir>/<stem>.{out,err}` and stdin
    /// from /dev/null, waiting at most `self.timeout`.
    pub fn call(
        &self,
        root: Option<&Path>,
        args: &[&str],
        dir: &Path,
        stem: &str,
    ) -> Result<Call, Error> {
        let (out, err) = (
            dir.join(format!("{stem}.out")),
            dir.join(format!("{stem}.err")),
        );
        let open = |p: &Path| {
            std::fs::File::create(p).map_err(|source| Error::Io {
                path: p.to_owned(),
                source,
            })
        };
        let mut cmd = Command::new(&self.path);
        if let Some(root) = root {
            cmd.arg("--root").arg(root);
        }
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(open(&out)?)
            .stderr(open(&err)?)
            .process_group(0);
        if let Some(empty) = &self.wrap_mountns {
            wrap_in_private_mountns(&mut cmd, empty);
        }
        let command = format!("{} {}", self.name, args.join(" "));
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            path: self.path.clone(),
            source,
        })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        let (status, timed_out) = loop {
            match child.try_wait() {
                Ok(Some(st)) => break (st.code(), false),
                Ok(None) if started.elapsed() >= self.timeout => {
                    kill_group(child.id());
                    let _ = child.wait();
                    break (None, true);
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(Error::Spawn {
                        path: self.path.clone(),
                        source: e,
                    })
                }
            }
        };
        Ok(Call {
            command,
            status,
            timed_out,
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        })
    }

    /// First line of `RUNTIME --version`, or empty.
    pub fn version(&self, dir: &Path) -> String {
        match self.call(None, &["--version"], dir, "version") {
            Ok(c) if c.ok() => c.stdout.lines().next().unwrap_or("").trim().to_string(),
            _ => String::new(),
        }
    }

    /// `RUNTIME features` as JSON (features.md), or `None` when the runtime lacks it.
    pub fn features(&self, dir: &Path) -> Option<serde_json::Value> {
        let call = self.call(None, &["features"], dir, "features").ok()?;
        if !call.ok() {
            return None;
        }
        serde_json::from_str(&call.stdout).ok()
    }
}

fn kill_group(pid: u32) {
    let Ok(pid) = i32::try_from(pid) else { return };
    // SAFETY: kill(2) on a process group we created (process_group(0) made pid its leader).
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Before exec: a mount namespace of its own where the unified hierarchy lists no controllers.
/// It is a slave of the runner's (not private), so that what the runner mounts on the host
/// still propagates into containers, as it would without the wrapper, while the bind over
/// `cgroup.controllers` does not reach the host.
fn wrap_in_private_mountns(cmd: &mut Command, empty: &Path) {
    let controllers = Path::new("/sys/fs/cgroup/unified/cgroup.controllers");
    let target = controllers
        .exists()
        .then(|| CString::new(controllers.as_os_str().as_encoded_bytes()).ok())
        .flatten();
    let source = CString::new(empty.as_os_str().as_encoded_bytes()).ok();
    let root = c"/";
    // SAFETY: the closure runs between fork and exec and only makes raw syscalls (unshare,
    // mount) on C strings prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_SLAVE,
                std::ptr::null(),
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if let (Some(src), Some(dst)) = (&source, &target) {
                if libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
