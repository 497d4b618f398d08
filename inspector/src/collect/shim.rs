//! Recognising shims from their command lines: containerd-shim-runc-v2 (`-namespace NS -id ID
//! -address ...`), containerd-shim-kata-v2, the v1 containerd-shim, and conmon (`-c/--cid`,
//! `-r/--runtime`, `-b/--bundle`). Go's flag package takes `-flag value`, `--flag value` and
//! `-flag=value`; conmon (glib) takes `-c value`, `--cid value` and `--cid=value`.

use crate::model::{Process, Shim, ShimKind};

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
            bundle: flag(args, &["b", "bundle"]),
        },
        _ => Shim {
            pid: p.pid,
            kind,
            namespace: flag(args, &["namespace"]),
            // The v1 shim has no -id; its working directory (-workdir) ends in the id.
            id: flag(args, &["id"]).or_else(|| {
                flag(args, &["workdir"]).and_then(|w| w.rsplit('/').next().map(str::to_string))
            }),
            runtime: flag(args, &["runtime-root"]).map(|_| "runc".to_string()),
            bundle: None,
        },
    };
    Some(shim)
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
    }

    #[test]
    fn not_a_shim() {
        assert_eq!(recognise(&process(&["/bin/sleep", "-id", "x"])), None);
        assert_eq!(recognise(&process(&[])), None);
    }
}
