//! The cgroupfs manager: the container's cgroup is one directory per mounted hierarchy (every
//! v1 hierarchy, including named ones like name=systemd, plus the unified one on a hybrid or
//! unified host), exactly as runc's cgroupfs driver places a container.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::detect::{Hierarchies, Hierarchy, ProcessCgroups, Version};
use super::path::CgroupsPath;
use super::{fs, resources, v1, v2, CgroupError, CgroupManager};
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
            let result = created
                .iter()
                .try_for_each(|d| v1::init_created_dir(&dir.hierarchy, d));
            self.record(created);
            result?;
        }
        Ok(())
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

    /// Writes `r` to every hierarchy: each v1 hierarchy gets its controllers' files; the v2
    /// one gets the rest (on a hybrid host only what no v1 hierarchy controls), after the
    /// controllers it needs are enabled in the parents' `cgroup.subtree_control`.
    fn write_resources(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let v1_controllers: Vec<String> = self
            .dirs
            .iter()
            .filter_map(|d| match &d.hierarchy.version {
                Version::V1 { controllers } => Some(controllers.clone()),
                Version::V2 => None,
            })
            .flatten()
            .collect();
        let in_v1 = |c: &str| v1_controllers.iter().any(|x| x == c);
        for dir in &self.dirs {
            let writes = match &dir.hierarchy.version {
                Version::V1 { controllers } => {
                    let current = fs::read_i64(&dir.path.join("memory.limit_in_bytes"));
                    resources::v1(controllers, r, current)?
                }
                Version::V2 => {
                    if !in_v1("memory") {
                        if let Some(what) = resources::v2_unsupported(r) {
                            crate::logging::warn(&what);
                        }
                    }
                    let writes = resources::v2(r, &in_v1)?;
                    v2::enable_controllers(&dir.hierarchy.mount_point, &dir.path, &writes)?;
                    if !in_v1("devices") {
                        v2::devices(&dir.path, r)?;
                    }
                    writes
                }
            };
            for write in writes {
                fs::write(&v1::file_for(&dir.path, &write.file), &write.value)?;
            }
        }
        if !self.dirs.iter().any(|d| d.hierarchy.version == Version::V2)
            && r.unified().as_ref().is_some_and(|u| !u.is_empty())
        {
            return Err(CgroupError::Other(
                "linux.resources.unified: needs cgroup v2, and this host has no cgroup2 hierarchy"
                    .into(),
            ));
        }
        Ok(())
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
        let result = self
            .create()
            .and_then(|()| self.check_fit(pid))
            .and_then(|()| resources.map_or(Ok(()), |r| self.write_resources(r)))
            .and_then(|()| self.join(pid));
        if result.is_err() {
            self.rollback();
        }
        result
    }

    fn set(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        self.write_resources(resources)
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
}
