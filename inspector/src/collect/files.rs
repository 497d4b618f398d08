//! The files engines write about their containers, beside the runtimes' state: a bundle's
//! `config.json` (runtime.md "Bundle") and containerd's `options.json`, dockerd's
//! `config.v2.json`, kata's `persist.json`. Each is named by an absolute host path that an
//! engine recorded (a state file's bundle, a shim's working directory) and is read under the
//! state root, so a recorded tree replays them like the host.
//!
//! A refresh would otherwise parse each of them again every second (a bundle's config.json
//! holds the whole seccomp profile: tens of KiB), so parsed files are kept while their inode,
//! size and modification time stay the same. The files read in the last pass are what
//! `ocitop --record` copies.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Larger files are not engine metadata; they are left unread.
const MAX_BYTES: u64 = 8 << 20;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

/// Reads engines' JSON files under a state root, keeping them parsed between passes.
pub struct HostFiles {
    state_root: PathBuf,
    cache: HashMap<PathBuf, (Stamp, Option<Arc<Value>>)>,
    /// Host paths read (or looked for) in this pass.
    used: BTreeSet<PathBuf>,
}

impl HostFiles {
    pub fn new(state_root: impl Into<PathBuf>) -> Self {
        HostFiles {
            state_root: state_root.into(),
            cache: HashMap::new(),
            used: BTreeSet::new(),
        }
    }

    /// Starts a pass: forgets which files the previous one read, and what it kept of files
    /// no pass has read since.
    pub fn begin_pass(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.cache.retain(|path, _| used.contains(path));
    }

    /// The host paths of the files this pass read.
    pub fn used(&self) -> &BTreeSet<PathBuf> {
        &self.used
    }

    /// Where a host path is under the state root. Only absolute paths without `..` are
    /// taken: they come from engines' files, and must not climb out of the state root of a
    /// recorded tree.
    pub fn local(&self, host_path: &Path) -> Option<PathBuf> {
        let rel = host_path.strip_prefix("/").ok()?;
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return None;
        }
        Some(self.state_root.join(rel))
    }

    /// The JSON file at this host path; `None` if it is missing, too large or not JSON.
    pub fn json(&mut self, host_path: &Path) -> Option<Arc<Value>> {
        let local = self.local(host_path)?;
        self.used.insert(host_path.to_path_buf());
        let meta = std::fs::metadata(&local).ok()?;
        let stamp = Stamp::of(&meta);
        if let Some((seen, value)) = self.cache.get(host_path) {
            if *seen == stamp {
                return value.clone();
            }
        }
        let value = (meta.is_file() && meta.len() <= MAX_BYTES)
            .then(|| std::fs::read(&local).ok())
            .flatten()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .map(Arc::new);
        self.cache
            .insert(host_path.to_path_buf(), (stamp, value.clone()));
        value
    }

    /// Whether a file or directory exists at this host path.
    pub fn exists(&mut self, host_path: &Path) -> bool {
        self.local(host_path)
            .is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
    }

    /// The names of the directories at this host path, sorted.
    pub fn subdirs(&mut self, host_path: &Path) -> Vec<String> {
        self.local(host_path)
            .map(|p| super::state::subdirs(&p))
            .unwrap_or_default()
    }
}

/// A string at `path` (keys, outermost first) in a JSON value.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(*key))?
        .as_str()
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_under_the_state_root_and_keeps_what_is_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("run/b")).unwrap();
        let file = tmp.path().join("run/b/config.json");
        std::fs::write(&file, r#"{"hostname": "h1"}"#).unwrap();
        let mut f = HostFiles::new(tmp.path());
        let host = Path::new("/run/b/config.json");
        let v = f.json(host).unwrap();
        assert_eq!(str_at(&v, &["hostname"]), Some("h1"));
        assert!(f.used().contains(host));
        // Rewritten (another size): read again.
        std::fs::write(&file, r#"{"hostname": "h22"}"#).unwrap();
        assert_eq!(str_at(&f.json(host).unwrap(), &["hostname"]), Some("h22"));
        // Not JSON, missing, or climbing out of the state root: nothing.
        std::fs::write(&file, "{").unwrap();
        assert!(f.json(host).is_none());
        assert!(f.json(Path::new("/run/none.json")).is_none());
        assert!(f.json(Path::new("/run/../../etc/passwd")).is_none());
        assert!(f.json(Path::new("relative.json")).is_none());
        // A pass that does not read a file forgets it.
        f.begin_pass();
        assert!(f.used().is_empty());
        f.begin_pass();
        assert!(f.cache.is_empty());
    }
}
