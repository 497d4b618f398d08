//! `SCMP_ACT_NOTIFY` (config-linux.md "Seccomp" `listenerPath`, "The Container Process
//! State"): the filter's listener fd goes to a seccomp agent over a UNIX stream socket, with
//! the container process state as JSON beside it.
//!
//! The runtime connects to `listenerPath` while it still sees the host's filesystem (at
//! `create` or `exec`, before fork), and the container process — the only one that holds the
//! listener fd, which it gets from seccomp(2) just before execve — sends the state and the
//! fd over that connection, then closes it: one state per connection, never reused. A failure
//! to send fails the process before it runs ("the runtime MUST generate an error").

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// A connection to the agent, made by the runtime, and what the process tells it.
#[derive(Debug)]
pub struct Agent {
    pub conn: OwnedFd,
    /// `listenerPath`, for messages.
    pub path: String,
    /// `listenerMetadata`.
    pub metadata: Option<String>,
    /// The container's state (runtime.md "State") as the agent is to see it; `pid` is
    /// filled in by the process.
    pub state: serde_json::Value,
}

/// The agent of a notifying `filter`, connected: None when no rule notifies ("If the
/// SCMP_ACT_NOTIFY action is not used this value is ignored"). `state` is the container's
/// state for the agent.
pub fn agent_for(
    profile: &oci_spec::runtime::LinuxSeccomp,
    filter: &super::Filter,
    state: serde_json::Value,
) -> Result<Option<Agent>, String> {
    let Some(path) = profile.listener_path().as_ref().filter(|_| filter.notify) else {
        return Ok(None);
    };
    Ok(Some(Agent {
        conn: connect(path)?,
        path: path.display().to_string(),
        metadata: profile.listener_metadata().clone(),
        state,
    }))
}

/// Connects to `path` (AF_UNIX, SOCK_STREAM, close-on-exec).
pub fn connect(path: &Path) -> Result<OwnedFd, String> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    let fail = |e: nix::errno::Errno| {
        format!(
            "linux.seccomp.listenerPath: connect {}: {}",
            path.display(),
            crate::errno_text_raw(e as i32)
        )
    };
    let addr = UnixAddr::new(path).map_err(fail)?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(fail)?;
    connect(sock.as_raw_fd(), &addr).map_err(fail)?;
    Ok(sock)
}

/// The container process state of config-linux.md, for the process `pid` (as the runtime
/// sees it).
pub fn process_state(agent: &Agent, pid: i32) -> serde_json::Value {
    let mut state = agent.state.clone();
    // At create the runtime learns the init's pid after it connected; an exec'd process
    // joins a container whose state already names its init.
    if state.get("pid").is_none_or(serde_json::Value::is_null) {
        state["pid"] = serde_json::json!(pid);
    }
    let mut doc = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    if let Some(m) = &agent.metadata {
        doc["metadata"] = serde_json::json!(m);
    }
    doc
}

/// Sends `doc` with `listener` in SCM_RIGHTS, then shuts the connection down: the agent reads
/// EOF whoever else still holds a copy of the socket (`ocirun run` does until it exits).
pub fn send(agent: &Agent, listener: OwnedFd, doc: &serde_json::Value) -> Result<(), String> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let bytes = doc.to_string().into_bytes();
    let fds = [listener.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let mut sent = 0;
    while sent < bytes.len() {
        let iov = [std::io::IoSlice::new(&bytes[sent..])];
        // "If more than one sendmsg(2) is used, the file descriptors MUST be sent only in the
        // first call."
        let control: &[ControlMessage] = if sent == 0 { &cmsg } else { &[] };
        match sendmsg::<()>(
            agent.conn.as_raw_fd(),
            &iov,
            control,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(format!(
                    "linux.seccomp.listenerPath: send to {}: {}",
                    agent.path,
                    crate::errno_text_raw(e as i32)
                ))
            }
        }
    }
    let _ = nix::sys::socket::shutdown(agent.conn.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    // Our copy of the listener closes here; the agent now holds the only one.
    drop(listener);
    Ok(())
}
