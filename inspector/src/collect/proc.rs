//! Reading processes from a proc root: /proc/PID/{stat,status,cmdline,cgroup,ns/*} (proc(5)).
//!
//! The hot path of every refresh. Each file is opened relative to the pid directory
//! (openat/readlinkat) into one reused buffer and read with one read(2) when it fits. What
//! the kernel charges for producing these files is most of the cost (docs/inspector.md), so a
//! refresh reads only what can have changed:
//!
//! - a pid not seen before, or due for its periodic re-read (every [`REREAD_EVERY`] passes,
//!   staggered by pid), is read in full;
//! - a closely watched process (the caller's choice: the containers' and shims') and one that
//!   started in the last [`YOUNG_SECS`] and has not settled yet get their stat and cgroup read.
//!   A young process has settled once two reads in a row found the same image and that image
//!   is not its parent's: it has exec'd and stayed. Until then it may still exec (a fork keeps
//!   the parent's image until it does; `sh -c 'exec ...'` execs twice in a row) or be moved to
//!   another cgroup. So a burst of 10,000 new processes costs one more read each, not one a
//!   pass for ten seconds;
//! - every other process when the caller shows them all, one whose pid may have been handed
//!   to a new process since it was read ([`pid_alloc`]), and one whose parent is gone or may
//!   be new (it was re-parented) get their stat read;
//! - in both cases the command line, namespaces and ids (and cgroup, where not read) are kept
//!   while the process image is the same (pid, start time, comm and where the kernel put its
//!   code, stack and arguments: an exec, which runtimes and nsenter do right after
//!   setns/unshare, maps a new image), else everything is read;
//! - any other process is carried over as it was ([`Process::carried_over`]): the kernel
//!   cannot have given its pid to anyone else, so it is still that process.
//!
//! A process that vanishes mid-read is skipped; a file that cannot be read leaves its fields
//! unknown.

use super::pid_alloc::{self, Cursor, Window};
use crate::model::{CgroupLine, Ids, NsKind, Process};
use nix::fcntl::{open, openat, readlinkat, OFlag};
use nix::sys::stat::Mode;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every process is read in full at least once every this many passes (a minute at the
/// default 1 s refresh), whatever else says it is unchanged: a cgroup move, a setns without
/// exec or a new command line of a process nobody watches shows up at the latest then. Each
/// pass re-reads the pids due in it, 1/60 of them, so the cost is spread evenly.
pub const REREAD_EVERY: u64 = 60;

/// A process this young is read on every pass: right after fork it is about to exec.
pub const YOUNG_SECS: u64 = 10;

/// Which known processes a refresh reads again (the others may be carried over).
#[derive(Debug, Clone, Copy)]
pub struct Watch<'a> {
    /// Processes whose stat and cgroup are read on every pass; `None`: every process.
    pub closely: Option<&'a HashSet<u32>>,
    /// Whether every other process's stat is read on every pass too (they are on screen).
    pub stat_of_all: bool,
}

impl Watch<'_> {
    /// Stat and cgroup of every process on every pass.
    pub const EVERYTHING: Watch<'static> = Watch {
        closely: None,
        stat_of_all: true,
    };

    fn closely(self, pid: u32) -> bool {
        self.closely.is_none_or(|pids| pids.contains(&pid))
    }
}

/// Reads processes under one proc root, keeping what it read between calls.
pub struct ProcReader {
    root: PathBuf,
    /// One per reader thread, kept between passes.
    readers: Vec<Reader>,
    /// Every process of the previous pass, sorted by pid.
    known: Vec<Known>,
    /// Whether the root is this process's own /proc, whose pid allocator it can follow.
    own_proc: bool,
    /// Whether that is the initial pid namespace's, where the host-wide task counters count
    /// exactly the tasks it shows.
    initial_pid_ns: bool,
    /// The pid allocator's cursor when the previous pass started.
    cursor: Option<Cursor>,
    /// The pids of the previous pass (listed, or known to be the same as those listed).
    listed: Vec<u32>,
    passes: u64,
    /// How each pass came by its pids, for the benchmark.
    pub how: HowListed,
    page_kib: u64,
    clock_ticks: u64,
}

/// How many passes took their pids from each source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HowListed {
    /// No task came or went: the previous pids.
    pub unchanged: u64,
    /// Only new tasks came and went: the previous pids and those found in the arc.
    pub probed: u64,
    /// /proc listed.
    pub listed: u64,
}

/// Where the kernel mapped a process image: its code, stack and arguments (fields 26, 28
/// and 48 of /proc/PID/stat). An exec maps a new image, at new addresses wherever address
/// space randomisation is on, and at new argument addresses whenever the arguments differ:
/// with the comm, it tells an exec even of the same program. Zeros where the kernel hides
/// them (no ptrace access to the process) or is too old to show them.
pub type Image = [u64; 3];

/// A process of the previous pass and where its image was.
#[derive(Clone)]
struct Known {
    process: Process,
    image: Image,
    /// Two reads in a row found this image, and it is not the parent's (module doc): a young
    /// process need not be read every pass any more.
    settled: bool,
}

impl Known {
    /// Whether `stat` describes the same process image.
    fn same_image(&self, stat: &Stat) -> bool {
        self.process.start_ticks == stat.start_ticks
            && *self.process.comm == *stat.comm
            && self.image == stat.image
    }
}

/// The fields of /proc/PID/stat ocitop uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    pub cpu_ticks: u64,
    pub threads: u32,
    pub start_ticks: u64,
    /// Field 24: resident set size in pages.
    pub rss_pages: u64,
    pub image: Image,
}

/// The fields of /proc/PID/status ocitop uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub uids: Option<Ids>,
    pub gids: Option<Ids>,
}

/// What a pass reads of one pid: every file (`known` is `None`), or its stat, and its cgroup
/// if `cgroup`, keeping the rest of `known` if it is the same process image. `parent_image`
/// is the image of its parent as last read, when known (to tell whether it has exec'd).
/// It owns what it keeps, so a pass moves each process's shared strings instead of counting
/// another reference to them (with 10,000 processes those counts are cache misses).
struct Plan {
    known: Option<Known>,
    cgroup: bool,
    parent_image: Option<Image>,
}

impl Plan {
    fn full() -> Self {
        Plan {
            known: None,
            cgroup: true,
            parent_image: None,
        }
    }

    fn live(known: Known, cgroup: bool, parent_image: Option<Image>) -> Self {
        Plan {
            known: Some(known),
            cgroup,
            parent_image,
        }
    }
}

impl ProcReader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        ProcReader {
            own_proc: pid_alloc::is_own(&root),
            initial_pid_ns: pid_alloc::in_initial_pid_ns(&root),
            root,
            readers: Vec::new(),
            known: Vec::new(),
            cursor: None,
            listed: Vec::new(),
            passes: 0,
            how: HowListed::default(),
            page_kib: page_kib(),
            clock_ticks: super::clock_ticks(),
        }
    }

    /// A pass that reads the stat and cgroup of every process.
    pub fn read_all(&mut self) -> std::io::Result<Vec<Process>> {
        self.refresh(Watch::EVERYTHING)
    }

    /// One pass over every process still there, sorted by pid (see the module's doc for what
    /// is read). Large hosts are read by a few threads, each over a contiguous range of pids
    /// with its own buffer.
    pub fn refresh(&mut self, watch: Watch) -> std::io::Result<Vec<Process>> {
        // Taken, and put back only by a pass that completes: the listing and the known
        // processes must be those read after this cursor.
        let before = self.cursor.take();
        let cursor = || {
            self.own_proc
                .then(|| pid_alloc::read_counters(&self.root, self.clock_ticks))
                .flatten()
        };
        let started = cursor();
        let root = open_dir(&self.root)?;
        // Listing /proc costs as much as a tenth of a refresh of a large host; when no task
        // came or went since the previous pass, it would list the same pids, and when only
        // tasks created since came and went, the previous pids and the new ones found in the
        // allocator's arc are what it would list (pid_alloc's doc).
        let (pids, window) = match (before, started) {
            (Some(before), Some(now)) if before.same_tasks(&now) => {
                self.how.unchanged += 1;
                (
                    std::mem::take(&mut self.listed),
                    Window::between(before, now, 0),
                )
            }
            (Some(before), Some(now)) => match self.probe_new(&root, before, now) {
                Some(new) => {
                    self.how.probed += 1;
                    let mut pids = std::mem::take(&mut self.listed);
                    pids.extend(new);
                    pids.sort_unstable();
                    (pids, Window::between(before, now, self.known.len()))
                }
                None => self.list(before)?,
            },
            (Some(before), None) => self.list(before)?,
            (None, _) => {
                self.how.listed += 1;
                (self.pids()?, Window::Unknown)
            }
        };
        let slot = self.passes % REREAD_EVERY;
        self.passes += 1;
        let young_from = started
            .map_or_else(|| self.uptime_ticks(), |c| c.uptime_ticks)
            .map(|now| now.saturating_sub(YOUNG_SECS * self.clock_ticks));
        let listed = |pid: u32| pid == 0 || pids.binary_search(&pid).is_ok();
        let known = std::mem::take(&mut self.known);
        let images: Vec<(u32, Image)> = known.iter().map(|k| (k.process.pid, k.image)).collect();
        let image_of = |pid: u32| {
            images
                .binary_search_by_key(&pid, |&(p, _)| p)
                .ok()
                .map(|i| images[i].1)
        };
        let young =
            |k: &Known| !k.settled && young_from.is_none_or(|from| k.process.start_ticks >= from);
        // Both lists are sorted by pid: walk them side by side.
        let mut known_iter = known.into_iter().peekable();
        let mut read = Vec::new();
        let mut out = Vec::with_capacity(pids.len());
        for &pid in &pids {
            while known_iter.next_if(|k| k.process.pid < pid).is_some() {}
            let Some(mut k) = known_iter.next_if(|k| k.process.pid == pid) else {
                read.push((pid, Plan::full()));
                continue;
            };
            let plan = if u64::from(pid) % REREAD_EVERY == slot {
                Plan::full()
            } else if watch.closely(pid) || young(&k) {
                let parent = image_of(k.process.ppid);
                Plan::live(k, true, parent)
            } else if watch.stat_of_all
                || window.may_be_new(pid)
                || !listed(k.process.ppid)
                || window.may_be_new(k.process.ppid)
            {
                let parent = image_of(k.process.ppid);
                Plan::live(k, false, parent)
            } else {
                // Nothing can have made it another process: carried over unread.
                k.process.carried_over = true;
                out.push(k);
                continue;
            };
            read.push((pid, plan));
        }
        out.extend(read_many(&root, read, self.page_kib, &mut self.readers));
        out.sort_unstable_by_key(|k| k.process.pid);
        let processes = out.iter().map(|k| k.process.clone()).collect();
        self.known = out;
        self.listed = pids;
        self.cursor = started;
        Ok(processes)
    }

    /// Lists the proc root, and the window of pids handed out since `before`: up to the
    /// cursor read right after listing, so that every pid listed was allocated before it.
    fn list(&mut self, before: Cursor) -> std::io::Result<(Vec<u32>, Window)> {
        self.how.listed += 1;
        let pids = self.pids()?;
        let window = match pid_alloc::read_counters(&self.root, self.clock_ticks) {
            Some(now) => Window::between(before, now, self.known.len()),
            None => Window::Unknown,
        };
        Ok((pids, window))
    }

    /// The thread-group leaders created between the cursors `before` and `now`, when they
    /// can be told without listing /proc (pid_alloc's doc): the arc of pids the allocator
    /// swept is short, each task in it is told new or old by its start time, and no older
    /// task was reaped. `None` whenever any of that does not hold (then /proc is listed).
    fn probe_new(&mut self, root: &OwnedFd, before: Cursor, now: Cursor) -> Option<Vec<u32>> {
        if !self.initial_pid_ns {
            return None;
        }
        let arc = Window::between(before, now, self.listed.len()).pids()?;
        // Probing a pid costs a few times what listing one entry does.
        if arc.clone().count() > self.listed.len() / 4 + 16 {
            return None;
        }
        let r = reader(&mut self.readers, 0);
        let (mut alive, mut leaders) = (0, Vec::new());
        for pid in arc {
            // A pid in use all along: the cursor skipped it.
            if self.listed.binary_search(&pid).is_ok() {
                continue;
            }
            // /proc/TID opens for any task, a thread too, though only leaders are listed.
            let Ok(dir) = openat(
                root.as_fd(),
                pid.to_string().as_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) else {
                continue;
            };
            // Gone before its stat was read: not counted. Had it been there when `now` was
            // read, the counts below do not add up and /proc is listed.
            let Some(stat) = r.buf.read_at(&dir, "stat").ok().and_then(parse_stat) else {
                continue;
            };
            match before.told_apart(stat.start_ticks) {
                // A thread of a process seen before, its tid skipped by the cursor.
                pid_alloc::Age::Old => continue,
                pid_alloc::Age::Unknown => return None,
                pid_alloc::Age::New => alive += 1,
            }
            let tgid = r.buf.read_at(&dir, "status").ok().and_then(parse_tgid)?;
            if tgid == pid {
                leaders.push(pid);
            }
        }
        before.only_new_tasks_reaped(&now, alive).then_some(leaders)
    }

    /// The numeric entries of the proc root, sorted.
    /// On a large host this is a tenth of a refresh; nix's `Dir` lends each name without
    /// allocating it.
    pub fn pids(&self) -> std::io::Result<Vec<u32>> {
        let mut dir = nix::dir::Dir::open(
            &self.root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut pids: Vec<u32> = dir
            .iter()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Reads one process; `None` when it is gone (no dir, or no readable, parsable stat).
    pub fn read(&mut self, pid: u32) -> Option<Process> {
        let root = open_dir(&self.root).ok()?;
        let page_kib = self.page_kib;
        reader(&mut self.readers, 0)
            .read_one(&root, pid, Plan::full(), page_kib)
            .map(|k| k.process)
    }

    /// Clock ticks since boot, from the first field of /proc/uptime.
    fn uptime_ticks(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.root.join("uptime")).ok()?;
        pid_alloc::parse_uptime_ticks(&text, self.clock_ticks)
    }
}

/// Below this many processes to read, one thread reads them all (threads cost more than they
/// save).
const PARALLEL_FROM: usize = 2000;

/// Reads the planned pids, in parallel when there are many.
fn read_many(
    root: &OwnedFd,
    plans: Vec<(u32, Plan)>,
    page_kib: u64,
    readers: &mut Vec<Reader>,
) -> Vec<Known> {
    let threads = if plans.len() >= PARALLEL_FROM {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    for r in readers.iter_mut() {
        r.forget_unused();
    }
    if threads <= 1 {
        let r = reader(readers, 0);
        return plans
            .into_iter()
            .filter_map(|(pid, plan)| r.read_one(root, pid, plan, page_kib))
            .collect();
    }
    reader(readers, threads - 1);
    let chunk = plans.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = plans;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .zip(readers.iter_mut())
            .map(|(part, r)| {
                scope.spawn(move || {
                    part.into_iter()
                        .filter_map(|(pid, plan)| r.read_one(root, pid, plan, page_kib))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A reader thread only panics on a bug; its pids are then missing, not fatal.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// The `i`th reader, made (with those before it) if there are not that many yet.
fn reader(readers: &mut Vec<Reader>, i: usize) -> &mut Reader {
    if readers.len() <= i {
        readers.resize_with(i + 1, Reader::default);
    }
    &mut readers[i]
}

/// Opens a directory as a handle for `openat` only (O_PATH: no read access needed).
fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    Ok(open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// What one reader thread keeps between passes: its buffer, and one shared copy of each
/// distinct set of cgroup lines and namespaces it has read (most processes of a host share
/// them), so carrying a process over or cloning a snapshot copies pointers, not strings.
#[derive(Default)]
struct Reader {
    buf: ReadBuf,
    cgroups: HashMap<Box<[u8]>, Arc<[CgroupLine]>>,
    namespaces: HashSet<Arc<BTreeMap<NsKind, u64>>>,
}

impl Reader {
    /// Drops the shared values no process refers to any more.
    fn forget_unused(&mut self) {
        self.cgroups.retain(|_, lines| Arc::strong_count(lines) > 1);
        self.namespaces.retain(|ns| Arc::strong_count(ns) > 1);
    }

    /// Reads one process as planned. Every file is opened relative to one handle on the pid
    /// directory, so all of them describe the same process even if the pid is reused
    /// meanwhile (they then fail with ESRCH instead).
    fn read_one(&mut self, root: &OwnedFd, pid: u32, plan: Plan, page_kib: u64) -> Option<Known> {
        let dir = openat(
            root.as_fd(),
            pid.to_string().as_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let stat = parse_stat(self.buf.read_at(&dir, "stat").ok()?)?;
        let known = plan.known.filter(|k| k.same_image(&stat));
        let image = stat.image;
        if let Some(Known { process: k, .. }) = known {
            let cgroups = if plan.cgroup {
                self.cgroups(&dir)
            } else {
                k.cgroups
            };
            let status = Status {
                uids: k.uids,
                gids: k.gids,
            };
            let mut process = process(stat, status, k.cmdline, cgroups, k.namespaces, page_kib);
            // The same comm: keep the shared copy rather than a new one.
            process.comm = k.comm;
            // The same image twice in a row; a fork that has not exec'd still has its parent's.
            let settled = plan.parent_image != Some(image);
            return Some(Known {
                process,
                image,
                settled,
            });
        }
        let cgroups = self.cgroups(&dir);
        let status = self
            .buf
            .read_at(&dir, "status")
            .map(parse_status)
            .unwrap_or_default();
        let cmdline = self
            .buf
            .read_at(&dir, "cmdline")
            .map(parse_cmdline)
            .unwrap_or_default()
            .into();
        let namespaces = self.namespaces(&dir);
        let process = process(stat, status, cmdline, cgroups, namespaces, page_kib);
        Some(Known {
            process,
            image,
            settled: false,
        })
    }

    /// /proc/PID/cgroup, the shared copy of these lines.
    fn cgroups(&mut self, dir: &OwnedFd) -> Option<Arc<[CgroupLine]>> {
        let bytes = self.buf.read_at(dir, "cgroup").ok()?;
        if let Some(lines) = self.cgroups.get(bytes) {
            return Some(lines.clone());
        }
        let lines: Arc<[CgroupLine]> = parse_cgroup(bytes).into();
        self.cgroups.insert(bytes.into(), lines.clone());
        Some(lines)
    }

    /// The links of /proc/PID/ns, the shared copy of this set.
    fn namespaces(&mut self, dir: &OwnedFd) -> Arc<BTreeMap<NsKind, u64>> {
        let mut namespaces = BTreeMap::new();
        for kind in NsKind::ALL {
            if let Ok(target) = readlinkat(dir.as_fd(), ns_file(kind)) {
                if let Some((k, inode)) = target.to_str().and_then(parse_ns_link) {
                    if k == kind {
                        namespaces.insert(kind, inode);
                    }
                }
            }
        }
        if let Some(shared) = self.namespaces.get(&namespaces) {
            return shared.clone();
        }
        let shared = Arc::new(namespaces);
        self.namespaces.insert(shared.clone());
        shared
    }
}

/// The page size in KiB (sysconf(_SC_PAGESIZE)), for the rss field of stat.
fn page_kib() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .map_or(4, |b| (b / 1024).max(1))
}

fn process(
    stat: Stat,
    status: Status,
    cmdline: Arc<[String]>,
    cgroups: Option<Arc<[CgroupLine]>>,
    namespaces: Arc<BTreeMap<NsKind, u64>>,
    page_kib: u64,
) -> Process {
    Process {
        pid: stat.pid,
        ppid: stat.ppid,
        comm: stat.comm.into(),
        cmdline,
        state: stat.state,
        uids: status.uids,
        gids: status.gids,
        start_ticks: stat.start_ticks,
        cpu_ticks: stat.cpu_ticks,
        rss_kib: Some(stat.rss_pages * page_kib),
        threads: Some(stat.threads),
        namespaces,
        cgroups,
        carried_over: false,
    }
}

/// The path of a namespace link relative to the pid dir.
fn ns_file(kind: NsKind) -> &'static str {
    match kind {
        NsKind::Mnt => "ns/mnt",
        NsKind::Uts => "ns/uts",
        NsKind::Ipc => "ns/ipc",
        NsKind::Pid => "ns/pid",
        NsKind::Net => "ns/net",
        NsKind::User => "ns/user",
        NsKind::Cgroup => "ns/cgroup",
        NsKind::Time => "ns/time",
    }
}

/// A read buffer kept between files and passes. Its bytes are initialised once, so a read
/// costs no zeroing; it grows when a file fills it.
struct ReadBuf {
    data: Vec<u8>,
}

impl Default for ReadBuf {
    fn default() -> Self {
        ReadBuf {
            data: vec![0; 16 * 1024],
        }
    }
}

impl ReadBuf {
    /// Reads `name` under the open directory `dir`; the bytes stay valid until the next read.
    fn read_at(&mut self, dir: &OwnedFd, name: &str) -> std::io::Result<&[u8]> {
        let fd = openat(
            dir.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut file = File::from(fd);
        let mut len = 0;
        loop {
            let room = self.data.len() - len;
            let n = file.read(&mut self.data[len..])?;
            len += n;
            // These files are generated whole (single_open seq_files; cmdline is copied until
            // its end), so a read shorter than the room left means the end: no second read(2)
            // for EOF.
            if n == 0 || n < room {
                return Ok(&self.data[..len]);
            }
            self.data.resize(self.data.len() * 2, 0);
        }
    }
}

/// Parses /proc/PID/stat. The comm is in parentheses and may itself hold spaces and
/// parentheses, so the fields after it are found from the last ')' (proc(5)).
pub fn parse_stat(buf: &[u8]) -> Option<Stat> {
    let text = std::str::from_utf8(buf).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_string();
    // fields[0] is field 3 (state) of proc(5), so field N is fields[N - 3].
    let fields: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    let num = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        pid,
        comm,
        state: fields.first()?.chars().next()?,
        ppid: num(4)? as u32,
        cpu_ticks: num(14)? + num(15)?,
        threads: num(20)? as u32,
        start_ticks: num(22)?,
        rss_pages: num(24)?,
        image: [26, 28, 48].map(|n| num(n).unwrap_or(0)),
    })
}

/// Parses the Uid: and Gid: lines of /proc/PID/status. They come early (line 9 and 10 of
/// about 60), so the scan stops once both are seen, and only they are decoded as text.
pub fn parse_status(buf: &[u8]) -> Status {
    let mut status = Status::default();
    for line in buf.split(|&b| b == b'\n') {
        let (slot, rest) = if let Some(rest) = line.strip_prefix(b"Uid:") {
            (&mut status.uids, rest)
        } else if let Some(rest) = line.strip_prefix(b"Gid:") {
            (&mut status.gids, rest)
        } else {
            continue;
        };
        *slot = std::str::from_utf8(rest).ok().and_then(parse_ids);
        if status.uids.is_some() && status.gids.is_some() {
            break;
        }
    }
    status
}

/// The `Tgid:` line of /proc/PID/status: the thread group (process) a task belongs to.
pub fn parse_tgid(buf: &[u8]) -> Option<u32> {
    buf.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Tgid:"))
        .and_then(|rest| std::str::from_utf8(rest).ok()?.trim().parse().ok())
}

fn parse_ids(text: &str) -> Option<Ids> {
    let mut it = text.split_ascii_whitespace().map(|v| v.parse::<u32>());
    Some(Ids {
        real: it.next()?.ok()?,
        effective: it.next()?.ok()?,
        saved: it.next()?.ok()?,
        fs: it.next()?.ok()?,
    })
}

/// Splits /proc/PID/cmdline on NUL bytes (a trailing NUL ends the last argument).
pub fn parse_cmdline(buf: &[u8]) -> Vec<String> {
    let buf = buf.strip_suffix(b"\0").unwrap_or(buf);
    if buf.is_empty() {
        return Vec::new();
    }
    buf.split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Parses /proc/PID/cgroup: `hierarchy-ID:controller-list:cgroup-path` per line (cgroups(7)).
pub fn parse_cgroup(buf: &[u8]) -> Vec<CgroupLine> {
    String::from_utf8_lossy(buf)
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let hierarchy_id = parts.next()?.parse().ok()?;
            let controllers = parts.next()?.to_string();
            let path = parts.next()?.to_string();
            Some(CgroupLine {
                hierarchy_id,
                controllers,
                path,
            })
        })
        .collect()
}

/// Parses a namespace link's text, `type:[inode]` (namespaces(7) "The /proc/[pid]/ns/
/// directory").
pub fn parse_ns_link(text: &str) -> Option<(NsKind, u64)> {
    let (kind, rest) = text.split_once(":[")?;
    let inode = rest.strip_suffix(']')?.parse().ok()?;
    Some((NsKind::from_name(kind)?, inode))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let line = b"42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 12345 1 2 \n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, "a (b) c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 7);
        assert_eq!(s.cpu_ticks, 11);
        assert_eq!(s.threads, 3);
        assert_eq!(s.start_ticks, 12345);
    }

    #[test]
    fn stat_image_fields() {
        // A whole stat line of a shell (kernel 6.18): startcode, startstack and arg_start.
        let line = b"4242 (sh) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 8000 \
            2600000 300 18446744073709551615 94558470000640 94558470647221 140727000000000 0 0 \
            0 65536 4 1 1 0 0 17 1 0 0 0 0 0 94558470700000 94558470720000 94558490000000 \
            140727000002000 140727000002020 140727000002020 140727000004000 0\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.start_ticks, 8000);
        assert_eq!(s.image, [94558470000640, 140727000000000, 140727000002000]);
        // An older or hiding kernel: zeros, and the image check falls back to comm and start.
        let short = b"42 (a (b) c) S 7 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 12345 1 2 \n";
        assert_eq!(parse_stat(short).unwrap().image, [0, 0, 0]);
    }

    #[test]
    fn truncated_or_empty_stat_is_none() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"42 (sh) S 1 42"), None);
    }

    #[test]
    fn status_ids() {
        let s = parse_status(b"Name:\tsh\nUid:\t0\t1\t2\t3\nGid:\t4\t5\t6\t7\nVmRSS:\t 1 kB\n");
        assert_eq!(s.uids.unwrap().saved, 2);
        assert_eq!(s.gids.unwrap().fs, 7);
        // A line that only starts like Uid: is not it; a missing Gid: stays unknown.
        let s = parse_status(b"Uidx:\t9\t9\t9\t9\nUid:\t1\t1\t1\t1\nGroups:\t\n");
        assert_eq!(s.uids.unwrap().real, 1);
        assert_eq!(s.gids, None);
        assert_eq!(parse_status(b"Uid:\t1\t2\n"), Status::default());
        assert_eq!(
            parse_tgid(b"Name:\tsh\nUmask:\t0022\nState:\tS\nTgid:\t42\n"),
            Some(42)
        );
        assert_eq!(parse_tgid(b"Name:\tsh\n"), None);
    }

    #[test]
    fn cmdline_splits_on_nul() {
        assert_eq!(parse_cmdline(b"sleep\x001000\x00"), vec!["sleep", "1000"]);
        assert!(parse_cmdline(b"").is_empty());
    }

    #[test]
    fn cgroup_lines_v1_and_v2() {
        let lines = parse_cgroup(b"4:memory:/a/b\n1:name=systemd:/x:y\n0::/c\n");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].path, "/x:y");
        assert_eq!(lines[2].controllers, "");
    }

    #[test]
    fn ns_link() {
        assert_eq!(
            parse_ns_link("net:[4026531840]"),
            Some((NsKind::Net, 4026531840))
        );
        assert_eq!(parse_ns_link("pid_for_children:[1]"), None);
        assert_eq!(parse_ns_link("net:4026531840"), None);
    }
}
