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
//!
//! The same counters spare most listings of /proc (a tenth of a refresh of a large host) on
//! a host where processes come and go: in the initial pid namespace, where the host-wide
//! counters count exactly the tasks /proc shows, the tasks created since the previous pass
//! have their pids in the arc. Probing those few pids finds the ones still there; if the
//! tasks reaped meanwhile are exactly the created ones that are gone
//! ([`Cursor::only_new_tasks_reaped`]), no older process went away, and the previous pids
//! plus the new leaders found in the arc are what listing /proc would give.

use std::path::Path;

/// The allocator's position at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Clock ticks since boot (/proc/uptime), read just before the counters: every task
    /// created after them started later than this (see [`Cursor::told_apart`]).
    pub uptime_ticks: Option<u64>,
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

    /// How a task whose pid lies in the arc swept after `self` relates to it, by its start
    /// time: a task created after the counters were read started no earlier than the uptime
    /// read before them, and one the cursor skipped (its pid was in use) started no later.
    /// Start times are whole clock ticks, so a task started in the very tick of the uptime
    /// reading cannot be told ([`Age::Unknown`]).
    pub fn told_apart(&self, start_ticks: u64) -> Age {
        match self.uptime_ticks {
            Some(u) if start_ticks > u => Age::New,
            Some(u) if start_ticks < u => Age::Old,
            _ => Age::Unknown,
        }
    }

    /// Whether every task reaped between `self` and `later` was one created in between,
    /// given how many of those are still there (`new_alive`): tasks(later) = tasks(self) +
    /// created - reaped, and of the created ones `created - new_alive` are gone, so the two
    /// agree exactly when no older task was reaped. False when they do not (an older task or
    /// one of its threads was reaped, or the counters are not the host's).
    pub fn only_new_tasks_reaped(&self, later: &Cursor, new_alive: u64) -> bool {
        let Some(created) = later.forks.checked_sub(self.forks) else {
            return false;
        };
        // tasks(later) = tasks(self) + created - reaped
        let reaped = i64::from(self.tasks) + created as i64 - i64::from(later.tasks);
        reaped >= 0 && created.checked_sub(new_alive) == Some(reaped as u64)
    }
}

/// Whether a task was there before a window, or created within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    Old,
    New,
    Unknown,
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

    /// The pids of the arc, when it does not wrap past pid_max (else `None`).
    pub fn pids(self) -> Option<std::ops::RangeInclusive<u32>> {
        match self {
            Window::Arc { after, upto } if after <= upto => Some(after + 1..=upto),
            _ => None,
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
    read_counters(proc_root, crate::collect::clock_ticks())
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

/// The inode of the initial pid namespace (PROC_PID_INIT_INO in the kernel's
/// include/linux/proc_ns.h): fixed, so a reader can tell it is in it.
const INITIAL_PID_NS: &str = "pid:[4026531836]";

/// Whether this process is in the initial pid namespace, where every task of the host has a
/// pid: only there do the host-wide counters (forks, tasks) count exactly the tasks its /proc
/// shows.
pub fn in_initial_pid_ns(proc_root: &Path) -> bool {
    std::fs::read_link(proc_root.join("self/ns/pid"))
        .is_ok_and(|link| link.as_os_str() == INITIAL_PID_NS)
}

/// Reads the cursor through a proc root [`is_own`] accepted; `clock_ticks` is USER_HZ.
pub fn read_counters(proc_root: &Path, clock_ticks: u64) -> Option<Cursor> {
    // First: every task created after the counters below started later than this.
    let uptime_ticks = std::fs::read_to_string(proc_root.join("uptime"))
        .ok()
        .and_then(|text| parse_uptime_ticks(&text, clock_ticks));
    let loadavg = std::fs::read_to_string(proc_root.join("loadavg")).ok()?;
    let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    let pid_max = std::fs::read_to_string(proc_root.join("sys/kernel/pid_max")).ok()?;
    Some(Cursor {
        uptime_ticks,
        last_pid: parse_last_pid(&loadavg)?,
        tasks: parse_tasks(&loadavg)?,
        forks: parse_forks(&stat)?,
        pid_max: pid_max.trim().parse().ok()?,
    })
}

/// The first field of /proc/uptime, seconds since boot with two decimals, in clock ticks
/// (rounded down, as the kernel rounds start times).
pub fn parse_uptime_ticks(uptime: &str, clock_ticks: u64) -> Option<u64> {
    let secs = uptime.split_ascii_whitespace().next()?;
    let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
    let whole: u64 = whole.parse().ok()?;
    // Hundredths, as /proc/uptime prints them.
    let hundredths: u64 = format!("{frac:0<2}").get(..2)?.parse().ok()?;
    Some(whole * clock_ticks + hundredths * clock_ticks / 100)
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
            uptime_ticks: Some(1000),
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
    fn only_new_tasks_reaped_adds_up_the_counters() {
        let before = at(1000, 50);
        let later = |forks: u64, tasks: u32| Cursor {
            forks,
            tasks,
            ..at(1003, 0)
        };
        // 3 forks, 1 of them alive: 2 reaped, both new ones.
        assert!(before.only_new_tasks_reaped(&later(53, 101), 1));
        // The same counts with 2 new ones alive: one reaped task was older.
        assert!(!before.only_new_tasks_reaped(&later(53, 101), 2));
        // No fork, one task fewer: an older task was reaped.
        assert!(!before.only_new_tasks_reaped(&later(50, 99), 0));
        // Counters that went backwards or do not add up.
        assert!(!before.only_new_tasks_reaped(&later(49, 100), 0));
        assert!(!before.only_new_tasks_reaped(&later(51, 102), 0));
        // Ages by start time against the uptime read before the counters.
        assert_eq!(before.told_apart(1001), Age::New);
        assert_eq!(before.told_apart(999), Age::Old);
        assert_eq!(before.told_apart(1000), Age::Unknown);
        let w = Window::between(before, later(53, 101), 100);
        assert_eq!(w.pids(), Some(1001..=1003));
        assert_eq!(Window::between(at(32700, 0), at(320, 80), 100).pids(), None);
    }

    #[test]
    fn uptime_in_ticks() {
        assert_eq!(parse_uptime_ticks("1234.56 99.00\n", 100), Some(123456));
        assert_eq!(parse_uptime_ticks("7.5 1\n", 100), Some(750));
        assert_eq!(parse_uptime_ticks("3 1\n", 250), Some(750));
        assert_eq!(parse_uptime_ticks("x", 100), None);
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
