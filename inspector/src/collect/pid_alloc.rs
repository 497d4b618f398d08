//! Which pids the kernel may have handed out between two passes, so a refresh knows which of
//! the pids it saw before can now name another process.
//!
//! Linux hands out pids cyclically: each new task gets the next free pid after the last one
//! allocated, wrapping at `pid_max` (the pid namespace's idr cursor; proc(5) `/proc/loadavg`,
//! fifth field, is the last pid allocated in the reader's pid namespace). So a pid outside the
//! arc of numbers the cursor swept since the previous pass cannot have been given to a new
//! process meanwhile: if it is still listed, it is still the same process. The arc is trusted
//! only when the cursor cannot have gone all the way round: the number of tasks created
//! (`processes` of /proc/stat, every fork and thread) bounds how far it moved.
//!
//! For the arc to cover every reuse, a pass reads the cursor twice: when it starts (the
//! `before` of the next pass: everything this pass reads is read after it) and right after it
//! lists the pids (the `now` of this pass: every pid it lists was allocated before it). A fork
//! that fails after its pid was allocated (a full pids cgroup) moves the cursor without
//! counting; such storms are what the periodic full re-read of every process is also for.

use std::path::Path;

/// The allocator's position at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last pid allocated (fifth field of /proc/loadavg).
    pub last_pid: u32,
    /// Tasks created since boot (`processes` of /proc/stat).
    pub forks: u64,
    /// Tasks that exist, zombies included (after the slash in the fourth field of
    /// /proc/loadavg: the kernel's nr_threads, counted down only when a task is reaped).
    pub tasks: u32,
    /// /proc/sys/kernel/pid_max.
    pub pid_max: u32,
}

/// The pids handed out between two cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Nothing can be told: every pid may name a new process.
    Unknown,
    /// The pids after `after` up to and including `upto`, cyclically.
    Arc { after: u32, upto: u32 },
}

/// The first pid the init namespace's allocator wraps to (RESERVED_PIDS in the kernel); in
/// other pid namespaces it wraps to 1, which only widens the arc taken below.
const RESERVED_PIDS: u32 = 300;

impl Cursor {
    /// Whether no task was created or reaped between `self` and `later`: no fork, and as many
    /// tasks as before (any reaping would have lowered the count). The processes /proc lists
    /// are then exactly the same ones, so a listing taken between the two still holds.
    pub fn same_tasks(&self, later: &Cursor) -> bool {
        self.forks == later.forks && self.tasks == later.tasks && self.pid_max == later.pid_max
    }
}

impl Window {
    /// The pids handed out between `before` and `now`, when `live` pids existed at `before`.
    ///
    /// The cursor moves one step per allocation plus one per pid it finds in use and skips.
    /// Pids in use are those alive before plus those allocated since, so it moved at most
    /// `2 * forks + live` steps, and it can only have lapped if that reaches a whole cycle.
    pub fn between(before: Cursor, now: Cursor, live: usize) -> Window {
        let Some(forks) = now.forks.checked_sub(before.forks) else {
            return Window::Unknown;
        };
        let cycle = u64::from(now.pid_max.saturating_sub(RESERVED_PIDS));
        if before.pid_max != now.pid_max || 2 * forks + live as u64 >= cycle {
            return Window::Unknown;
        }
        Window::Arc {
            after: before.last_pid,
            upto: now.last_pid,
        }
    }

    /// Whether `pid` may have been given to a new process within the window.
    pub fn may_be_new(self, pid: u32) -> bool {
        match self {
            Window::Unknown => true,
            Window::Arc { after, upto } if after <= upto => pid > after && pid <= upto,
            // Wrapped past pid_max: the tail after `after` and the head up to `upto`.
            Window::Arc { after, upto } => pid > after || pid <= upto,
        }
    }
}

/// Reads the cursor of the pid namespace of this process through `proc_root`; `None` when
/// the proc root does not show this process's own pid namespace (see [`is_own`]).
pub fn read(proc_root: &Path) -> Option<Cursor> {
    if !is_own(proc_root) {
        return None;
    }
    read_counters(proc_root)
}

/// Whether `proc_root` shows this process's own pid namespace: not a recorded tree nor
/// another namespace's proc mount, for /proc/loadavg always speaks of the reader's namespace.
/// It cannot change for a given root, so a reader asks once.
pub fn is_own(proc_root: &Path) -> bool {
    std::fs::read_link(proc_root.join("self"))
        .ok()
        .and_then(|own| own.to_str()?.parse::<u32>().ok())
        == Some(std::process::id())
}

/// Reads the cursor through a proc root [`is_own`] accepted.
pub fn read_counters(proc_root: &Path) -> Option<Cursor> {
    let loadavg = std::fs::read_to_string(proc_root.join("loadavg")).ok()?;
    let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    let pid_max = std::fs::read_to_string(proc_root.join("sys/kernel/pid_max")).ok()?;
    Some(Cursor {
        last_pid: parse_last_pid(&loadavg)?,
        tasks: parse_tasks(&loadavg)?,
        forks: parse_forks(&stat)?,
        pid_max: pid_max.trim().parse().ok()?,
    })
}

/// The fifth field of /proc/loadavg: `0.32 1.30 1.59 2/10079 29279`.
fn parse_last_pid(loadavg: &str) -> Option<u32> {
    loadavg.split_ascii_whitespace().nth(4)?.parse().ok()
}

/// The total after the slash in the fourth field of /proc/loadavg.
fn parse_tasks(loadavg: &str) -> Option<u32> {
    let (_, total) = loadavg.split_ascii_whitespace().nth(3)?.split_once('/')?;
    total.parse().ok()
}

/// The `processes` line of /proc/stat.
fn parse_forks(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("processes "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(last_pid: u32, forks: u64) -> Cursor {
        Cursor {
            last_pid,
            forks,
            tasks: 100,
            pid_max: 32768,
        }
    }

    #[test]
    fn the_same_tasks_only_without_forks_or_reaping() {
        let before = at(1000, 50);
        assert!(before.same_tasks(&at(1000, 50)));
        // A fork, even of a task that is gone again.
        assert!(!before.same_tasks(&at(1001, 51)));
        // A task reaped.
        let reaped = Cursor {
            tasks: 99,
            ..before
        };
        assert!(!before.same_tasks(&reaped));
    }

    #[test]
    fn the_arc_swept_since_the_previous_pass() {
        let w = Window::between(at(1000, 50), at(1010, 60), 100);
        assert_eq!(
            w,
            Window::Arc {
                after: 1000,
                upto: 1010
            }
        );
        assert!(!w.may_be_new(1000));
        assert!(w.may_be_new(1001));
        assert!(w.may_be_new(1010));
        assert!(!w.may_be_new(1011));
        assert!(!w.may_be_new(17));
        // No allocation at all: nothing is new.
        let idle = Window::between(at(1000, 50), at(1000, 50), 100);
        assert!(!(1..32768).any(|p| idle.may_be_new(p)));
    }

    #[test]
    fn wrapping_past_pid_max() {
        let w = Window::between(at(32700, 0), at(320, 80), 100);
        assert!(w.may_be_new(32767));
        assert!(w.may_be_new(301));
        assert!(w.may_be_new(5));
        assert!(!w.may_be_new(32700));
        assert!(!w.may_be_new(321));
        assert!(!w.may_be_new(20000));
    }

    #[test]
    fn a_possible_lap_or_odd_counters_trust_nothing() {
        // Enough forks (with the skips over live pids) to go round the whole cycle.
        let w = Window::between(at(1000, 0), at(1010, 16000), 500);
        assert_eq!(w, Window::Unknown);
        assert!(w.may_be_new(20000));
        // A counter that went backwards (another boot, another host) or a new pid_max.
        assert_eq!(Window::between(at(1, 10), at(2, 9), 1), Window::Unknown);
        let mut grown = at(2, 10);
        grown.pid_max = 4194304;
        assert_eq!(Window::between(at(1, 10), grown, 1), Window::Unknown);
    }

    #[test]
    fn parses_loadavg_and_stat() {
        assert_eq!(
            parse_last_pid("0.32 1.30 1.59 2/10079 29279\n"),
            Some(29279)
        );
        assert_eq!(parse_last_pid("0.32 1.30"), None);
        assert_eq!(parse_tasks("0.32 1.30 1.59 2/10079 29279\n"), Some(10079));
        assert_eq!(parse_tasks("0.32 1.30 1.59 2 29279\n"), None);
        assert_eq!(
            parse_forks("cpu  1 2 3\nctxt 9\nbtime 5\nprocesses 123456\nprocs_running 2\n"),
            Some(123456)
        );
        assert_eq!(parse_forks("cpu 1\n"), None);
    }

    #[test]
    fn the_hosts_own_proc_is_read_and_a_recorded_tree_is_not() {
        let c = read(Path::new("/proc")).unwrap();
        assert!(c.last_pid > 0 && c.last_pid < c.pid_max);
        assert!(c.forks > 0);
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("42", tmp.path().join("self")).unwrap();
        std::fs::write(tmp.path().join("loadavg"), "0 0 0 1/1 7\n").unwrap();
        assert_eq!(read(tmp.path()), None);
    }
}
