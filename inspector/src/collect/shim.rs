//! Recognising shims from their command lines: containerd-shim-runc-v2 (`-namespace NS -id ID
//! -address ...`), containerd-shim-kata-v2, the v1 containerd-shim, and conmon (`-c/--cid`,
//! `-r/--runtime`, `-b/--bundle`, `-n/--name`, `-e/--exec`). Go's flag package takes `-flag
//! value`, `--flag value` and `-flag=value`; conmon (glib) takes `-c value`, `--cid value` and
//! `--cid=value`.
//!
//! A containerd shim's command line names no bundle and no runtime, but containerd starts it
//! in the bundle directory (its working directory), where the shim keeps the runtime options
//! it was given (`options.json`: `binary_name`, `root`): what [`locate`] reads.

use super::files::{str_at, HostFiles};
use crate::model::{Process, Shim, ShimKind};
use std::path::Path;

/// The shim this process is, if it is one.
pub fn recognise(p: &Process) -> Option<Shim> {
    let argv0 = p.cmdline.first()?;
    // Run for every process of every refresh: most are told apart by the end of argv0.
    if !(argv0.ends_with("conmon") || argv0.contains("containerd-shim")) {
        return None;
    }
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    let kind = if name == "conmon" {
        ShimKind::Conmon
    } else if name.starts_with("containerd-shim-kata") {
        ShimKind::Kata
    } else if name == "containerd-shim" || name.starts_with("containerd-shim-runc") {
        ShimKind::ContainerdRunc
    } else if name.starts_with("containerd-shim") {
        ShimKind::ContainerdOther
    } else {
        return None;
    };
    let args = &p.cmdline[1..];
    let shim = match kind {
        ShimKind::Conmon => Shim {
            pid: p.pid,
            kind,
            namespace: None,
            id: flag(args, &["c", "cid"]),
            runtime: flag(args, &["r", "runtime"]),
            runtime_root: None,
            bundle: flag(args, &["b", "bundle"]),
            name: flag(args, &["n", "name"]),
            exec: switch(args, &["e", "exec"]),
            // podman passes itself as the exit command (its cleanup); CRI-O passes none.
            engine: flag(args, &["exit-command"])
                .filter(|c| c.rsplit('/').next() == Some("podman"))
                .map(|_| "podman".to_string()),
        },
        _ => Shim {
            pid: p.pid,
            kind,
            namespace: flag(args, &["namespace"]),
            // The v1 shim has no -id; its working directory (-workdir) ends in the id.
            id: flag(args, &["id"]).or_else(|| {
                flag(args, &["workdir"]).and_then(|w| w.rsplit('/').next().map(str::to_string))
            }),
            runtime: None,
            runtime_root: flag(args, &["runtime-root"]),
            bundle: None,
            name: None,
            exec: false,
            engine: None,
        },
    };
    Some(shim)
}

/// Completes a containerd shim from its working directory (the bundle) and the runtime
/// options it keeps there; `proc_root` is where its /proc entry is.
pub fn locate(shim: &mut Shim, proc_root: &Path, files: &mut HostFiles) {
    if shim.kind == ShimKind::Conmon {
        return;
    }
    let Ok(cwd) = std::fs::read_link(proc_root.join(shim.pid.to_string()).join("cwd")) else {
        return;
    };
    let Some(bundle) = cwd
        .to_str()
        .filter(|b| b.starts_with('/'))
        .map(str::to_string)
    else {
        return;
    };
    if shim.kind == ShimKind::ContainerdRunc {
        let options = files.json(&Path::new(&bundle).join("options.json"));
        let options = options.as_deref();
        shim.runtime = Some(
            options
                .and_then(|o| str_at(o, &["binary_name"]))
                .map_or("runc", |b| b.rsplit('/').next().unwrap_or(b))
                .to_string(),
        );
        if let Some(root) = options.and_then(|o| str_at(o, &["root"])) {
            shim.runtime_root = Some(root.to_string());
        }
    }
    shim.bundle = Some(bundle);
}

/// Whether one of `names` is given as a switch (`-e`, `--exec`).
fn switch(args: &[String], names: &[&str]) -> bool {
    args.iter().any(|a| {
        a.strip_prefix("--")
            .or_else(|| a.strip_prefix('-'))
            .is_some_and(|bare| names.contains(&bare))
    })
}

/// The value of the first of `names` given as `-n v`, `--n v`, `-n=v` or `--n=v`.
fn flag(args: &[String], names: &[&str]) -> Option<String> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(bare) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        let (name, inline) = match bare.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (bare, None),
        };
        if names.contains(&name) {
            return inline.or_else(|| it.next().cloned());
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn process(argv: &[&str]) -> Process {
        Process {
            pid: 7,
            ppid: 1,
            comm: "x".into(),
            cmdline: argv.iter().map(|s| s.to_string()).collect(),
            state: 'S',
            uids: None,
            gids: None,
            start_ticks: 0,
            cpu_ticks: 0,
            rss_kib: None,
            threads: None,
            namespaces: BTreeMap::new().into(),
            cgroups: None,
            carried_over: false,
        }
    }

    #[test]
    fn containerd_runc_v2() {
        let p = process(&[
            "/usr/bin/containerd-shim-runc-v2",
            "-namespace",
            "k8s.io",
            "-id",
            "abc",
            "-address",
            "/run/containerd/containerd.sock",
        ]);
        let s = recognise(&p).unwrap();
        assert_eq!(s.kind, ShimKind::ContainerdRunc);
        assert_eq!(s.namespace.as_deref(), Some("k8s.io"));
        assert_eq!(s.id.as_deref(), Some("abc"));
    }

    #[test]
    fn conmon_long_and_short_flags() {
        let p = process(&[
            "/usr/bin/conmon",
            "--api-version",
            "1",
            "-c",
            "cid1",
            "--runtime=/usr/bin/crun",
            "-b",
            "/var/lib/b",
        ]);
        let s = recognise(&p).unwrap();
        assert_eq!(s.kind, ShimKind::Conmon);
        assert_eq!(s.id.as_deref(), Some("cid1"));
        assert_eq!(s.runtime.as_deref(), Some("/usr/bin/crun"));
        assert_eq!(s.bundle.as_deref(), Some("/var/lib/b"));
        assert!(!s.exec);
        assert_eq!((s.name, s.engine), (None, None));
    }

    #[test]
    fn podman_exec_session_conmon() {
        // As podman 4.3 starts it for `podman exec web sleep 9`.
        let p = process(&[
            "/usr/bin/conmon",
            "--api-version",
            "1",
            "-c",
            "c32b",
            "-u",
            "91a8",
            "-r",
            "/usr/bin/runc",
            "-n",
            "web",
            "-e",
            "--exec-attach",
            "--exit-command",
            "/usr/bin/podman",
            "--exit-command-arg",
            "--root",
        ]);
        let s = recognise(&p).unwrap();
        assert!(s.exec);
        assert_eq!(s.name.as_deref(), Some("web"));
        assert_eq!(s.engine.as_deref(), Some("podman"));
    }

    #[test]
    fn containerd_shim_runtime_from_its_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let proc_root = tmp.path().join("proc");
        let state_root = tmp.path().join("state");
        std::fs::create_dir_all(proc_root.join("7")).unwrap();
        let bundle = "/run/containerd/io.containerd.runtime.v2.task/moby/abc";
        std::os::unix::fs::symlink(bundle, proc_root.join("7/cwd")).unwrap();
        let local = state_root.join(&bundle[1..]);
        std::fs::create_dir_all(&local).unwrap();
        // What dockerd asks for `docker run --runtime=ocirun` with a custom exec-root.
        std::fs::write(
            local.join("options.json"),
            r#"{"binary_name":"/opt/bin/ocirun","root":"/x/exec/runtime-runc"}"#,
        )
        .unwrap();
        let mut files = HostFiles::new(&state_root);
        let mut s = recognise(&process(&["containerd-shim-runc-v2", "-id", "abc"])).unwrap();
        locate(&mut s, &proc_root, &mut files);
        assert_eq!(s.bundle.as_deref(), Some(bundle));
        assert_eq!(s.runtime.as_deref(), Some("ocirun"));
        assert_eq!(s.runtime_root.as_deref(), Some("/x/exec/runtime-runc"));
        // ctr's default: options.json is `{}`, the shim runs runc in containerd's root.
        std::fs::write(local.join("options.json"), "{}").unwrap();
        locate(&mut s, &proc_root, &mut files);
        assert_eq!(s.runtime.as_deref(), Some("runc"));
    }

    #[test]
    fn not_a_shim() {
        assert_eq!(recognise(&process(&["/bin/sleep", "-id", "x"])), None);
        assert_eq!(recognise(&process(&[])), None);
    }
}
