//! Running lifecycle hooks (config.md "POSIX-platform Hooks"): in the listed order, with the
//! container's state as JSON on stdin, `args`/`env` exactly as given, and `timeout` enforced.
//!
//! Where each kind runs is the caller's business (runtime.md "Lifecycle"): `prestart`,
//! `createRuntime`, `poststart`, `poststop` from the runtime process in the runtime namespace;
//! `createContainer` and `startContainer` from the container's init, in its namespaces.

use crate::spec::FieldError;
use oci_spec::runtime::{Hook, Hooks};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[error("{kind} hook {path}: {reason}")]
pub struct HookError {
    pub kind: &'static str,
    pub path: String,
    pub reason: String,
}

/// config.md: `path` MUST be absolute; `timeout`, if set, MUST be greater than zero.
pub fn validate(hooks: &Hooks) -> Result<(), FieldError> {
    for (kind, list) in all(hooks) {
        for (i, hook) in list.iter().enumerate() {
            if !hook.path().is_absolute() {
                return Err(FieldError {
                    path: format!("hooks.{kind}[{i}].path"),
                    message: format!("{} is not an absolute path", hook.path().display()),
                });
            }
            if hook.timeout().is_some_and(|t| t <= 0) {
                return Err(FieldError {
                    path: format!("hooks.{kind}[{i}].timeout"),
                    message: "must be greater than zero".into(),
                });
            }
        }
    }
    Ok(())
}

fn all(hooks: &Hooks) -> [(&'static str, &[Hook]); 6] {
    fn list(h: &Option<Vec<Hook>>) -> &[Hook] {
        h.as_deref().unwrap_or_default()
    }
    [
        ("prestart", list(hooks.prestart())),
        ("createRuntime", list(hooks.create_runtime())),
        ("createContainer", list(hooks.create_container())),
        ("startContainer", list(hooks.start_container())),
        ("poststart", list(hooks.poststart())),
        ("poststop", list(hooks.poststop())),
    ]
}

/// Runs `hooks` in order, stopping at the first failure.
pub fn run(kind: &'static str, hooks: &[Hook], state: &[u8]) -> Result<(), HookError> {
    hooks.iter().try_for_each(|h| run_one(kind, h, state))
}

/// Runs one hook and waits for it (up to its timeout). A non-zero exit, a signal or a timeout
/// is a failure; its stderr (or stdout) is quoted in the error.
pub fn run_one(kind: &'static str, hook: &Hook, state: &[u8]) -> Result<(), HookError> {
    let fail = |reason: String| HookError {
        kind,
        path: hook.path().display().to_string(),
        reason,
    };
    let output = memfd().map_err(|e| fail(format!("capture output: {}", crate::errno_text(&e))))?;
    let dup = |f: &std::fs::File| {
        f.try_clone()
            .map_err(|e| fail(format!("capture output: {}", crate::errno_text(&e))))
    };
    let output_err = dup(&output)?;
    let reader = dup(&output)?;
    // The state goes through a file, not a pipe: writing more than a pipe holds to a hook that
    // does not read would block here, before its timeout is even started.
    let mut input = memfd().map_err(|e| fail(format!("pass state: {}", crate::errno_text(&e))))?;
    input
        .write_all(state)
        .and_then(|()| input.rewind())
        .map_err(|e| fail(format!("pass state: {}", crate::errno_text(&e))))?;
    let args = hook.args().as_deref().unwrap_or_default();
    let mut cmd = Command::new(hook.path());
    if let Some((first, rest)) = args.split_first() {
        cmd.arg0(first).args(rest);
    }
    cmd.env_clear();
    for pair in hook.env().iter().flatten() {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::from(input))
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(output_err));
    let mut child = cmd.spawn().map_err(|e| fail(crate::errno_text(&e)))?;
    let timeout = hook.timeout().map(|t| t.max(0) as u64);
    let status = match timeout {
        Some(secs) if !wait_exit(child.id() as i32, secs) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!("timed out after {secs}s")));
        }
        _ => child.wait().map_err(|e| fail(crate::errno_text(&e)))?,
    };
    if status.success() {
        return Ok(());
    }
    drop(cmd);
    let said = read_output(reader);
    let how = crate::process::describe_exit(status);
    Err(fail(if said.is_empty() {
        how
    } else {
        format!("{how}: {said}")
    }))
}

/// What the hook wrote (first 4 KiB), on one line.
fn read_output(mut file: std::fs::File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.take(4096).read_to_string(&mut text);
    text.trim().replace('\n', "; ")
}

/// Waits up to `secs` for the process to exit, without reaping it (pidfd + poll, no sleeps).
/// Returns false on timeout.
fn wait_exit(pid: i32, secs: u64) -> bool {
    let Some(pidfd) = crate::process::pidfd_open(pid) else {
        return true; // already gone: wait() will collect it
    };
    let mut fds = [libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 1, ms) };
        match r {
            0 => return false,
            n if n > 0 => return true,
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return true,
        }
    }
}

/// An anonymous file for a hook's input or output (no pipe to fill or drain while we wait).
fn memfd() -> std::io::Result<std::fs::File> {
    // SAFETY: the name is a valid C string; the returned fd is owned below.
    let fd = unsafe { libc::memfd_create(c"ocirun-hook".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by memfd_create and is owned by nobody else.
    Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn hook(path: &str, args: &[&str], timeout: Option<i64>) -> Hook {
        let mut h = Hook::default();
        h.set_path(path.into());
        h.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        h.set_timeout(timeout);
        h
    }

    /// A state larger than a pipe holds, given to a hook that never reads it: the timeout
    /// still applies (it used to block on writing stdin until the hook exited by itself).
    #[test]
    fn timeout_holds_for_a_hook_that_does_not_read_a_large_state() {
        let state = vec![b' '; 1 << 20];
        let h = hook("/bin/sleep", &["sleep", "3"], Some(1));
        let err = run_one("poststop", &h, &state).unwrap_err();
        assert!(err.reason.contains("timed out"), "{err}");
    }

    /// The hook reads the whole state on stdin.
    #[test]
    fn hook_reads_the_whole_state() {
        let state = vec![b'x'; 1 << 20];
        let check = format!("test $(wc -c) = {}", state.len());
        let h = hook("/bin/sh", &["sh", "-c", &check], None);
        run_one("poststop", &h, &state).unwrap();
    }
}
