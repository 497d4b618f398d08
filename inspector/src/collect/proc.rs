//! Reading processes from a proc root: /proc/PID/{stat,status,cmdline,cgroup,ns/*} (proc(5)).
//!
//! The hot path of every refresh, so it reuses one buffer, opens each file relative to the
//! pid directory (openat/readlinkat) instead of walking the whole path each time, reads each
//! file with one read(2) when it fits, and between full passes keeps the command line,
//! namespaces and ids of a process it already knows (same pid, start time and comm: an exec, which
//! runtimes and nsenter do right after setns/unshare, changes the comm). Every
//! [`FULL_PASS_EVERY`]th pass re-reads everything. A process that vanishes mid-read is skipped;
//! a file that cannot be read leaves its fields unknown.

use crate::model::{CgroupLine, Ids, NsKind, Process};
use nix::fcntl::{open, openat, readlinkat, OFlag};
use nix::sys::stat::Mode;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Every this many passes, nothing is taken from the cache.
pub const FULL_PASS_EVERY: u64 = 10;

/// Reads processes under one proc root, reusing its buffers between calls.
pub struct ProcReader {
    root: PathBuf,
    buf: ReadBuf,
    /// What rarely changes, from the previous pass, by pid.
    cache: HashMap<u32, Stable>,
    passes: u64,
    page_kib: u64,
}

/// The facts of a process that only change with exec (or setns/unshare, which in practice
/// come right before an exec).
struct Stable {
    start_ticks: u64,
    comm: String,
    cmdline: Vec<String>,
    namespaces: BTreeMap<NsKind, u64>,
    /// Ids change without exec only when a process drops privileges, which daemons do as they
    /// start; the next full pass sees it.
    status: Status,
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
}

/// The fields of /proc/PID/status ocitop uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub uids: Option<Ids>,
    pub gids: Option<Ids>,
}

impl ProcReader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ProcReader {
            root: root.into(),
            buf: ReadBuf::default(),
            cache: HashMap::new(),
            passes: 0,
            page_kib: page_kib(),
        }
    }

    /// One pass over every process still there, sorted by pid. Large hosts are read by a few
    /// threads, each over a contiguous range of pids with its own buffer.
    pub fn read_all(&mut self) -> std::io::Result<Vec<Process>> {
        let pids = self.pids()?;
        let root = open_dir(&self.root)?;
        let full = self.passes.is_multiple_of(FULL_PASS_EVERY);
        self.passes += 1;
        let previous = std::mem::take(&mut self.cache);
        let previous = if full { HashMap::new() } else { previous };
        let page_kib = self.page_kib;
        let threads = if pids.len() >= PARALLEL_FROM {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        let out: Vec<Process> = if threads <= 1 {
            let mut out = Vec::with_capacity(pids.len());
            for &pid in &pids {
                out.extend(read_one(
                    &root,
                    pid,
                    previous.get(&pid),
                    page_kib,
                    &mut self.buf,
                ));
            }
            out
        } else {
            let chunk = pids.len().div_ceil(threads);
            let (root, previous) = (&root, &previous);
            std::thread::scope(|scope| {
                let handles: Vec<_> = pids
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(move || {
                            let mut buf = ReadBuf::default();
                            part.iter()
                                .filter_map(|&pid| {
                                    read_one(root, pid, previous.get(&pid), page_kib, &mut buf)
                                })
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
        };
        self.cache = out
            .iter()
            .map(|p| {
                let stable = Stable {
                    start_ticks: p.start_ticks,
                    comm: p.comm.clone(),
                    cmdline: p.cmdline.clone(),
                    namespaces: p.namespaces.clone(),
                    status: Status {
                        uids: p.uids,
                        gids: p.gids,
                    },
                };
                (p.pid, stable)
            })
            .collect();
        Ok(out)
    }

    /// The numeric entries of the proc root, sorted.
    pub fn pids(&self) -> std::io::Result<Vec<u32>> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.root)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Reads one process; `None` when it is gone (no dir, or no readable, parsable stat).
    pub fn read(&mut self, pid: u32) -> Option<Process> {
        let root = open_dir(&self.root).ok()?;
        read_one(&root, pid, None, self.page_kib, &mut self.buf)
    }
}

/// Below this many processes one thread reads them all (threads cost more than they save).
const PARALLEL_FROM: usize = 2000;

/// Opens a directory as a handle for `openat` only (O_PATH: no read access needed).
fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    Ok(open(
        path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// Reads one process with `buf`, taking the command line and namespaces from `known` when it
/// is still the same process image. Every file is opened relative to one handle on the pid
/// directory, so all of them describe the same process even if the pid is reused meanwhile
/// (they then fail with ESRCH instead).
fn read_one(
    root: &OwnedFd,
    pid: u32,
    known: Option<&Stable>,
    page_kib: u64,
    buf: &mut ReadBuf,
) -> Option<Process> {
    let dir = openat(
        root.as_fd(),
        pid.to_string().as_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let stat = parse_stat(buf.read_at(&dir, "stat").ok()?)?;
    let known = known.filter(|k| k.start_ticks == stat.start_ticks && k.comm == stat.comm);
    let cgroups = buf.read_at(&dir, "cgroup").ok().map(parse_cgroup);
    if let Some(k) = known {
        return Some(process(
            stat,
            k.status.clone(),
            k.cmdline.clone(),
            cgroups,
            k.namespaces.clone(),
            page_kib,
        ));
    }
    let status = buf
        .read_at(&dir, "status")
        .map(parse_status)
        .unwrap_or_default();
    let cmdline = buf
        .read_at(&dir, "cmdline")
        .map(parse_cmdline)
        .unwrap_or_default();
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
    Some(process(
        stat, status, cmdline, cgroups, namespaces, page_kib,
    ))
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
    cmdline: Vec<String>,
    cgroups: Option<Vec<CgroupLine>>,
    namespaces: BTreeMap<NsKind, u64>,
    page_kib: u64,
) -> Process {
    Process {
        pid: stat.pid,
        ppid: stat.ppid,
        comm: stat.comm,
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
