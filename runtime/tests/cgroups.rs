//! The cgroupfs manager: its logic on a plain directory tree standing in for a cgroup2 mount
//! (no root needed), and for real on this host's hierarchies (root: v1, v2 or hybrid).

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;

use std::path::{Path, PathBuf};

use cgroups_support::{fake_unified, root_or_skip, Cleanup, Sleeper};
use ocirun::cgroups::detect::{Hierarchies, Hierarchy, ProcessCgroups, Version};
use ocirun::cgroups::{self, CgroupError, CgroupManager, CgroupsPath, FsManager};

fn fake_manager(h: &Hierarchies, path: Option<&str>, id: &str) -> FsManager {
    let path = CgroupsPath::parse(path.map(Path::new), id).unwrap();
    FsManager::new(h, &ProcessCgroups::default(), &path).unwrap()
}

#[test]
fn v2_tree_apply_pids_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
    let m = fake_manager(&h, None, "c1");
    let dir = tmp.path().join("ocirun/c1");
    assert_eq!(m.paths(), vec![dir.clone()]);
    assert!(!dir.exists(), "manager() must not create anything");

    m.apply(4242).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
        "4242"
    );
    std::fs::create_dir(dir.join("nested")).unwrap();
    std::fs::write(dir.join("nested/cgroup.procs"), "7\n").unwrap();
    assert_eq!(m.pids().unwrap(), vec![7, 4242]);

    // The kernel empties cgroup.procs as processes exit; a plain tree needs a hand.
    std::fs::remove_file(dir.join("cgroup.procs")).unwrap();
    std::fs::remove_file(dir.join("nested/cgroup.procs")).unwrap();
    m.remove().unwrap();
    assert!(!dir.exists());
    // This manager created /ocirun too, so it goes as well.
    assert!(!tmp.path().join("ocirun").exists());
    m.remove().unwrap();
}

#[test]
fn remove_from_a_new_manager_keeps_shared_parents() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
    fake_manager(&h, Some("/pod/c1"), "c1").apply(1).unwrap();
    std::fs::remove_file(tmp.path().join("pod/c1/cgroup.procs")).unwrap();
    // `delete` is another process: it only knows the config.
    fake_manager(&h, Some("/pod/c1"), "c1").remove().unwrap();
    assert!(!tmp.path().join("pod/c1").exists());
    assert!(tmp.path().join("pod").is_dir());
}

#[test]
fn non_empty_or_frozen_cgroup_is_refused_and_nothing_is_left() {
    let tmp = tempfile::tempdir().unwrap();
    let h = fake_unified(tmp.path());
    std::fs::create_dir_all(tmp.path().join("busy")).unwrap();
    std::fs::write(tmp.path().join("busy/cgroup.procs"), "99\n").unwrap();
    let err = fake_manager(&h, Some("/busy"), "x").apply(5).unwrap_err();
    assert!(
        matches!(err, CgroupError::NotEmpty { count: 1, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "cgroup {}: not empty (1 process(es) already in it)",
            tmp.path().join("busy").display()
        )
    );
    // The process already there is not touched.
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("busy/cgroup.procs")).unwrap(),
        "99\n"
    );

    std::fs::create_dir_all(tmp.path().join("frozen")).unwrap();
    std::fs::write(tmp.path().join("frozen/cgroup.freeze"), "1\n").unwrap();
    let err = fake_manager(&h, Some("/frozen"), "x").apply(5).unwrap_err();
    assert!(matches!(err, CgroupError::Frozen { .. }), "{err}");
}

#[test]
fn failed_apply_removes_what_it_created() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    std::fs::create_dir(&good).unwrap();
    let h = Hierarchies {
        v1: vec![Hierarchy {
            version: Version::V1 {
                controllers: vec!["pids".into()],
            },
            mount_point: good.clone(),
            mount_root: PathBuf::from("/"),
        }],
        // Not there: creating below it fails after the first hierarchy succeeded.
        unified: Some(Hierarchy {
            version: Version::V2,
            mount_point: tmp.path().join("missing"),
            mount_root: PathBuf::from("/"),
        }),
    };
    let err = fake_manager(&h, Some("/a/b"), "x").apply(3).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(
        !good.join("a").exists(),
        "rollback left {:?}",
        good.join("a")
    );
}

#[test]
fn systemd_driver_is_a_clear_error() {
    let err = cgroups::manager(Some(Path::new("system.slice:ocirun:c1")), "c1", true)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("systemd cgroup driver is not supported: "),
        "{err}"
    );
}

#[test]
fn dotdot_cgroups_path_is_refused() {
    let err = cgroups::manager(Some(Path::new("/../../x")), "c1", false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("linux.cgroupsPath"), "{err}");
}

// ---- for real, on this host's hierarchies ----

/// The (controllers, path) lines of /proc/<pid>/cgroup.
fn cgroup_lines(pid: i32) -> Vec<(String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut p = l.splitn(3, ':');
            p.next();
            (p.next().unwrap().to_owned(), p.next().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn host_absolute_path_every_hierarchy() {
    if !root_or_skip() {
        return;
    }
    let parent = format!("/ocirun-test-{}", std::process::id());
    let path = format!("{parent}/abs");
    let hierarchies = Hierarchies::detect().unwrap();
    let m = Cleanup(cgroups::manager(Some(Path::new(&path)), "abs", false).unwrap());
    // Dropped before the guard: the cgroup is empty when it is removed.
    let sleeper = Sleeper::new();
    let dirs = m.0.paths();
    assert_eq!(dirs.len(), hierarchies.all().count());
    m.0.apply(sleeper.pid()).unwrap();

    // In every hierarchy (on a hybrid host: each v1 one, name=systemd and the unified one).
    let lines = cgroup_lines(sleeper.pid());
    for h in hierarchies.all() {
        let wanted = match &h.version {
            Version::V2 => String::new(),
            Version::V1 { controllers } => controllers.join(","),
        };
        let line = lines.iter().find(|(c, _)| {
            let mut a: Vec<_> = c.split(',').collect();
            let mut b: Vec<_> = wanted.split(',').collect();
            a.sort();
            b.sort();
            a == b
        });
        assert_eq!(
            line.map(|(_, p)| p.as_str()),
            Some(path.as_str()),
            "{} in {lines:?}",
            h.name()
        );
    }
    assert_eq!(m.0.pids().unwrap(), vec![sleeper.pid()]);

    // A second container on the same cgroup is refused and removes nothing.
    let other = Sleeper::new();
    let second = cgroups::manager(Some(Path::new(&path)), "abs2", false).unwrap();
    let err = second.apply(other.pid()).unwrap_err();
    assert!(matches!(err, CgroupError::NotEmpty { .. }), "{err}");
    assert!(dirs.iter().all(|d| d.is_dir()));

    // exec: join() puts another process in without the emptiness check.
    second.join(other.pid()).unwrap();
    let mut both = vec![sleeper.pid(), other.pid()];
    both.sort();
    assert_eq!(m.0.pids().unwrap(), both);

    drop(sleeper);
    drop(other);
    m.0.remove().unwrap();
    for d in &dirs {
        assert!(!d.exists(), "left behind: {}", d.display());
        // The parent was created by this manager: gone too.
        assert!(
            !d.parent().unwrap().exists(),
            "left behind: {:?}",
            d.parent()
        );
    }
}

#[test]
fn host_relative_and_default_paths() {
    if !root_or_skip() {
        return;
    }
    let hierarchies = Hierarchies::detect().unwrap();
    let own = ProcessCgroups::of_self().unwrap();
    let rel = format!("ocirun-rel-{}", std::process::id());
    let id = format!("ocirun-default-{}", std::process::id());
    for (config, expected) in [
        (Some(rel.clone()), None),
        (None, Some(format!("/ocirun/{id}"))),
    ] {
        let m = Cleanup(cgroups::manager(config.as_deref().map(Path::new), &id, false).unwrap());
        // Dropped before the guard: the cgroup is empty when it is removed.
        let sleeper = Sleeper::new();
        m.0.apply(sleeper.pid()).unwrap();
        for h in hierarchies.all() {
            let want = match &expected {
                Some(abs) => h.mount_point.join(abs.trim_start_matches('/')),
                // Relative: below our own cgroup in that hierarchy.
                None => own.dir_in(h).unwrap().join(&rel),
            };
            assert!(
                m.0.paths().contains(&want),
                "{want:?} not in {:?}",
                m.0.paths()
            );
            let procs = std::fs::read_to_string(want.join("cgroup.procs")).unwrap();
            assert!(procs.lines().any(|p| p == sleeper.pid().to_string()));
        }
        drop(sleeper);
        m.0.remove().unwrap();
        assert!(m.0.paths().iter().all(|d| !d.exists()));
    }
}

#[test]
fn host_remove_of_missing_cgroup_is_fine_and_busy_is_an_error() {
    if !root_or_skip() {
        return;
    }
    let path = format!("/ocirun-test-busy-{}", std::process::id());
    let missing = cgroups::manager(Some(Path::new("/ocirun-never-created")), "x", false).unwrap();
    missing.remove().unwrap();
    let m = Cleanup(cgroups::manager(Some(Path::new(&path)), "busy", false).unwrap());
    // Dropped before the guard: the cgroup is empty when it is removed.
    let sleeper = Sleeper::new();
    m.0.apply(sleeper.pid()).unwrap();
    // Still running: rmdir keeps failing with EBUSY, and the error says where.
    let err = m.0.remove().unwrap_err();
    assert!(
        err.to_string().contains(&path) && err.to_string().contains("busy"),
        "{err}"
    );
    drop(sleeper);
    cgroups::manager(Some(Path::new(&path)), "busy", false)
        .unwrap()
        .remove()
        .unwrap();
    assert!(m.0.paths().iter().all(|d| !d.exists()));
}

#[test]
fn host_frozen_v1_cgroup_is_refused() {
    if !root_or_skip() {
        return;
    }
    let hierarchies = Hierarchies::detect().unwrap();
    let Some(freezer) = hierarchies.v1.iter().find(|h| h.name() == "freezer") else {
        eprintln!("skipped: no v1 freezer hierarchy");
        return;
    };
    let path = format!("/ocirun-test-frozen-{}", std::process::id());
    let dir = freezer.mount_point.join(path.trim_start_matches('/'));
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("freezer.state"), "FROZEN").unwrap();
    let sleeper = Sleeper::new();
    let m = cgroups::manager(Some(Path::new(&path)), "frozen", false).unwrap();
    let err = m.apply(sleeper.pid()).unwrap_err();
    std::fs::write(dir.join("freezer.state"), "THAWED").unwrap();
    assert!(matches!(err, CgroupError::Frozen { .. }), "{err}");
    // Rolled back: only the directory we made by hand is left, in the freezer hierarchy.
    for h in hierarchies.all() {
        let d = h.mount_point.join(path.trim_start_matches('/'));
        assert_eq!(d.exists(), d == dir, "{}", d.display());
    }
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn host_unified_hierarchy_alone_as_on_a_v2_host() {
    if !root_or_skip() {
        return;
    }
    let Some(unified) = Hierarchies::detect().unwrap().unified else {
        eprintln!("skipped: no cgroup2 hierarchy mounted");
        return;
    };
    // What a pure cgroup v2 host looks like to the manager.
    let v2 = Hierarchies {
        v1: vec![],
        unified: Some(unified.clone()),
    };
    let path = format!("/ocirun-test-v2-{}/c", std::process::id());
    let cgroups_path = CgroupsPath::parse(Some(Path::new(&path)), "c").unwrap();
    let m = FsManager::new(&v2, &ProcessCgroups::default(), &cgroups_path).unwrap();
    let sleeper = Sleeper::new();
    m.apply(sleeper.pid()).unwrap();
    let lines = cgroup_lines(sleeper.pid());
    assert!(lines.contains(&(String::new(), path.clone())), "{lines:?}");
    assert_eq!(m.pids().unwrap(), vec![sleeper.pid()]);
    drop(sleeper);
    m.remove().unwrap();
    let dir = unified.mount_point.join(path.trim_start_matches('/'));
    assert!(!dir.exists() && !dir.parent().unwrap().exists());
}
