//! Reading cgroupfs under an injectable root: which hierarchies are mounted (v1, v2, hybrid),
//! every cgroup directory in them, and each cgroup's usage and limits (cgroups(7); the kernel's
//! Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/*.rst name the files).
//!
//! Paths of the same name in different hierarchies are merged into one cgroup, so a hybrid host
//! reads as one tree like systemd-cgls shows it.

use crate::model::{Cgroup, CgroupLine, CgroupMode, CgroupStats, Freezer, Hierarchy, Limit};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files read in a cgroup2 directory (usage, limits, the freezer).
pub const V2_FILES: &[&str] = &[
    "cgroup.controllers",
    "cgroup.events",
    "cgroup.freeze",
    "memory.current",
    "memory.max",
    "cpu.max",
    "cpu.stat",
    "pids.current",
    "pids.max",
    "io.stat",
];

/// Files read in a cgroup v1 directory (only those of the hierarchy's controllers exist).
pub const V1_FILES: &[&str] = &[
    "cgroup.procs",
    "freezer.state",
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "cpu.cfs_quota_us",
    "cpu.cfs_period_us",
    "cpuacct.usage",
    "pids.current",
    "pids.max",
    "blkio.throttle.io_service_bytes",
];

/// v1 reports "no limit" as the largest page-aligned counter (PAGE_COUNTER_MAX * page size),
/// e.g. 9223372036854771712; anything this large is unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

/// Reads the hierarchies under one cgroup root.
pub struct CgroupReader {
    root: PathBuf,
    buf: String,
}

impl CgroupReader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        CgroupReader {
            root: root.into(),
            buf: String::with_capacity(1024),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Finds the mounted hierarchies: cgroup2 at the root itself, or one directory per v1
    /// hierarchy plus possibly a cgroup2 one (`unified`). Symlinks (`cpu -> cpu,cpuacct`) are
    /// aliases and skipped.
    pub fn layout(&self) -> (CgroupMode, Vec<Hierarchy>) {
        if self.root.join("cgroup.controllers").is_file() {
            let h = Hierarchy {
                dir: String::new(),
                version: 2,
            };
            return (CgroupMode::V2, vec![h]);
        }
        let mut hierarchies = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return (CgroupMode::None, hierarchies);
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_dir {
                continue;
            }
            let dir = entry.path();
            if dir.join("cgroup.controllers").is_file() {
                hierarchies.push(Hierarchy {
                    dir: name,
                    version: 2,
                });
            } else if dir.join("cgroup.procs").is_file() {
                hierarchies.push(Hierarchy {
                    dir: name,
                    version: 1,
                });
            }
        }
        hierarchies.sort_by(|a, b| a.dir.cmp(&b.dir));
        let v1 = hierarchies.iter().any(|h| h.version == 1);
        let v2 = hierarchies.iter().any(|h| h.version == 2);
        let mode = match (v1, v2) {
            (true, true) => CgroupMode::Hybrid,
            (true, false) => CgroupMode::V1,
            (false, true) => CgroupMode::V2,
            (false, false) => CgroupMode::None,
        };
        (mode, hierarchies)
    }

    /// Every cgroup of every hierarchy, merged by path and sorted by path.
    pub fn read_all(&mut self, hierarchies: &[Hierarchy]) -> Vec<Cgroup> {
        let mut merged: BTreeMap<String, Cgroup> = BTreeMap::new();
        for h in hierarchies {
            let base = self.root.join(&h.dir);
            let mut stack = vec![(base.clone(), "/".to_string())];
            while let Some((dir, path)) = stack.pop() {
                let stats = self.read_stats(&dir, h);
                let entry = merged.entry(path.clone()).or_insert_with(|| Cgroup {
                    path: path.clone(),
                    ..Cgroup::default()
                });
                entry.hierarchies.push(h.dir.clone());
                merge(&mut entry.stats, stats);
                if let Ok(children) = std::fs::read_dir(&dir) {
                    for child in children.filter_map(|e| e.ok()) {
                        if !child.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                            continue;
                        }
                        let Some(name) = child.file_name().to_str().map(str::to_string) else {
                            continue;
                        };
                        let child_path = if path == "/" {
                            format!("/{name}")
                        } else {
                            format!("{path}/{name}")
                        };
                        stack.push((child.path(), child_path));
                    }
                }
            }
        }
        merged.into_values().collect()
    }

    /// The freezer state of the cgroups a process is in, as these lines of its
    /// /proc/PID/cgroup name them: v1's `freezer.state` (THAWED, FREEZING, FROZEN; FROZEN too
    /// when an ancestor is frozen) and v2's `cgroup.events` `frozen` (1 once every task
    /// stopped, its own freeze or an ancestor's) with `cgroup.freeze` (1 when asked). On a
    /// hybrid host either hierarchy may be the one a runtime used, so the most frozen of the
    /// two is what the tasks are. `None` when neither can be read.
    pub fn freezer(&mut self, hierarchies: &[Hierarchy], lines: &[CgroupLine]) -> Option<Freezer> {
        let mut seen: Option<Freezer> = None;
        let mut note = |f: Freezer| {
            let rank = |f: Freezer| match f {
                Freezer::Thawed => 0,
                Freezer::Freezing => 1,
                Freezer::Frozen => 2,
            };
            if seen.is_none_or(|s| rank(f) > rank(s)) {
                seen = Some(f);
            }
        };
        for line in lines {
            let v1 = line.controllers.split(',').any(|c| c == "freezer");
            let h = hierarchies.iter().find(|h| {
                if v1 {
                    h.version == 1 && h.dir.split(',').any(|c| c == "freezer")
                } else {
                    h.version == 2 && line.hierarchy_id == 0
                }
            });
            let Some(h) = h else { continue };
            let dir = self
                .root
                .join(&h.dir)
                .join(line.path.trim_start_matches('/'));
            if v1 {
                match self.read(&dir, "freezer.state") {
                    Some("THAWED") => note(Freezer::Thawed),
                    Some("FREEZING") => note(Freezer::Freezing),
                    Some("FROZEN") => note(Freezer::Frozen),
                    _ => {}
                }
                continue;
            }
            // The root cgroup has neither file: it cannot be frozen.
            let frozen = self
                .read(&dir, "cgroup.events")
                .and_then(|t| keyed(t, "frozen"));
            let asked = self.read(&dir, "cgroup.freeze").map(|t| t == "1");
            match (frozen, asked) {
                (Some(1), _) => note(Freezer::Frozen),
                (_, Some(true)) => note(Freezer::Freezing),
                (Some(_), _) | (_, Some(false)) => note(Freezer::Thawed),
                _ => {}
            }
        }
        seen
    }

    fn read(&mut self, dir: &Path, file: &str) -> Option<&str> {
        use std::io::Read;
        self.buf.clear();
        let mut f = std::fs::File::open(dir.join(file)).ok()?;
        f.read_to_string(&mut self.buf).ok()?;
        Some(self.buf.trim())
    }

    fn read_stats(&mut self, dir: &Path, h: &Hierarchy) -> CgroupStats {
        let mut s = CgroupStats::default();
        if h.version == 2 {
            s.memory_current = self.read(dir, "memory.current").and_then(num);
            s.memory_max = self.read(dir, "memory.max").and_then(limit);
            if let Some((quota, period)) = self.read(dir, "cpu.max").and_then(parse_cpu_max) {
                s.cpu_quota_us = Some(quota);
                s.cpu_period_us = Some(period);
            }
            s.cpu_usage_us = self
                .read(dir, "cpu.stat")
                .and_then(|t| keyed(t, "usage_usec"));
            s.pids_current = self.read(dir, "pids.current").and_then(num);
            s.pids_max = self.read(dir, "pids.max").and_then(limit);
            if let Some((r, w)) = self.read(dir, "io.stat").map(parse_io_stat) {
                s.io_read_bytes = Some(r);
                s.io_write_bytes = Some(w);
            }
            return s;
        }
        let controllers: Vec<&str> = h.dir.split(',').collect();
        let has = |c: &str| controllers.contains(&c);
        if has("memory") {
            s.memory_current = self.read(dir, "memory.usage_in_bytes").and_then(num);
            s.memory_max = self
                .read(dir, "memory.limit_in_bytes")
                .and_then(num)
                .map(v1_limit);
        }
        if has("cpu") {
            s.cpu_quota_us = self
                .read(dir, "cpu.cfs_quota_us")
                .and_then(|t| t.parse::<i64>().ok())
                .map(|q| u64::try_from(q).map_or(Limit::Max, Limit::Value));
            s.cpu_period_us = self.read(dir, "cpu.cfs_period_us").and_then(num);
        }
        if has("cpuacct") {
            s.cpu_usage_us = self
                .read(dir, "cpuacct.usage")
                .and_then(num)
                .map(|ns| ns / 1000);
        }
        if has("pids") {
            s.pids_current = self.read(dir, "pids.current").and_then(num);
            s.pids_max = self.read(dir, "pids.max").and_then(limit);
        }
        if has("blkio") {
            if let Some((r, w)) = self
                .read(dir, "blkio.throttle.io_service_bytes")
                .map(parse_blkio_bytes)
            {
                s.io_read_bytes = Some(r);
                s.io_write_bytes = Some(w);
            }
        }
        s
    }
}

/// Fills the unknown fields of `into` from `from` (the first hierarchy to know a value wins).
fn merge(into: &mut CgroupStats, from: CgroupStats) {
    into.memory_current = into.memory_current.or(from.memory_current);
    into.memory_max = into.memory_max.or(from.memory_max);
    into.cpu_quota_us = into.cpu_quota_us.or(from.cpu_quota_us);
    into.cpu_period_us = into.cpu_period_us.or(from.cpu_period_us);
    into.cpu_usage_us = into.cpu_usage_us.or(from.cpu_usage_us);
    into.pids_current = into.pids_current.or(from.pids_current);
    into.pids_max = into.pids_max.or(from.pids_max);
    into.io_read_bytes = into.io_read_bytes.or(from.io_read_bytes);
    into.io_write_bytes = into.io_write_bytes.or(from.io_write_bytes);
}

fn num(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// "max" or a number (cgroup-v2.rst "Limits").
pub fn limit(text: &str) -> Option<Limit> {
    if text == "max" {
        Some(Limit::Max)
    } else {
        text.parse().ok().map(Limit::Value)
    }
}

fn v1_limit(value: u64) -> Limit {
    if value >= V1_UNLIMITED {
        Limit::Max
    } else {
        Limit::Value(value)
    }
}

/// cpu.max: `$MAX $PERIOD`, MAX being "max" or microseconds.
pub fn parse_cpu_max(text: &str) -> Option<(Limit, u64)> {
    let (quota, period) = text.split_once(' ')?;
    Some((limit(quota)?, period.trim().parse().ok()?))
}

/// The value of `key` in a flat-keyed file like cpu.stat (`key value` per line).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// io.stat: `MAJ:MIN rbytes=N wbytes=N ...` per device; summed.
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for field in text.split_ascii_whitespace() {
        if let Some(v) = field.strip_prefix("rbytes=") {
            r += v.parse::<u64>().unwrap_or(0);
        } else if let Some(v) = field.strip_prefix("wbytes=") {
            w += v.parse::<u64>().unwrap_or(0);
        }
    }
    (r, w)
}

/// blkio.throttle.io_service_bytes: `MAJ:MIN Read N` / `MAJ:MIN Write N` per device, then
/// `Total N`; the per-device Read and Write lines are summed.
pub fn parse_blkio_bytes(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(_dev), Some(op), Some(v)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let v: u64 = v.parse().unwrap_or(0);
        match op {
            "Read" => r += v,
            "Write" => w += v,
            _ => {}
        }
    }
    (r, w)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_forms() {
        assert_eq!(parse_cpu_max("max 100000"), Some((Limit::Max, 100000)));
        assert_eq!(
            parse_cpu_max("50000 100000"),
            Some((Limit::Value(50000), 100000))
        );
        assert_eq!(parse_cpu_max("bogus"), None);
    }

    #[test]
    fn io_sums_devices() {
        let t = "8:0 rbytes=10 wbytes=20 rios=1\n8:16 rbytes=1 wbytes=2 rios=1";
        assert_eq!(parse_io_stat(t), (11, 22));
        let b = "8:0 Read 5\n8:0 Write 6\n8:0 Total 11\n8:16 Read 1\nTotal 12";
        assert_eq!(parse_blkio_bytes(b), (6, 6));
    }

    #[test]
    fn v1_unlimited_memory_is_max() {
        assert_eq!(v1_limit(9223372036854771712), Limit::Max);
        assert_eq!(v1_limit(1 << 20), Limit::Value(1 << 20));
    }

    #[test]
    fn freezer_of_v1_v2_and_hybrid() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |dir: &str, file: &str, text: &str| {
            let d = tmp.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(file), text).unwrap();
        };
        put("freezer/a", "freezer.state", "FROZEN\n");
        put("freezer/b", "freezer.state", "FREEZING\n");
        put("unified/a", "cgroup.events", "populated 1\nfrozen 0\n");
        put("unified/a", "cgroup.freeze", "0\n");
        put("unified/c", "cgroup.events", "populated 1\nfrozen 0\n");
        put("unified/c", "cgroup.freeze", "1\n");
        put("unified/d", "cgroup.events", "populated 1\nfrozen 1\n");
        put("unified/d", "cgroup.freeze", "0\n");
        let hierarchies = [
            Hierarchy {
                dir: "freezer".into(),
                version: 1,
            },
            Hierarchy {
                dir: "unified".into(),
                version: 2,
            },
        ];
        let mut r = CgroupReader::new(tmp.path());
        let lines = |v1: Option<&str>, v2: &str| {
            let mut l = vec![CgroupLine {
                hierarchy_id: 0,
                controllers: String::new(),
                path: v2.into(),
            }];
            if let Some(p) = v1 {
                l.push(CgroupLine {
                    hierarchy_id: 6,
                    controllers: "freezer".into(),
                    path: p.into(),
                });
            }
            l
        };
        // Hybrid: runc froze the v1 freezer, v2 says thawed: frozen.
        assert_eq!(
            r.freezer(&hierarchies, &lines(Some("/a"), "/a")),
            Some(Freezer::Frozen)
        );
        assert_eq!(
            r.freezer(&hierarchies, &lines(Some("/b"), "/x")),
            Some(Freezer::Freezing)
        );
        // v2 asked to freeze, not every task stopped yet; frozen by an ancestor.
        assert_eq!(
            r.freezer(&hierarchies, &lines(None, "/c")),
            Some(Freezer::Freezing)
        );
        assert_eq!(
            r.freezer(&hierarchies, &lines(None, "/d")),
            Some(Freezer::Frozen)
        );
        assert_eq!(
            r.freezer(&hierarchies, &lines(None, "/a")),
            Some(Freezer::Thawed)
        );
        assert_eq!(r.freezer(&hierarchies, &lines(None, "/gone")), None);
    }

    #[test]
    fn keyed_value() {
        assert_eq!(keyed("usage_usec 42\nuser_usec 1", "usage_usec"), Some(42));
        assert_eq!(keyed("user_usec 1", "usage_usec"), None);
    }
}
