//! Privileged tests of `rootfs::setup` for real: each runs in a throwaway mount + pid
//! namespace (see rootfs_support) and checks what the container sees from inside.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod rootfs_support;
mod shared_mount;

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::statvfs::{statvfs, FsFlags};
use rootfs_support::{
    default_mounts, mount_at, mountinfo, root_and_bundle, root_or_skip, run, run_in, run_steps,
    run_steps_ns, run_with, setup_error, spec, Bundle,
};
use serde_json::json;

fn flags(path: &str) -> FsFlags {
    statvfs(path).unwrap().flags()
}

#[test]
fn default_mounts_devices_and_pivot() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({"mounts": default_mounts()}));
    let rootfs = bundle.rootfs();
    run(&bundle, &config, &bundle.options(), || {
        // pivot_root: the marker of our rootfs is at /, the cwd is /, the host is gone.
        assert_eq!(std::fs::read_to_string("/marker").unwrap(), "inside");
        assert_eq!(std::env::current_dir().unwrap(), Path::new("/"));
        let mounts = mountinfo();
        assert!(
            mounts
                .iter()
                .all(|m| !m.mount_point.starts_with("/mnt/sandboxing")),
            "host mounts visible: {mounts:#?}"
        );
        assert_eq!(mount_at("/").root, rootfs.to_str().unwrap());

        // config-linux.md "Default Filesystems".
        assert_eq!(mount_at("/proc").fstype, "proc");
        assert_eq!(mount_at("/sys").fstype, "sysfs");
        assert_eq!(mount_at("/dev/pts").fstype, "devpts");
        assert_eq!(mount_at("/dev/shm").fstype, "tmpfs");
        assert_eq!(mount_at("/dev/mqueue").fstype, "mqueue");
        let sys = mount_at("/sys");
        for o in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(sys.has(o), "/sys lacks {o}: {sys:?}");
        }
        let dev = mount_at("/dev");
        assert!(
            dev.has("nosuid") && !dev.has("relatime") && !dev.has("noatime"),
            "{dev:?}"
        );
        assert!(
            dev.super_options.contains(&"size=65536k".to_string()),
            "{dev:?}"
        );
        let shm = mount_at("/dev/shm");
        assert!(
            shm.has("nosuid") && shm.has("nodev") && shm.has("noexec"),
            "{shm:?}"
        );
        assert!(
            shm.super_options.contains(&"size=65536k".to_string()),
            "{shm:?}"
        );

        // config-linux.md "Default Devices".
        for (name, major, minor) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
        ] {
            let path = format!("/dev/{name}");
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert!(meta.file_type().is_char_device(), "{path}");
            let rdev = meta.rdev();
            assert_eq!(
                (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev)),
                (major, minor),
                "{path}"
            );
            assert_eq!(meta.mode() & 0o7777, 0o666, "{path}");
            assert_eq!((meta.uid(), meta.gid()), (0, 0), "{path}");
        }
        std::fs::write("/dev/null", "x").unwrap();
        assert_eq!(
            std::fs::read_link("/dev/ptmx").unwrap(),
            Path::new("pts/ptmx")
        );
        // runtime-linux.md "Dev symbolic links".
        for (link, target) in [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
        ] {
            assert_eq!(
                std::fs::read_link(link).unwrap(),
                Path::new(target),
                "{link}"
            );
        }
        // /proc/kcore is absent on this host, so no /dev/core.
        assert_eq!(
            Path::new("/proc/kcore").exists(),
            std::fs::symlink_metadata("/dev/core").is_ok()
        );
        // the new devpts instance works through the ptmx symlink.
        assert!(std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/ptmx")
            .is_ok());
    })
    .unwrap();
}

#[test]
fn linux_devices_are_created_with_mode_and_owner() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({
        "mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}],
        "linux": {"devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 1, "gid": 2},
            {"path": "/dev/disk/loop7", "type": "b", "major": 7, "minor": 7},
            {"path": "/run/fifo", "type": "p", "fileMode": 420}
        ]}
    }));
    run(&bundle, &config, &bundle.options(), || {
        let fuse = std::fs::metadata("/dev/fuse").unwrap();
        assert!(fuse.file_type().is_char_device());
        assert_eq!(fuse.rdev(), nix::sys::stat::makedev(10, 229));
        assert_eq!(
            (fuse.mode() & 0o7777, fuse.uid(), fuse.gid()),
            (0o600, 1, 2)
        );
        let loop7 = std::fs::metadata("/dev/disk/loop7").unwrap();
        assert!(loop7.file_type().is_block_device());
        assert_eq!(loop7.rdev(), nix::sys::stat::makedev(7, 7));
        assert_eq!(loop7.mode() & 0o7777, 0o666);
        let fifo = std::fs::metadata("/run/fifo").unwrap();
        assert!(fifo.file_type().is_fifo());
        assert_eq!(fifo.mode() & 0o7777, 0o644);
    })
    .unwrap();
}

#[test]
fn existing_mismatching_device_is_an_error() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    std::fs::write(bundle.rootfs().join("dev/fuse"), "not a device").unwrap();
    let config = spec(json!({"linux": {"devices": [
        {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}
    ]}}));
    let err = setup_error(&bundle, &config);
    assert_eq!(
        err,
        "device /dev/fuse: a different file already exists there"
    );
}

#[test]
fn bind_mount_flags() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let host = bundle.path().join("volume");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("file"), "data").unwrap();
    std::fs::write(bundle.path().join("hosts"), "127.0.0.1 x").unwrap();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/ro", "type": "none", "source": "volume",
         "options": ["rbind", "ro", "nosuid", "nodev", "noexec", "noatime"]},
        {"destination": "/rw", "type": "bind", "source": host.to_str().unwrap(),
         "options": ["bind", "rw", "nodiratime"]},
        // Filesystem options on a bind: the kernel ignores them, and so the mount runs.
        {"destination": "/opts", "type": "bind", "source": "volume",
         "options": ["rbind", "mode=755", "size=1k"]},
        {"destination": "/etc/hosts", "type": "bind", "source": "hosts", "options": ["bind", "ro"]},
        {"destination": "/strict", "type": "tmpfs", "source": "tmpfs",
         "options": ["strictatime", "sync", "dirsync", "mode=700"]}
    ]}));
    run(&bundle, &config, &bundle.options(), || {
        let ro = mount_at("/ro");
        for o in ["ro", "nosuid", "nodev", "noexec", "noatime"] {
            assert!(ro.has(o), "/ro lacks {o}: {ro:?}");
        }
        assert_eq!(std::fs::read_to_string("/ro/file").unwrap(), "data");
        let err = std::fs::write("/ro/new", "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        let f = flags("/ro");
        assert!(f.contains(FsFlags::ST_RDONLY | FsFlags::ST_NOSUID | FsFlags::ST_NODEV));

        let rw = mount_at("/rw");
        assert!(
            rw.has("rw") && rw.has("nodiratime") && !rw.has("nosuid"),
            "{rw:?}"
        );
        std::fs::write("/rw/written", "y").unwrap();
        assert_eq!(std::fs::read_to_string("/opts/file").unwrap(), "data");

        // A file bind: the mount point was created as a file.
        assert_eq!(
            std::fs::read_to_string("/etc/hosts").unwrap(),
            "127.0.0.1 x"
        );
        assert!(mount_at("/etc/hosts").has("ro"));

        let strict = mount_at("/strict");
        // sync and dirsync are superblock flags; strictatime shows as no atime option.
        assert!(
            !strict.has("relatime") && !strict.has("noatime"),
            "{strict:?}"
        );
        for o in ["sync", "dirsync", "mode=700"] {
            assert!(strict.super_options.contains(&o.to_string()), "{strict:?}");
        }
    })
    .unwrap();
    assert_eq!(std::fs::read_to_string(host.join("written")).unwrap(), "y");
    // The file and dir mount points were created inside the rootfs, nowhere else.
    assert!(bundle.rootfs().join("etc/hosts").is_file());
    assert!(bundle.rootfs().join("ro").is_dir());
}

#[test]
fn recursive_read_only_covers_submounts() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let host = bundle.path().join("tree");
    std::fs::create_dir_all(host.join("sub")).unwrap();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/top-ro", "type": "bind", "source": "tree", "options": ["rbind", "ro"]},
        {"destination": "/all-ro", "type": "bind", "source": "tree", "options": ["rbind", "rro", "rnosuid"]}
    ]}));
    let sub = host.join("sub");
    let before = move || {
        nix::mount::mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
    };
    run_with(&bundle, &config, &bundle.options(), before, || {
        // "ro" only reaches the top mount of an rbind; "rro" every mount below.
        assert!(mount_at("/top-ro").has("ro"));
        assert!(mount_at("/top-ro/sub").has("rw"));
        std::fs::write("/top-ro/sub/x", "1").unwrap();
        let sub = mount_at("/all-ro/sub");
        assert!(sub.has("ro") && sub.has("nosuid"), "{sub:?}");
        assert!(mount_at("/all-ro").has("ro"));
    })
    .unwrap();
}

#[test]
fn propagation_options() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    for d in ["a", "b", "c"] {
        std::fs::create_dir(bundle.path().join(d)).unwrap();
    }
    let config = spec(json!({
        "linux": {"rootfsPropagation": "shared"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/shared", "type": "bind", "source": "a", "options": ["rbind", "rshared"]},
            {"destination": "/private", "type": "bind", "source": "b", "options": ["rbind", "rprivate"]},
            {"destination": "/unbindable", "type": "bind", "source": "c", "options": ["bind", "unbindable"]}
        ]
    }));
    run(&bundle, &config, &bundle.options(), || {
        let shared = mount_at("/shared");
        assert!(
            shared.optional.iter().any(|o| o.starts_with("shared:")),
            "{shared:?}"
        );
        assert!(mount_at("/private").optional.is_empty());
        assert!(mount_at("/unbindable")
            .optional
            .contains(&"unbindable".to_string()));
        // config-linux.md "Rootfs Mount Propagation" shared: a new peer group for /.
        let root = mount_at("/");
        assert!(
            root.optional.iter().any(|o| o.starts_with("shared:")),
            "{root:?}"
        );
    })
    .unwrap();
}

/// config-linux.md "Rootfs Mount Propagation" shared with an `rbind,rshared` bind of a shared
/// host directory (what kubelet sends for `mountPropagation: Bidirectional`): a mount made
/// inside the container reaches the host, both ways being the point of rshared.
#[test]
fn rshared_volume_propagates_to_the_host() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let volume = bundle.path().join("volume");
    std::fs::create_dir(bundle.rootfs().join("volume")).unwrap();
    // A shared mount on the host, as kubelet's pod volumes are; undone however the test ends.
    let shared = shared_mount::SharedMount::new(&volume);
    let config = spec(json!({
        "linux": {"rootfsPropagation": "rshared"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/volume", "type": "bind", "source": "volume",
             "options": ["rbind", "rshared"]}
        ]
    }));
    run(&bundle, &config, &bundle.options(), || {
        std::fs::create_dir("/volume/inside").unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            "/volume/inside",
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
    })
    .unwrap();
    let inside = volume.join("inside");
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let reached = host.lines().any(|l| l.split(' ').nth(4) == inside.to_str());
    drop(shared);
    assert!(
        reached,
        "the container's mount did not reach the host at {inside:?}"
    );
}

/// A shared rootfs propagation keeps the host's peer groups while the rootfs is set up, so
/// `--no-pivot` must not move the rootfs onto a `/` that is still the host's peer: the move
/// would propagate and cover the host's `/`. Run where that would show and harm nothing: in a
/// throwaway "host" mount namespace whose `/` is rshared (a systemd host's), with the rootfs a
/// mount point of its own (containerd's overlay), so that `/` is not the mount made private.
#[test]
fn no_pivot_with_shared_propagation_leaves_the_hosts_root_alone() {
    use nix::mount::{mount, MsFlags};
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({
        "linux": {"rootfsPropagation": "rshared"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}]
    }));
    let mut opts = bundle.options();
    opts.no_pivot = true;
    let rootfs = bundle.rootfs();
    let on_root = || mountinfo().iter().filter(|m| m.mount_point == "/").count();
    // SAFETY: the child runs the check and _exits; it never returns into the harness.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            let check = std::panic::AssertUnwindSafe(|| {
                nix::sched::unshare(CloneFlags::CLONE_NEWNS).unwrap();
                let rec_shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
                mount(None::<&str>, "/", None::<&str>, rec_shared, None::<&str>).unwrap();
                mount(
                    Some(&rootfs),
                    &rootfs,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .unwrap();
                let before = on_root();
                run(&bundle, &config, &opts, || {}).unwrap();
                assert_eq!(on_root(), before, "the rootfs was moved onto the host's /");
            });
            let code = i32::from(std::panic::catch_unwind(check).is_err());
            // SAFETY: leave without running the parent's atexit handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
        }
    }
}

#[test]
fn host_mounts_made_later_do_not_leak_in_either_direction() {
    let Some(_serial) = root_or_skip() else {
        return;
    };
    // Default propagation: the container's mounts never show up on the host.
    let bundle = Bundle::new();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}
    ]}));
    let rootfs = bundle.rootfs();
    run(&bundle, &config, &bundle.options(), || {}).unwrap();
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host.contains(rootfs.to_str().unwrap()),
        "container mounts leaked to the host: {host}"
    );
}

#[test]
fn symlinks_in_destinations_stay_inside_the_rootfs() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let outside = bundle.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let rootfs = bundle.rootfs();
    // Both try to reach <bundle>/outside on the host.
    std::os::unix::fs::symlink(
        format!("/../../../../../..{}", outside.display()),
        rootfs.join("abs"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../outside", rootfs.join("etc/rel")).unwrap();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/abs/x", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/etc/rel/y", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/../../z", "type": "tmpfs", "source": "tmpfs"}
    ]}));
    let outside_in = format!("{}/x", outside.display());
    run(&bundle, &config, &bundle.options(), || {
        // Each mount landed inside the container's root, where the link points from "/".
        assert_eq!(mount_at(&outside_in).fstype, "tmpfs");
        assert_eq!(mount_at("/outside/y").fstype, "tmpfs");
        assert_eq!(mount_at("/z").fstype, "tmpfs");
    })
    .unwrap();
    assert!(!outside.join("x").exists() && !outside.join("y").exists());
    assert!(!bundle.path().join("z").exists());
    assert!(rootfs.join("z").is_dir());
}

#[test]
fn masked_and_readonly_paths_and_readonly_root() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({
        "root": {"path": "rootfs", "readonly": true},
        "mounts": default_mounts(),
        "linux": {
            "maskedPaths": ["/proc/kcore", "/proc/timer_list", "/sys/firmware", "/nonexistent"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/missing"]
        }
    }));
    run(&bundle, &config, &bundle.options(), || {
        // Masked: files read as /dev/null, directories are an empty read-only tmpfs.
        assert_eq!(std::fs::read_to_string("/proc/timer_list").unwrap(), "");
        assert_eq!(std::fs::read_dir("/sys/firmware").unwrap().count(), 0);
        let firmware = mount_at("/sys/firmware");
        assert!(
            firmware.fstype == "tmpfs" && firmware.has("ro"),
            "{firmware:?}"
        );
        // Read-only paths keep nosuid/nodev/noexec of proc where set, and reject writes.
        let sys = mount_at("/proc/sys");
        assert!(sys.has("ro"), "{sys:?}");
        let err = std::fs::write("/proc/sys/kernel/hostname", "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        // Absent on this host's kernel: skipped, not an error.
        if Path::new("/proc/sysrq-trigger").exists() {
            assert!(mount_at("/proc/sysrq-trigger").has("ro"));
        }
        // Read-only root; /dev is its own tmpfs and stays writable.
        let err = std::fs::write("/new-file", "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        assert!(flags("/").contains(FsFlags::ST_RDONLY));
        std::fs::write("/dev/shm/ok", "x").unwrap();
    })
    .unwrap();
}

#[test]
fn no_pivot_moves_and_chroots() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({"mounts": default_mounts()}));
    let mut opts = bundle.options();
    opts.no_pivot = true;
    let rootfs = bundle.rootfs();
    let steps = || ocirun::rootfs::setup(&config, &rootfs, &opts);
    let namespace = run_steps_ns(CloneFlags::empty(), steps, || {
        assert_eq!(std::fs::read_to_string("/marker").unwrap(), "inside");
        assert_eq!(std::env::current_dir().unwrap(), Path::new("/"));
        assert!(Path::new("/dev/null").exists());
        assert_eq!(mount_at("/proc").fstype, "proc");
    })
    .unwrap();
    // The host's /proc and /sys were detached from the namespace (runc's msMoveRoot): only the
    // container's own whole proc and sysfs mounts are left in it.
    let whole = |fs: &str| {
        namespace
            .lines()
            .filter(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let fstype = line.split(" - ").nth(1).unwrap().split(' ').next().unwrap();
                fstype == fs && fields[3] == "/"
            })
            .count()
    };
    assert_eq!((whole("proc"), whole("sysfs")), (1, 1), "{namespace}");
}

#[test]
fn cgroup_mount_on_this_host() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let mut mounts = default_mounts();
    mounts.as_array_mut().unwrap().push(json!(
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
    ));
    let config = spec(json!({"mounts": mounts}));
    let host = ocirun::cgroups::Hierarchies::detect().unwrap();
    let own = ocirun::cgroups::ProcessCgroups::of_self().unwrap();
    run(&bundle, &config, &bundle.options(), || {
        match host.mode() {
            Some(ocirun::cgroups::Mode::Unified) => {
                assert_eq!(mount_at("/sys/fs/cgroup").fstype, "cgroup2");
            }
            _ => {
                let top = mount_at("/sys/fs/cgroup");
                assert!(top.fstype == "tmpfs" && top.has("ro"), "{top:?}");
                for h in host.all() {
                    let name = h.mount_point.file_name().unwrap().to_str().unwrap();
                    let m = mount_at(&format!("/sys/fs/cgroup/{name}"));
                    assert!(m.has("ro") && m.has("nosuid"), "{m:?}");
                    // Without a cgroup ns the container sees its own cgroup, not the host's.
                    let path = own.path_in(h).unwrap();
                    assert_eq!(Path::new(&m.root), path, "{name}");
                }
            }
        }
    })
    .unwrap();
}

#[test]
fn mount_errors_name_destination_and_cause() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    std::fs::create_dir(bundle.path().join("v")).unwrap();
    let cases = [
        (
            json!({"mounts": [{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "bogus=1"]}]}),
            "mount tmpfs on /t with options \"bogus=1\": EINVAL: invalid argument",
        ),
        (
            json!({"mounts": [{"destination": "/x", "type": "nosuchfs", "source": "x"}]}),
            "mount nosuchfs on /x: ENODEV: no such device",
        ),
        (
            json!({"mounts": [{"destination": "/data", "type": "bind", "source": "missing", "options": ["bind"]}]}),
            "stat bind source",
        ),
        (
            json!({"linux": {"rootfsPropagation": "sideways"}}),
            "linux.rootfsPropagation: \"sideways\" is not one of shared, slave, private, unbindable",
        ),
        (
            json!({"mounts": [{"destination": "/i", "type": "bind", "source": "v", "options": ["bind", "idmap"]}]}),
            "mount /i: an id-mapped mount needs uidMappings and gidMappings (the container has no user namespace to take them from)",
        ),
        (
            json!({"mounts": [{"destination": "/j", "type": "bind", "source": "v", "options": ["bind", "idmap"],
                               "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]}),
            "mount /j: uidMappings and gidMappings must be given together",
        ),
    ];
    for (fragment, expected) in cases {
        let err = setup_error(&bundle, &spec(fragment));
        assert!(err.starts_with(expected), "got {err:?}, want {expected:?}");
    }
}

#[test]
fn mounts_into_proc_are_refused_even_through_symlinks() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    std::fs::create_dir(bundle.path().join("v")).unwrap();
    std::fs::write(bundle.path().join("file"), "x").unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel", bundle.rootfs().join("evil")).unwrap();
    std::fs::write(bundle.rootfs().join("procfile"), "").unwrap();
    let proc = json!({"destination": "/proc", "type": "proc", "source": "proc"});
    let v = bundle.path().join("v");
    let cases = [
        (
            json!({"destination": "/proc/sys/kernel/core_pattern", "type": "bind", "source": "file", "options": ["bind"]}),
            "mount /proc/sys/kernel/core_pattern: /proc/sys/kernel/core_pattern is inside /proc, where only procfs and lxcfs-style files may be mounted".to_owned(),
        ),
        (
            json!({"destination": "/evil", "type": "tmpfs", "source": "tmpfs"}),
            "mount /evil: /proc/sys/kernel is inside /proc, where only procfs and lxcfs-style files may be mounted".to_owned(),
        ),
        (
            json!({"destination": "/proc", "type": "bind", "source": "v", "options": ["rbind"]}),
            format!("mount /proc: {} is not procfs and cannot be bind-mounted on /proc", v.display()),
        ),
        (
            json!({"destination": "/procfile", "type": "proc", "source": "proc"}),
            "mount /procfile: proc must be mounted on a directory".to_owned(),
        ),
    ];
    for (mount, expected) in cases {
        let config = spec(json!({"mounts": [proc.clone(), mount]}));
        let err = setup_error(&bundle, &config);
        assert_eq!(err, expected);
    }
    // What lxcfs does is allowed.
    let config = spec(
        json!({"mounts": [proc, {"destination": "/proc/uptime", "type": "bind", "source": "file", "options": ["bind", "ro"]}]}),
    );
    run(&bundle, &config, &bundle.options(), || {
        assert_eq!(std::fs::read_to_string("/proc/uptime").unwrap(), "x");
    })
    .unwrap();
}

#[test]
fn user_namespace_binds_devices_and_sysfs() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({
        "mounts": default_mounts(),
        "linux": {"devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]}
    }));
    let extra = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWIPC;
    run_in(
        extra,
        &bundle,
        &config,
        &bundle.options(),
        || {},
        || {
            // mknod is EPERM in a user namespace: the host's nodes are bound in instead.
            for (path, major, minor) in [("/dev/null", 1, 3), ("/dev/fuse", 10, 229)] {
                let meta = std::fs::metadata(path).unwrap();
                assert!(meta.file_type().is_char_device(), "{path}");
                assert_eq!(meta.rdev(), nix::sys::stat::makedev(major, minor), "{path}");
                assert_eq!(mount_at(path).fstype, "devtmpfs", "{path}");
            }
            // sysfs cannot be mounted without a network namespace: the host's is bound, read-only.
            let sys = mount_at("/sys");
            assert_eq!(sys.fstype, "sysfs");
            for o in ["ro", "nosuid", "nodev", "noexec"] {
                assert!(sys.has(o), "/sys lacks {o}: {sys:?}");
            }
            assert_eq!(mount_at("/proc").fstype, "proc");
            assert_eq!(mount_at("/dev/mqueue").fstype, "mqueue");
        },
    )
    .unwrap();
}

#[test]
fn cgroup_namespace_mounts_fresh_hierarchies() {
    let Some(_serial) = root_or_skip() else {
        return;
    };
    let host = ocirun::cgroups::Hierarchies::detect().unwrap();
    let bundle = Bundle::new();
    let mut mounts = default_mounts();
    mounts.as_array_mut().unwrap().push(json!(
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "ro"]}
    ));
    let config = spec(json!({
        "mounts": mounts,
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "cgroup"}]}
    }));
    run_in(
        CloneFlags::CLONE_NEWCGROUP,
        &bundle,
        &config,
        &bundle.options(),
        || {},
        || {
            for h in host.all() {
                let name = h.mount_point.file_name().unwrap().to_str().unwrap();
                let path = match host.mode() {
                    Some(ocirun::cgroups::Mode::Unified) => "/sys/fs/cgroup".to_owned(),
                    _ => format!("/sys/fs/cgroup/{name}"),
                };
                let m = mount_at(&path);
                // A new mount shows the namespace root, where a bind would show the host path.
                assert_eq!(m.root, "/", "{m:?}");
                assert!(m.fstype.starts_with("cgroup") && m.has("ro"), "{m:?}");
            }
        },
    )
    .unwrap();
}

#[test]
fn console_is_the_pty_bound_between_pivot_and_finalize() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let config = spec(json!({
        "root": {"path": "rootfs", "readonly": true},
        "process": {"terminal": true, "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "mounts": default_mounts()
    }));
    let rootfs = bundle.rootfs();
    let opts = bundle.options();
    let pty_rdev = std::cell::Cell::new(0);
    let steps = || {
        use std::os::fd::AsFd;
        ocirun::rootfs::prepare(&config, &rootfs, &opts)?;
        ocirun::rootfs::pivot(&config, &rootfs, &opts)?;
        // As runc: the pty comes from the container's own devpts (/dev/ptmx -> pts/ptmx).
        let pty = nix::pty::openpty(None, None).unwrap();
        pty_rdev.set(nix::sys::stat::fstat(&pty.slave).unwrap().st_rdev);
        ocirun::rootfs::mount_console(Path::new("/"), pty.slave.as_fd())?;
        // Keep the master open for the check (a pty whose master is closed cannot be opened);
        // this process exits right after it.
        std::mem::forget(pty);
        ocirun::rootfs::finalize(&config)
    };
    run_steps(CloneFlags::empty(), steps, || {
        let console = std::fs::metadata("/dev/console").unwrap();
        assert!(console.file_type().is_char_device());
        assert_eq!(console.rdev(), pty_rdev.get());
        assert!(std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/console")
            .is_ok());
    })
    .unwrap();
}

#[test]
fn remount_and_nosymfollow() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    std::fs::create_dir(bundle.path().join("v")).unwrap();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosymfollow"]},
        {"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "nosymfollow"]},
        {"destination": "/b", "type": "bind", "source": "v", "options": ["bind"]},
        {"destination": "/b", "type": "bind", "source": "v", "options": ["bind", "remount", "ro", "nosuid"]}
    ]}));
    run(&bundle, &config, &bundle.options(), || {
        let t = mount_at("/t");
        assert!(t.has("ro") && t.has("nosymfollow"), "{t:?}");
        let b = mount_at("/b");
        assert!(b.has("ro") && b.has("nosuid"), "{b:?}");
        // One mount each: remount changed the existing mount, it did not stack a new one.
        assert_eq!(
            mountinfo().iter().filter(|m| m.mount_point == "/b").count(),
            1
        );
    })
    .unwrap();
}

#[test]
fn idmapped_bind_mount() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let src = bundle.path().join("owned");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("root-file"), "r").unwrap();
    std::fs::write(src.join("other-file"), "o").unwrap();
    std::os::unix::fs::chown(src.join("other-file"), Some(5), Some(5)).unwrap();
    let maps = json!([{"containerID": 0, "hostID": 1000, "size": 1}]);
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/idm", "type": "bind", "source": "owned",
         "options": ["rbind", "idmap", "ro"], "uidMappings": maps, "gidMappings": maps}
    ]}));
    run(&bundle, &config, &bundle.options(), || {
        // On-disk id 0 (containerID) is seen as 1000 (hostID); unmapped ids as the overflow id.
        let root_file = std::fs::metadata("/idm/root-file").unwrap();
        assert_eq!((root_file.uid(), root_file.gid()), (1000, 1000));
        let other = std::fs::metadata("/idm/other-file").unwrap();
        assert_eq!((other.uid(), other.gid()), (65534, 65534));
        let m = mount_at("/idm");
        assert!(m.has("idmapped") && m.has("ro"), "{m:?}");
    })
    .unwrap();
    // The source itself is untouched.
    let meta = std::fs::metadata(src.join("root-file")).unwrap();
    assert_eq!(meta.uid(), 0);
}

#[test]
fn tmpcopyup_copies_the_covered_directory() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let skel = bundle.rootfs().join("etc/skel");
    std::fs::create_dir_all(skel.join("sub")).unwrap();
    std::fs::write(skel.join("a"), "alpha").unwrap();
    std::fs::write(skel.join("sub/b"), "beta").unwrap();
    std::os::unix::fs::symlink("a", skel.join("link")).unwrap();
    std::os::unix::fs::chown(skel.join("a"), Some(5), Some(6)).unwrap();
    std::fs::set_permissions(
        skel.join("a"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .unwrap();
    let config = spec(json!({"mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/etc/skel", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid"]}
    ]}));
    run(&bundle, &config, &bundle.options(), || {
        assert_eq!(mount_at("/etc/skel").fstype, "tmpfs");
        assert_eq!(std::fs::read_to_string("/etc/skel/a").unwrap(), "alpha");
        assert_eq!(std::fs::read_to_string("/etc/skel/sub/b").unwrap(), "beta");
        assert_eq!(
            std::fs::read_link("/etc/skel/link").unwrap(),
            Path::new("a")
        );
        let a = std::fs::metadata("/etc/skel/a").unwrap();
        assert_eq!((a.uid(), a.gid(), a.mode() & 0o7777), (5, 6, 0o640));
        std::fs::write("/etc/skel/new", "n").unwrap();
    })
    .unwrap();
    // The copy was written to the tmpfs only.
    assert!(!skel.join("new").exists());

    let bad = spec(json!({"mounts": [
        {"destination": "/x", "type": "bind", "source": "rootfs", "options": ["bind", "tmpcopyup"]}
    ]}));
    let err = setup_error(&bundle, &bad);
    assert_eq!(
        err,
        "mount /x: option \"tmpcopyup\" is only for tmpfs mounts"
    );
}

#[test]
fn idmapped_mount_made_on_the_host_for_a_user_namespace() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let src = bundle.path().join("owned");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("root-file"), "r").unwrap();
    std::fs::write(src.join("five-file"), "5").unwrap();
    std::os::unix::fs::chown(src.join("five-file"), Some(5), Some(5)).unwrap();
    let identity = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    let maps = json!([{"containerID": 5, "hostID": 0, "size": 1}]);
    let config = spec(json!({
        "linux": {
            "namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "ipc"}],
            "uidMappings": identity, "gidMappings": identity
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/idm", "type": "bind", "source": "owned",
             "options": ["rbind", "idmap"], "uidMappings": maps, "gidMappings": maps}
        ]
    }));
    let extra = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWIPC;
    let opts = bundle.options();
    // The init alone cannot: it has no privilege over the host filesystem.
    let err = run_in(extra, &bundle, &config, &opts, || {}, || {}).unwrap_err();
    assert!(err.contains("must be prepared on the host"), "{err}");

    let trees = ocirun::rootfs::idmap::host_trees(&config, bundle.path()).unwrap();
    assert_eq!(trees.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1]);
    let rootfs = bundle.rootfs();
    let steps = || {
        ocirun::rootfs::prepare_with_idmapped(&config, &rootfs, &opts, &trees)?;
        ocirun::rootfs::finish(&config, &rootfs, &opts)
    };
    run_steps(extra, steps, || {
        // On-disk 5 is host 0 through the mount, which is root in this user namespace.
        let five = std::fs::metadata("/idm/five-file").unwrap();
        assert_eq!((five.uid(), five.gid()), (0, 0));
        let root_file = std::fs::metadata("/idm/root-file").unwrap();
        assert_eq!(root_file.uid(), 65534);
        assert!(mount_at("/idm").has("idmapped"));
    })
    .unwrap();
}

/// config.md "Mounts" (`source` is a host path) with config-linux.md "User namespace
/// mappings": the container's root may not reach a source below a directory it cannot search
/// (podman's 0700 userdata owned by host root, here owned by an unmapped uid); the runtime
/// opens the sources on the host first ([`ocirun::rootfs::host_sources`]), as runc does.
#[test]
fn bind_sources_opened_on_the_host_for_a_user_namespace() {
    let Some((_serial, bundle)) = root_and_bundle() else {
        return;
    };
    let private = bundle.path().join("private");
    std::fs::create_dir_all(private.join("data")).unwrap();
    std::fs::write(private.join("hosts"), "127.0.0.1 ocirun\n").unwrap();
    std::fs::write(private.join("data/f"), "data").unwrap();
    std::os::unix::fs::chown(&private, Some(1234), Some(1234)).unwrap();
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let identity = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
    let config = spec(json!({
        "linux": {
            "namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "pid"}, {"type": "ipc"}],
            "uidMappings": identity, "gidMappings": identity
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/etc/hosts", "type": "bind", "source": "private/hosts",
             "options": ["bind", "ro"]},
            {"destination": "/data", "type": "bind", "source": "private/data",
             "options": ["rbind"]}
        ]
    }));
    let extra = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWIPC;
    let mut opts = bundle.options();
    // The init alone: EACCES on the 0700 directory of an unmapped owner.
    let err = run_in(extra, &bundle, &config, &opts, || {}, || {}).unwrap_err();
    assert!(err.contains("EACCES"), "{err}");

    opts.host_sources = ocirun::rootfs::host_sources(&config, bundle.path()).unwrap();
    let indices: Vec<usize> = opts.host_sources.binds.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, [1, 2]);
    run_in(
        extra,
        &bundle,
        &config,
        &opts,
        || {},
        || {
            assert_eq!(
                std::fs::read_to_string("/etc/hosts").unwrap(),
                "127.0.0.1 ocirun\n"
            );
            assert_eq!(std::fs::read_to_string("/data/f").unwrap(), "data");
            assert!(mount_at("/etc/hosts").has("ro"));
        },
    )
    .unwrap();

    // Without a user namespace the init resolves sources itself: nothing is opened.
    let plain = spec(json!({"mounts": [{"destination": "/data", "type": "bind",
        "source": "private/data", "options": ["rbind"]}]}));
    let none = ocirun::rootfs::host_sources(&plain, bundle.path()).unwrap();
    assert!(none.binds.is_empty() && none.idmapped.is_empty());
}
