//! The container's init: runs inside every namespace of the container and prepares it
//! (config.md "Hostname", "Domainname", "Root", "Mounts", hooks; config-linux.md "Sysctl"),
//! then waits on the exec fifo — runtime.md "Lifecycle" step 2: the user-specified program
//! MUST NOT run at create — and, once `start` releases it (step 8), runs startContainer hooks
//! and becomes the user process.
//!
//! Before `Created`, failures go to the parent over the sync channel; after it, the `start`
//! command reads them from the exec fifo (the init writes `0` when released, then either
//! execs — the close-on-exec write end then reads as EOF — or writes its error and exits).

use super::Context;
use crate::process::channel::{Channel, Msg};
use crate::process::fork::exit_child;
use crate::process::user_process;
use std::io::Write;
use std::os::fd::AsRawFd;

/// Runs in the forked init; never returns.
pub fn run(ctx: &Context, chan: Channel) -> ! {
    let pid = match prepare(ctx, &chan) {
        Ok(pid) => pid,
        Err(msg) => {
            let _ = chan.send(&Msg::Error(msg));
            exit_child(1);
        }
    };
    if chan.send(&Msg::Created).is_err() {
        exit_child(1);
    }
    drop(chan);
    let mut fifo = match open_fifo(ctx) {
        Ok(f) => f,
        Err(_) => exit_child(1),
    };
    // Released by `start` (runtime.md "Start").
    if fifo.write_all(b"0").is_err() {
        exit_child(1);
    }
    let err = match start(ctx, pid) {
        Ok(never) => match never {},
        Err(msg) => msg,
    };
    let _ = fifo.write_all(err.as_bytes());
    exit_child(127)
}

/// Everything `create` applies before the init reports `Created`. Returns the init's pid as
/// the runtime sees it.
fn prepare(ctx: &Context, chan: &Channel) -> Result<i32, String> {
    let pid = chan.expect_proceed().map_err(|e| e.to_string())?;
    if ctx.rootfs_options.shared_mount_ns {
        // Seen from the namespace the container shares, before anything is mounted there.
        let rootfs = ctx
            .rootfs
            .canonicalize()
            .map_err(|e| format!("resolve root.path: {}", crate::errno_text(&e)))?;
        let before = crate::rootfs::shared_ns::mounts_before(&rootfs);
        chan.send(&Msg::SharedMounts(before))
            .map_err(|e| e.to_string())?;
    }
    let spec = ctx.spec;
    if let Some(name) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(name)
            .map_err(|e| format!("set hostname {name:?}: {}", crate::errno_text_raw(e as i32)))?;
    }
    if let Some(name) = spec.domainname().as_deref().filter(|h| !h.is_empty()) {
        set_domainname(name)?;
    }
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        crate::sysctl::apply(sysctl)?;
    }
    let rootfs = &ctx.rootfs;
    let opts = &ctx.rootfs_options;
    crate::rootfs::prepare(spec, rootfs, opts).map_err(|e| e.to_string())?;
    if ctx.create_hooks {
        // prestart and createRuntime run in the runtime namespace: the parent runs them.
        chan.send(&Msg::RunCreateHooks).map_err(|e| e.to_string())?;
        let state = match chan.recv().map_err(|e| e.to_string())? {
            Msg::HooksDone(state) => state,
            Msg::Error(msg) => return Err(msg),
            other => return Err(format!("sync channel: unexpected {other:?}")),
        };
        // config.md "CreateContainer Hooks": in the container namespace, before pivot_root.
        if let Some(hooks) = spec
            .hooks()
            .as_ref()
            .and_then(|h| h.create_container().as_ref())
        {
            crate::hooks::run("createContainer", hooks, state.as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    crate::rootfs::pivot(spec, rootfs, opts).map_err(|e| e.to_string())?;
    if let Some(process) = spec
        .process()
        .as_ref()
        .filter(|p| p.terminal() == Some(true))
    {
        // config-linux.md "Default Devices": /dev/console is the terminal's pty, bound.
        let pty = crate::process::console::setup(process, ctx.console_socket.as_ref())?;
        crate::rootfs::mount_console(std::path::Path::new("/"), std::os::fd::AsFd::as_fd(&pty))
            .map_err(|e| e.to_string())?;
    }
    crate::rootfs::finalize(spec).map_err(|e| e.to_string())?;
    if let Some(process) = spec.process() {
        user_process::apply_oom_score_adj(process)?;
        user_process::apply_rlimits(process)?;
        user_process::check_executable(process)?;
    }
    if !ctx.no_new_keyring {
        join_session_keyring(ctx.id)?;
    }
    user_process::keep_only_preserved_fds(ctx.preserve_fds)?;
    Ok(pid)
}

/// After release: startContainer hooks, then the user process (`pid`: ours, as the runtime
/// sees it).
fn start(ctx: &Context, pid: i32) -> Result<std::convert::Infallible, String> {
    let Some(process) = ctx.spec.process() else {
        // runtime.md "Start": MUST generate an error if `process` was not set.
        return Err("config.json has no process to start".into());
    };
    if let Some(hooks) = ctx
        .spec
        .hooks()
        .as_ref()
        .and_then(|h| h.start_container().as_ref())
    {
        let state = serde_json::json!({
            "ociVersion": crate::OCI_VERSION,
            "id": ctx.id,
            "status": "created",
            "pid": std::process::id(),
            "bundle": ctx.bundle,
        });
        crate::hooks::run("startContainer", hooks, state.to_string().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let seccomp = ctx.seccomp.as_ref().map(|filter| user_process::Seccomp {
        filter,
        agent: ctx.seccomp_agent.as_ref(),
        pid,
    });
    let attributes = crate::process::attributes::Attributes::of(process, ctx.spec.linux().as_ref());
    user_process::become_user_process(
        process,
        &attributes,
        ctx.capabilities.as_ref(),
        seccomp.as_ref(),
    )
}

/// Reopens the exec fifo for writing through the O_PATH fd: blocks until `start` opens the
/// read end. Close-on-exec, so the user program's execve reads as EOF in `start`.
fn open_fifo(ctx: &Context) -> Result<std::fs::File, String> {
    let path = format!("/proc/self/fd/{}", ctx.fifo.as_raw_fd());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| format!("open exec fifo {path}: {}", crate::errno_text(&e)))
}

fn set_domainname(name: &str) -> Result<(), String> {
    // SAFETY: the pointer and length describe `name`'s bytes for the call's duration.
    let r = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "set domainname {name:?}: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}

/// runc gives each container its own session keyring (`--no-new-keyring` keeps the caller's),
/// so containers do not share kernel keys. A kernel without keyrings is not an error.
fn join_session_keyring(id: &str) -> Result<(), String> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name = std::ffi::CString::new(format!("_ses.{id}")).map_err(|e| e.to_string())?;
    // SAFETY: keyctl with a valid C string pointer; the kernel copies it.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(format!("join session keyring: {}", crate::errno_text(&e)));
        }
    }
    Ok(())
}
