//! What the runner sees from outside the container: `/proc/<pid>/` of the container process,
//! its exit status (the runner is the subreaper of every container it starts), and the
//! runner's own namespaces (the runtime namespaces a container inherits, config-linux.md
//! "Namespaces").

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Namespace types as named in `/proc/<pid>/ns`.
pub const NS_FILES: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// The config's namespace type → the name of its file in `/proc/<pid>/ns`.
pub fn ns_file(config_type: &str) -> Option<&'static str> {
    Some(match config_type {
        "pid" => "pid",
        "network" => "net",
        "mount" => "mnt",
        "ipc" => "ipc",
        "uts" => "uts",
        "user" => "user",
        "cgroup" => "cgroup",
        "time" => "time",
        _ => return None,
    })
}

/// Inodes of `/proc/<pid>/ns/*` (`pid` may be `self`).
pub fn namespaces(pid: &str) -> BTreeMap<String, u64> {
    NS_FILES
        .iter()
        .filter_map(|ns| {
            let m = std::fs::metadata(format!("/proc/{pid}/ns/{ns}")).ok()?;
            Some((ns.to_string(), m.ino()))
        })
        .collect()
}

/// Inode of a namespace file given by path (`linux.namespaces[].path`).
pub fn ns_inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

pub fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

pub fn cgroup(pid: i32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The process's state letter from `/proc/<pid>/stat` (`R`, `S`, `Z`, ...), `None` if gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    after.chars().next()
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// A process as seen at one moment: its pid and its start time (field 22 of
/// `/proc/<pid>/stat`), which together keep naming it after the pid is handed to another
/// process. Waiting on a bare pid could reap a stranger: once a container process is reaped,
/// the kernel may give its pid to a runtime another case's thread just started, and a second
/// waitpid on that pid would take that thread's child (its wait then fails with ECHILD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    start: Option<u64>,
}

impl Proc {
    /// The process `pid` names now (`start` is unknown if it is already gone).
    pub fn seen(pid: i32) -> Proc {
        Proc {
            pid,
            start: start_ticks(pid),
        }
    }

    /// Whether the pid still names this process, alive or a zombie not yet reaped.
    pub fn is_still_there(&self) -> bool {
        self.start.is_some() && start_ticks(self.pid) == self.start
    }
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks after boot.
fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the comm, which may hold spaces and parentheses; field 3 is the first.
    let after = stat.rsplit_once(") ")?.1;
    after.split_ascii_whitespace().nth(22 - 3)?.parse().ok()
}

/// Makes the runner the subreaper of everything it starts, so container processes whose
/// runtime exits become its children and their exit status can be read (prctl(2)).
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// How a wait for the container process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The exit status as a shell shows it: the code, or 128+N for signal N.
    Status(i32),
    /// The process is gone but was not our child: its status is unknown.
    Gone,
    TimedOut,
}

/// Waits for the process to exit, reaping it; returns its status. A pid that no longer names
/// it is never waited on.
pub fn wait_exit(p: Proc, timeout: Duration) -> Exit {
    let pid = p.pid;
    let start = Instant::now();
    loop {
        if !p.is_still_there() {
            return Exit::Gone;
        }
        let mut status = 0;
        // SAFETY: waitpid on one specific pid with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            if libc::WIFEXITED(status) {
                return Exit::Status(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Exit::Status(128 + libc::WTERMSIG(status));
            }
        } else if rc < 0 && !alive(pid) {
            return Exit::Gone;
        }
        if start.elapsed() >= timeout {
            return Exit::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reaps the process if it is a zombie child of ours (after a forced cleanup), without
/// blocking, and only while its pid still names it.
pub fn reap(p: Proc) {
    if !p.is_still_there() {
        return;
    }
    let mut status = 0;
    // SAFETY: as above.
    unsafe {
        libc::waitpid(p.pid, &mut status, libc::WNOHANG);
    }
}

pub fn kill(pid: i32, signal: i32) {
    if pid > 0 {
        // SAFETY: kill(2) with a positive pid.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// All pids on the host.
pub fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `/proc/self/oom_score_adj` of the runner: what a container inherits when the config does
/// not set `oomScoreAdj` (config.md "Linux Process").
pub fn own_oom_score_adj() -> Option<i32> {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The bounding set of the runner: capabilities a runtime cannot grant beyond it.
pub fn own_bounding_set() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(u64::MAX)
}

/// Whether the runner itself runs with no_new_privs (then a container of a runtime that
/// ignores `noNewPrivileges` would have it too).
pub fn own_no_new_privs() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("NoNewPrivs:") && l.trim_end().ends_with('1'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_named_by_pid_and_start_time() {
        let me = Proc::seen(std::process::id() as i32);
        assert!(me.is_still_there());
        // A pid that names nothing: never waited on, never reaped.
        let none = Proc::seen(i32::MAX);
        assert!(!none.is_still_there());
        assert_eq!(wait_exit(none, Duration::from_millis(10)), Exit::Gone);
        // The same pid with another start time is another process.
        let other = Proc {
            start: me.start.map(|s| s + 1),
            ..me
        };
        assert!(!other.is_still_there());
        assert_eq!(wait_exit(other, Duration::from_millis(10)), Exit::Gone);
    }

    #[test]
    // The child is reaped by `wait_exit`, which is what is tested.
    #[allow(clippy::zombie_processes)]
    fn a_child_is_waited_for_once() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        // Seen while running or as a zombie: nobody has reaped it yet.
        let p = Proc::seen(child.id() as i32);
        assert!(p.is_still_there());
        assert_eq!(wait_exit(p, Duration::from_secs(10)), Exit::Status(7));
        // Reaped: its pid no longer names it, whoever gets the pid next.
        assert!(!p.is_still_there());
        reap(p);
        assert_eq!(wait_exit(p, Duration::from_millis(10)), Exit::Gone);
    }
}
