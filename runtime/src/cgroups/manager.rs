//! The cgroupfs manager: the container's cgroup is one directory per mounted hierarchy (every
//! v1 hierarchy, including named ones like name=systemd, plus the unified one on a hybrid or
//! unified host), exactly as runc's cgroupfs driver places a container.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::detect::{Hierarchies, Hierarchy, ProcessCgroups, Version};
use super::path::CgroupsPath;
use super::resources::{self, refuse, Kind, Ver};
use super::{fs, oom, stats, v1, v2, CgroupError, CgroupManager};
use oci_spec::runtime::LinuxResources;

/// How long `remove` waits, in all, for processes still leaving the cgroup (rmdir EBUSY).
const REMOVE_WAIT: Duration = Duration::from_secs(1);

/// The container's directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupDir {
    pub hierarchy: Hierarchy,
    pub path: PathBuf,
}

/// Places processes with plain file operations on the mounted hierarchies.
#[derive(Debug)]
pub struct FsManager {
    hierarchies: Hierarchies,
    dirs: Vec<CgroupDir>,
    /// Directories this instance created, shallowest first: a failed `apply` and `remove`
    /// delete exactly these (plus the container's own directory), never a parent someone
    /// else made.
    created: Mutex<Vec<PathBuf>>,
}

impl FsManager {
    /// The manager for `path` on `hierarchies` (injectable: tests pass a temporary tree);
    /// `own` is the caller's /proc/self/cgroup, used for relative paths.
    pub fn new(
        hierarchies: &Hierarchies,
        own: &ProcessCgroups,
        path: &CgroupsPath,
    ) -> Result<Self, CgroupError> {
        let dirs: Vec<_> = hierarchies
            .all()
            .map(|h| CgroupDir {
                hierarchy: h.clone(),
                path: path.dir_in(h, own),
            })
            .collect();
        if dirs.is_empty() {
            return Err(CgroupError::NoHierarchy);
        }
        Ok(Self {
            hierarchies: hierarchies.clone(),
            dirs,
            created: Mutex::new(Vec::new()),
        })
    }

    /// The container's directory in each hierarchy.
    pub fn dirs(&self) -> &[CgroupDir] {
        &self.dirs
    }

    fn record(&self, dirs: Vec<PathBuf>) {
        if let Ok(mut created) = self.created.lock() {
            created.extend(dirs);
        }
    }

    fn take_created(&self) -> Vec<PathBuf> {
        self.created
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    fn create(&self) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            let created = fs::create_all(&dir.hierarchy.mount_point, &dir.path)?;
            self.record(created);
            v1::ensure_cpuset(&dir.hierarchy, &dir.path)?;
        }
        Ok(())
    }

    /// The container's directory holding `controller`'s files of version `version`.
    fn dir_of(&self, controller: &str, version: Ver) -> Option<&CgroupDir> {
        self.dirs
            .iter()
            .find(|d| match (&d.hierarchy.version, version) {
                (Version::V1 { controllers }, Ver::V1) => {
                    controllers.iter().any(|c| c == controller)
                }
                (Version::V2, Ver::V2) => true,
                _ => false,
            })
    }

    /// config-linux.md "Control groups": a frozen or (on create) non-empty cgroup is not fit
    /// for purpose and MUST be an error.
    fn check_fit(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            let others: Vec<i32> = fs::procs(&dir.path)?
                .into_iter()
                .filter(|&p| p != pid)
                .collect();
            if !others.is_empty() {
                return Err(CgroupError::NotEmpty {
                    path: dir.path.clone(),
                    count: others.len(),
                });
            }
            let frozen = match dir.hierarchy.version {
                Version::V2 => v2::is_frozen(&dir.path)?,
                Version::V1 { .. } => v1::is_frozen(&dir.hierarchy, &dir.path)?,
            };
            if frozen {
                return Err(CgroupError::Frozen {
                    path: dir.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// Plans `r` for this host ([`resources::plan`]): a field the host cannot apply is
    /// refused, by name, before anything is made or written.
    fn plan(&self, r: &LinuxResources) -> Result<Vec<resources::Write>, CgroupError> {
        let current = self
            .dir_of("memory", Ver::V1)
            .and_then(|d| fs::read_i64(&d.path.join("memory.limit_in_bytes")));
        resources::plan(r, &self.hierarchies.controllers(), current)
    }

    /// Carries out the writes of `plan` that `phase` says are due. Every file is checked to
    /// exist before the first write: a refusal names the field and writes nothing. On
    /// cgroup2 the controllers the files need are enabled first, down the parents'
    /// `subtree_control`.
    fn write_plan(
        &self,
        r: &LinuxResources,
        plan: &[resources::Write],
        phase: Phase,
    ) -> Result<(), CgroupError> {
        if let Some(unified) = self.dir_of("", Ver::V2) {
            let needed: Vec<&str> = plan
                .iter()
                .filter(|w| w.version == Ver::V2 && !w.controller.is_empty())
                .map(|w| w.controller.as_str())
                .collect();
            v2::enable_controllers(&unified.hierarchy.mount_point, &unified.path, &needed)?;
        }
        let mut steps = Vec::with_capacity(plan.len());
        for write in plan {
            let dir = self
                .dir_of(&write.controller, write.version)
                .ok_or_else(|| {
                    refuse(
                        &write.field,
                        format!("no cgroup directory holds {}", write.controller),
                    )
                })?;
            steps.push(Step::resolve(write, &dir.path)?);
        }
        let mut later = Vec::new();
        for step in steps.iter().filter(|s| phase.includes(s.write)) {
            step.run(r, &mut later)?;
        }
        for step in later {
            step.write_once()?;
        }
        Ok(())
    }

    fn write_resources(&self, r: &LinuxResources, phase: Phase) -> Result<(), CgroupError> {
        self.write_plan(r, &self.plan(r)?, phase)
    }

    fn rollback(&self) {
        fs::remove_created(&self.take_created());
    }
}

impl CgroupManager for FsManager {
    fn apply_resources(
        &self,
        pid: i32,
        resources: Option<&LinuxResources>,
    ) -> Result<(), CgroupError> {
        let plan = match resources {
            Some(r) => Some((r, self.plan(r)?)),
            None => None,
        };
        let result = self
            .create()
            .and_then(|()| self.check_fit(pid))
            .and_then(|()| match &plan {
                Some((r, plan)) => self.write_plan(r, plan, Phase::BeforeJoin),
                None => Ok(()),
            })
            .and_then(|()| self.join(pid));
        if result.is_err() {
            self.rollback();
        }
        result
    }

    fn apply_pids_limit(&self, resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let Some(pids) = resources.and_then(|r| r.pids().as_ref()) else {
            return Ok(());
        };
        let mut only = LinuxResources::default();
        only.set_pids(Some(*pids));
        self.write_resources(&only, Phase::All)
    }

    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        self.write_resources(resources, Phase::All)
    }

    fn join(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in &self.dirs {
            fs::write(&dir.path.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = Vec::new();
        for dir in &self.dirs {
            fs::procs_recursive(&dir.path, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    fn remove(&self) -> Result<(), CgroupError> {
        let mut first_error = None;
        let deadline = Instant::now() + REMOVE_WAIT;
        for dir in &self.dirs {
            // Never the hierarchy root itself (cgroupsPath "/").
            if dir.path == dir.hierarchy.mount_point {
                continue;
            }
            if let Err(e) = fs::remove_tree(&dir.path, deadline) {
                first_error.get_or_insert(e);
            }
        }
        fs::remove_created(&self.take_created());
        first_error.map_or(Ok(()), Err)
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.clone()).collect()
    }

    fn created_parents(&self) -> Vec<PathBuf> {
        self.created
            .lock()
            .map(|c| {
                c.iter()
                    .filter(|p| !self.dirs.iter().any(|d| &d.path == *p))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn adopt_parents(&self, parents: &[PathBuf]) {
        let between = |p: &Path| {
            self.dirs.iter().any(|d| {
                d.path.starts_with(p)
                    && d.path != p
                    && p.starts_with(&d.hierarchy.mount_point)
                    && p != d.hierarchy.mount_point
            })
        };
        self.record(parents.iter().filter(|p| between(p)).cloned().collect());
    }

    fn stats(&self) -> Result<stats::Stats, CgroupError> {
        stats::read(&self.dirs)
    }

    fn oom_watch(&self) -> Result<oom::OomWatch, CgroupError> {
        oom::OomWatch::new(&self.dirs)
    }
}

/// Which of a plan's writes a call makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `create`, before the process joins: all but the pids limit (see
    /// [`CgroupManager::apply_pids_limit`]).
    BeforeJoin,
    /// Every write (`update`, and the pids limit alone).
    All,
}

impl Phase {
    fn includes(self, write: &resources::Write) -> bool {
        self == Phase::All || write.controller != "pids"
    }
}

/// A planned write with its file found in the container's directory.
struct Step<'a> {
    write: &'a resources::Write,
    dir: &'a Path,
    /// The file and value to write; `None` for an optional write whose file is missing, and
    /// for the steps that write no file.
    target: Option<(PathBuf, &'a str)>,
}

impl<'a> Step<'a> {
    /// Finds the file of `write` in `dir` (the first of its choices that exists), or refuses
    /// the field when the host lacks it.
    fn resolve(write: &'a resources::Write, dir: &'a Path) -> Result<Self, CgroupError> {
        let found = write
            .choices
            .iter()
            .map(|(file, value)| (dir.join(file), value.as_str()))
            .find(|(path, _)| path.exists());
        let needs_file = !matches!(
            write.kind,
            Kind::Optional | Kind::DeviceProgram | Kind::UsageBelow(_)
        );
        if found.is_none() && needs_file {
            let files: Vec<&str> = write.choices.iter().map(|(f, _)| f.as_str()).collect();
            let hint = if write.hint.is_empty() {
                String::new()
            } else {
                format!(": {}", write.hint)
            };
            return Err(refuse(
                &write.field,
                format!("no {} in {}{hint}", files.join(" or "), dir.display()),
            ));
        }
        if let Kind::UsageBelow(files) = &write.kind {
            if let Some(missing) = files.iter().find(|f| !dir.join(f).exists()) {
                return Err(refuse(
                    &write.field,
                    format!("checkBeforeUpdate: no {missing} in {}", dir.display()),
                ));
            }
        }
        Ok(Self {
            write,
            dir,
            target: found,
        })
    }

    /// Carries the step out; a [`Kind::Retry`] write the kernel refuses with EINVAL goes to
    /// `later`, to be written once more after the others.
    fn run(&'a self, r: &LinuxResources, later: &mut Vec<&'a Step<'a>>) -> Result<(), CgroupError> {
        let w = self.write;
        match &w.kind {
            Kind::DeviceProgram => return v2::devices(self.dir, r),
            Kind::UsageBelow(files) => {
                let usage: i64 = files
                    .iter()
                    .map(|f| fs::read_i64(&self.dir.join(f)).unwrap_or(0))
                    .sum();
                let limit: i64 = w.value().parse().unwrap_or(i64::MAX);
                if usage >= limit {
                    return Err(refuse(
                        &w.field,
                        format!("{limit}: not above the current usage {usage} (checkBeforeUpdate)"),
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
        let Some((path, value)) = &self.target else {
            return Ok(());
        };
        match fs::write(path, value) {
            Err(CgroupError::Write { source, .. })
                if w.kind == Kind::Retry && source.raw_os_error() == Some(libc::EINVAL) =>
            {
                later.push(self);
                return Ok(());
            }
            other => other.map_err(|e| refuse(&w.field, e.to_string()))?,
        }
        let wrote: i64 = value.parse().unwrap_or(0);
        let got = || fs::read_i64(path).unwrap_or(i64::MIN);
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        match w.kind {
            Kind::ReadBackEqual if got() != wrote => Err(refuse(
                &w.field,
                format!("the kernel did not take {file} {value}: it reads {}", got()),
            )),
            Kind::ReadBackAtMost if got() > wrote => Err(refuse(
                &w.field,
                format!(
                    "this kernel ignores {file}: it still reads {} after {value} was written",
                    got()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The second attempt of a [`Kind::Retry`] write.
    fn write_once(&self) -> Result<(), CgroupError> {
        match &self.target {
            Some((path, value)) => {
                fs::write(path, value).map_err(|e| refuse(&self.write.field, e.to_string()))
            }
            None => Ok(()),
        }
    }
}
