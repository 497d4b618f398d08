//! runc's `events`: the container's resource usage and its OOM kills as JSON lines, which
//! tools written for runc decode (runc's `types/events.go`):
//!
//! ```text
//! {"type":"stats","id":"c1","data":{"cpu":{...},"memory":{...},"pids":{...},...}}
//! {"type":"oom","id":"c1"}
//! ```
//!
//! `--stats` prints one stats line and exits. Otherwise a stats line every interval (the
//! first after one interval, as runc's ticker) and an `oom` line as each OOM kill happens,
//! until the container stops (its init exits: one last look for an OOM that killed it) or
//! its cgroup is removed. No polling: the wait is on the OOM watch and a pidfd of the init.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Error;
use crate::cgroups::stats::Stats;
use crate::state::{Container, Status};

/// One line of output.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

/// runc's `events` flags.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--stats`: one stats line, then exit.
    pub stats_only: bool,
    /// `--interval` (runc's default: 5 s).
    pub interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            stats_only: false,
            interval: Duration::from_secs(5),
        }
    }
}

/// Writes the events of container `id` to `out`, one JSON line each, flushed as written.
pub fn events(root: &Path, id: &str, opts: Options, out: &mut dyn Write) -> Result<(), Error> {
    crate::id::validate(id)?;
    if opts.interval.is_zero() {
        return Err(Error::Failed(
            "--interval: duration interval must be greater than 0".into(),
        ));
    }
    // No lock: events runs for as long as the container does, and must not hold off
    // `delete` or `update`.
    let container = Container::load(root, id)?;
    // Pinned before the status is judged (see kill.rs): the pidfd is the init's.
    let init = crate::process::pidfd_open(container.state.pid);
    let status = container.status();
    let (Some(init), false) = (init, status == Status::Stopped) else {
        return Err(Error::WrongState {
            op: "report events of",
            id: id.to_string(),
            status: Status::Stopped,
        });
    };
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        id,
        container.state.systemd_cgroup,
    )?;
    let emit = |out: &mut dyn Write, event: &Event| -> Result<(), Error> {
        let line = serde_json::to_string(event).map_err(|e| Error::Failed(e.to_string()))?;
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::os("write events", &e))
    };
    let stats = |out: &mut dyn Write| -> Result<(), Error> {
        let data = cgroup.stats()?;
        emit(
            out,
            &Event {
                kind: "stats",
                id,
                data: Some(data),
            },
        )
    };
    if opts.stats_only {
        return stats(out);
    }
    let oom_line = Event {
        kind: "oom",
        id,
        data: None,
    };
    let mut watch = cgroup.oom_watch()?;
    let mut next = Instant::now() + opts.interval;
    loop {
        let mut fds = vec![libc::pollfd {
            fd: init.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(fd) = watch.fd() {
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let wait = next.saturating_duration_since(Instant::now());
        let timeout = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: `fds` is a valid array of pollfds for its length.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os("poll", &e));
        }
        let init_exited = fds[0].revents != 0;
        if fds.get(1).is_some_and(|f| f.revents != 0) || init_exited {
            let news = watch.take();
            if news.oom {
                emit(out, &oom_line)?;
            }
            if news.gone || init_exited {
                return Ok(());
            }
        }
        if Instant::now() >= next {
            // runc logs a failed read and carries on: the next tick may succeed.
            if let Err(e) = stats(out) {
                crate::logging::warn(&e.to_string());
            }
            next += opts.interval;
        }
    }
}
