//! The proc reader's cache between passes: command line and namespaces are reused only for the
//! same process image (pid, start time, comm); an exec (new comm), a new process on the same
//! pid (new start time) or a full pass reads them again. Cgroups are read on every pass.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::proc::{ProcReader, FULL_PASS_EVERY};
use ocitop::model::NsKind;
use std::path::Path;

fn write_proc(root: &Path, comm: &str, start: u64, net: u64, arg: &str, cgroup: &str) {
    let dir = root.join("42");
    std::fs::create_dir_all(dir.join("ns")).unwrap();
    std::fs::write(
        dir.join("stat"),
        format!("42 ({comm}) S 1 42 42 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 {start} 0 0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("cmdline"), format!("{arg}\0")).unwrap();
    std::fs::write(dir.join("cgroup"), format!("0::{cgroup}\n")).unwrap();
    let link = dir.join("ns/net");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(format!("net:[{net}]"), &link).unwrap();
}

#[test]
fn cache_follows_the_process_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut r = ProcReader::new(root);
    write_proc(root, "runc:[2:INIT]", 100, 1, "runc", "/a");
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("runc", 1)
    );

    // Same image: the cached command line and namespaces, but the fresh cgroup.
    write_proc(root, "runc:[2:INIT]", 100, 2, "changed", "/b");
    let p = &r.read_all().unwrap()[0];
    assert_eq!(p.cmdline[0], "runc");
    assert_eq!(p.namespaces[&NsKind::Net], 1);
    assert_eq!(p.main_cgroup(), Some("/b"));

    // exec: a new comm, everything is read again.
    write_proc(root, "sleep", 100, 2, "sleep", "/b");
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("sleep", 2)
    );

    // pid reuse: a new start time, read again.
    write_proc(root, "sleep", 200, 3, "sleep2", "/b");
    let p = &r.read_all().unwrap()[0];
    assert_eq!(
        (p.cmdline[0].as_str(), p.namespaces[&NsKind::Net]),
        ("sleep2", 3)
    );

    // Whatever the image, every FULL_PASS_EVERY-th pass reads everything.
    write_proc(root, "sleep", 200, 4, "sleep3", "/b");
    let mut seen = Vec::new();
    for _ in 0..FULL_PASS_EVERY {
        seen.push(r.read_all().unwrap()[0].namespaces[&NsKind::Net]);
    }
    assert!(
        seen.contains(&4),
        "a full pass within {FULL_PASS_EVERY}: {seen:?}"
    );
}
