//! Turning the init into the user process (config.md "Process", "User", "Linux Process";
//! config.md "POSIX process" rlimits): oom score, rlimits, user and groups, capabilities,
//! no_new_privs, umask, cwd, then execve of `args[0]` found with the `PATH` of `process.env`.

use nix::unistd::{Gid, Uid};
use oci_spec::runtime::Process;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `oomScoreAdj`: set when given, untouched otherwise.
pub fn apply_oom_score_adj(process: &Process) -> Result<(), String> {
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| format!("set oom_score_adj {adj}: {}", crate::errno_text(&e)))?;
    }
    Ok(())
}

/// `rlimits`: soft and hard MUST match (a hard limit above the current needs
/// CAP_SYS_RESOURCE: failing is an error, not a warning).
pub fn apply_rlimits(process: &Process) -> Result<(), String> {
    for r in process.rlimits().iter().flatten() {
        let name = serde_json::to_value(r.typ())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let resource = rlimit_resource(&name).ok_or_else(|| format!("unknown rlimit {name}"))?;
        let limit = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit reads one rlimit struct that lives across the call.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "set {name} to soft {} hard {}: {}",
                r.soft(),
                r.hard(),
                crate::errno_text(&e)
            ));
        }
    }
    Ok(())
}

fn rlimit_resource(name: &str) -> Option<libc::__rlimit_resource_t> {
    Some(match name {
        "RLIMIT_CPU" => libc::RLIMIT_CPU,
        "RLIMIT_FSIZE" => libc::RLIMIT_FSIZE,
        "RLIMIT_DATA" => libc::RLIMIT_DATA,
        "RLIMIT_STACK" => libc::RLIMIT_STACK,
        "RLIMIT_CORE" => libc::RLIMIT_CORE,
        "RLIMIT_RSS" => libc::RLIMIT_RSS,
        "RLIMIT_NPROC" => libc::RLIMIT_NPROC,
        "RLIMIT_NOFILE" => libc::RLIMIT_NOFILE,
        "RLIMIT_MEMLOCK" => libc::RLIMIT_MEMLOCK,
        "RLIMIT_AS" => libc::RLIMIT_AS,
        "RLIMIT_LOCKS" => libc::RLIMIT_LOCKS,
        "RLIMIT_SIGPENDING" => libc::RLIMIT_SIGPENDING,
        "RLIMIT_MSGQUEUE" => libc::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => libc::RLIMIT_NICE,
        "RLIMIT_RTPRIO" => libc::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => libc::RLIMIT_RTTIME,
        _ => return None,
    })
}

/// runtime-linux.md "File descriptors": only stdio (and the `--preserve-fds` ones) stay open
/// in the user process: every fd from 3+N up is marked close-on-exec. close_range(2) does it
/// in one call; where it is unavailable — ENOSYS before Linux 5.9, EINVAL for
/// CLOSE_RANGE_CLOEXEC on 5.9 and 5.10 — each fd listed in /proc/self/fd is marked instead.
/// Any other failure is an error: the process must not start with ocirun's fds.
pub fn keep_only_preserved_fds(preserve: i32) -> Result<(), String> {
    let first = 3 + preserve.max(0) as u32;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes flags of our own fds.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL) => mark_listed_fds_cloexec(first),
        _ => Err(format!("mark fds close-on-exec: {}", crate::errno_text(&e))),
    }
}

/// The fallback of [`keep_only_preserved_fds`]: FD_CLOEXEC on every fd from `first` up that
/// /proc/self/fd lists (the procfs of the container's pid namespace, where we are).
fn mark_listed_fds_cloexec(first: u32) -> Result<(), String> {
    let fail = |e: std::io::Error| {
        format!(
            "mark fds close-on-exec: /proc/self/fd: {}",
            crate::errno_text(&e)
        )
    };
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").map_err(fail)? {
        let name = entry.map_err(fail)?.file_name();
        if let Some(fd) = name.to_str().and_then(|n| n.parse::<u32>().ok()) {
            fds.push(fd);
        }
    }
    // The listing's own fd is closed by now: EBADF for it is expected.
    for fd in fds.into_iter().filter(|fd| *fd >= first) {
        // SAFETY: F_SETFD only changes the flags of an fd of ours.
        if unsafe { libc::fcntl(fd as i32, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EBADF) {
                return Err(format!(
                    "mark fd {fd} close-on-exec: {}",
                    crate::errno_text(&e)
                ));
            }
        }
    }
    Ok(())
}

/// The seccomp part of becoming the user process.
#[derive(Debug)]
pub struct Seccomp<'a> {
    pub filter: &'a crate::seccomp::Filter,
    /// Where the listener of a notifying filter goes.
    pub agent: Option<&'a crate::seccomp::notify::Agent>,
    /// This process's pid as the runtime sees it (for the agent).
    pub pid: i32,
}

impl Seccomp<'_> {
    /// Installs the filter; a notifying one's listener fd goes to the agent at once, before
    /// any other system call could wait on it.
    fn install(&self) -> Result<(), String> {
        let Some(listener) = crate::seccomp::install(self.filter)? else {
            return Ok(());
        };
        let agent = self
            .agent
            .ok_or("linux.seccomp: SCMP_ACT_NOTIFY without a listener connection")?;
        let doc = crate::seccomp::notify::process_state(agent, self.pid);
        crate::seccomp::notify::send(agent, listener, &doc)
    }
}

/// Everything from the user switch to execve. Only returns on failure.
pub fn become_user_process(
    process: &Process,
    attributes: &super::attributes::Attributes,
    masks: Option<&crate::capabilities::Masks>,
    seccomp: Option<&Seccomp<'_>>,
) -> Result<std::convert::Infallible, String> {
    let env: Vec<String> = process.env().clone().unwrap_or_default();
    let args = process.args().as_deref().unwrap_or_default();
    let arg0 = args.first().ok_or("process.args is empty")?;
    let cwd = process.cwd();
    enter_cwd(cwd)?;
    // While still root with every capability the config grants (real-time policies).
    attributes.apply()?;
    if let Some(m) = masks {
        crate::capabilities::drop_bounding(m.bounding)?;
        set_keepcaps(true)?;
    }
    let nnp = process.no_new_privileges().unwrap_or(false);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while still root
    // (as runc does; the profile must then allow the calls that follow).
    if let (Some(s), false) = (seccomp, nnp) {
        s.install()?;
    }
    switch_user(process)?;
    if let Some(m) = masks {
        set_keepcaps(false)?;
        crate::capabilities::set(m)?;
    }
    let path = find_executable(arg0, &env)?;
    if nnp {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("set no_new_privs: {}", crate::errno_text(&e)));
        }
        if let Some(s) = seccomp {
            s.install()?;
        }
    }
    if let Some(mask) = process.user().umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    let c = |s: &[u8]| {
        CString::new(s).map_err(|_| format!("{:?} contains a NUL byte", String::from_utf8_lossy(s)))
    };
    let c_path = c(path.as_os_str().as_bytes())?;
    let c_args = args
        .iter()
        .map(|a| c(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let c_env = env
        .iter()
        .map(|e| c(e.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let err = match nix::unistd::execve(&c_path, &c_args, &c_env) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    Err(format!(
        "exec {}: {}",
        path.display(),
        crate::errno_text_raw(err as i32)
    ))
}

/// config.md `cwd`: the working directory, created when missing (as runc does).
fn enter_cwd(cwd: &Path) -> Result<(), String> {
    if let Err(e) = std::fs::create_dir_all(cwd) {
        return Err(format!(
            "create cwd {}: {}",
            cwd.display(),
            crate::errno_text(&e)
        ));
    }
    nix::unistd::chdir(cwd).map_err(|e| {
        format!(
            "chdir {}: {}",
            cwd.display(),
            crate::errno_text_raw(e as i32)
        )
    })
}

fn set_keepcaps(on: bool) -> Result<(), String> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!("keep capabilities: {}", crate::errno_text(&e)));
    }
    Ok(())
}

/// config.md "POSIX-platform User": additional gids, gid, then uid (last, since it gives up the
/// right to change the others).
fn switch_user(process: &Process) -> Result<(), String> {
    let user = process.user();
    let errno =
        |what: String, e: nix::errno::Errno| format!("{what}: {}", crate::errno_text_raw(e as i32));
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    let denied = std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
    if !denied {
        nix::unistd::setgroups(&groups).map_err(|e| {
            errno(
                format!(
                    "setgroups {:?}",
                    user.additional_gids().as_deref().unwrap_or_default()
                ),
                e,
            )
        })?;
    } else if !groups.is_empty() {
        return Err(
            "process.user.additionalGids: setgroups is denied in this user namespace".into(),
        );
    }
    let gid = Gid::from_raw(user.gid());
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| errno(format!("setgid {gid}"), e))?;
    let uid = Uid::from_raw(user.uid());
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| errno(format!("setuid {uid}"), e))?;
    Ok(())
}

/// Checks at create time, as runc does, that `args[0]` resolves in the container, so that a
/// missing command fails `create` with "no such file or directory" / "executable file not
/// found in $PATH" (podman and docker map those to exit 127). runtime.md "Create" lets the
/// runtime apply `process` properties other than `args` at create.
pub fn check_executable(process: &Process) -> Result<(), String> {
    let env = process.env().as_deref().unwrap_or_default();
    let Some(arg0) = process.args().as_ref().and_then(|a| a.first()) else {
        return Ok(()); // parse-time validation already requires one
    };
    let path = find_executable(arg0, env)?;
    std::fs::metadata(&path)
        .map(|_| ())
        .map_err(|e| format!("exec {}: {}", path.display(), crate::errno_text(&e)))
}

/// execvp(3) semantics for `args[0]`, with the container's own `PATH` (config.md `args`).
fn find_executable(arg0: &str, env: &[String]) -> Result<PathBuf, String> {
    if arg0.contains('/') {
        return Ok(PathBuf::from(arg0));
    }
    const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        let is_file = std::fs::metadata(&candidate).is_ok_and(|m| m.is_file());
        if is_file && nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok() {
            return Ok(candidate);
        }
    }
    Err(format!("exec {arg0}: executable file not found in $PATH"))
}
