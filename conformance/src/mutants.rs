//! The suite's self-test: mutants of a runtime, each of which must be caught.
//!
//! A mutant is the runtime judged through a wrapper that gets one thing wrong: a config field
//! dropped or perturbed in config.json before `create` reaches the runtime (the rows of
//! [`crate::checks::table::FIELDS`] say how each field can be broken), or an operation faked
//! (`start` that starts nothing, `state` that lies, ...). The wrapper is this binary itself
//! (`oci-conformance wrap`), so a runtime's CI needs nothing more.
//!
//! A mutant is caught when some case that passes on the runtime as it is fails on the mutant.
//! Only cases whose config the mutant changes are run (a mutant that changes no case's config
//! is not counted: no case sets that field), the cases about the field first, and a mutant
//! stops at its first catch, so the whole self-test costs a few cases per mutant.

use crate::bundle;
use crate::case::Case;
use crate::checks::{table, Host, Scope};
use crate::merge::merge;
use crate::requirements::Catalogue;
use crate::runner::{self, Options};
use crate::verdict::Status;
use serde_json::Value;
use std::path::Path;

/// One way to break a field: `apply` edits a config.json and says whether it changed anything.
pub struct Mutant {
    pub name: &'static str,
    pub about: &'static str,
    /// `(config, the row's field path)`.
    pub apply: fn(&mut Value, &str) -> bool,
}

/// The parent object of a slash path and the last key.
fn parent_of<'a>(
    config: &'a mut Value,
    path: &str,
) -> Option<(&'a mut serde_json::Map<String, Value>, String)> {
    let (parent, key) = match path.rsplit_once('/') {
        Some((p, k)) => (p, k),
        None => ("", path),
    };
    let mut v = config;
    if !parent.is_empty() {
        for k in parent.split('/') {
            v = v.get_mut(k)?;
        }
    }
    Some((v.as_object_mut()?, key.to_string()))
}

fn drop_at(config: &mut Value, path: &str) -> bool {
    parent_of(config, path).is_some_and(|(obj, key)| obj.remove(&key).is_some())
}

fn set_at(config: &mut Value, path: &str, value: Value) -> bool {
    match parent_of(config, path) {
        Some((obj, key)) if obj.get(&key) != Some(&value) => {
            obj.insert(key, value);
            true
        }
        _ => false,
    }
}

pub const DROP: Mutant = Mutant {
    name: "drop",
    about: "the field removed from config.json (a runtime that ignores it)",
    apply: drop_at,
};

pub const FLIP: Mutant = Mutant {
    name: "flip",
    about: "the boolean inverted",
    apply: |c, p| match crate::checks::at(c, p).as_bool() {
        Some(b) => set_at(c, p, Value::Bool(!b)),
        None => false,
    },
};

pub const ARGS_EXTRA: Mutant = Mutant {
    name: "extra-arg",
    about: "an argument appended to process.args",
    apply: |c, _| match c["process"]["args"].as_array_mut() {
        Some(a) if !a.is_empty() => {
            a.push(Value::String("exit:0".into()));
            true
        }
        _ => false,
    },
};

pub const NNP_ALWAYS: Mutant = Mutant {
    name: "always-true",
    about: "no_new_privs set whatever the config says",
    apply: |c, p| set_at(c, p, Value::Bool(true)) && c["process"].is_object(),
};

pub const OOM_ALWAYS: Mutant = Mutant {
    name: "always-set",
    about: "oom_score_adj set to 500 whatever the config says",
    apply: |c, p| c["process"].is_object() && set_at(c, p, Value::from(500)),
};

pub const SHIFT_HOST_ID: Mutant = Mutant {
    name: "shift-host-id",
    about: "hostID + 1 in every mapping",
    apply: |c, p| {
        let Some((obj, key)) = parent_of(c, p) else {
            return false;
        };
        let mut changed = false;
        for m in obj
            .get_mut(&key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(h) = m["hostID"].as_u64() {
                m["hostID"] = Value::from(h + 1);
                changed = true;
            }
        }
        changed
    },
};

pub const FORCE_SHARED: Mutant = Mutant {
    name: "forced-shared",
    about: "rootfsPropagation forced to shared",
    apply: |c, p| {
        !crate::checks::at(c, p).is_null() && set_at(c, p, Value::String("shared".into()))
    },
};

pub const CGROUP_ELSEWHERE: Mutant = Mutant {
    name: "elsewhere",
    about: "the container placed in another cgroup than cgroupsPath",
    apply: |c, p| match crate::checks::at(c, p).as_str() {
        Some(path) => {
            let other = format!("{path}-mutant");
            set_at(c, p, Value::String(other))
        }
        None => false,
    },
};

pub const NO_RESOURCES: Mutant = Mutant {
    name: "no-resources",
    about: "linux.resources removed entirely",
    apply: |c, _| drop_at(c, "linux/resources"),
};

fn drop_namespace(c: &mut Value, kind: &str) -> bool {
    match c["linux"]["namespaces"].as_array_mut() {
        Some(list) => {
            let before = list.len();
            list.retain(|n| n["type"] != kind);
            list.len() != before
        }
        None => false,
    }
}

/// One mutant per namespace type (the type dropped: the container stays in the runtime's),
/// and paths ignored (a new namespace instead of the one named).
pub const NAMESPACES: &[Mutant] = &[
    Mutant {
        name: "without-pid",
        about: "no pid namespace",
        apply: |c, _| drop_namespace(c, "pid"),
    },
    Mutant {
        name: "without-network",
        about: "no network namespace",
        apply: |c, _| drop_namespace(c, "network"),
    },
    Mutant {
        name: "without-mount",
        about: "no mount namespace",
        apply: |c, _| drop_namespace(c, "mount"),
    },
    Mutant {
        name: "without-ipc",
        about: "no ipc namespace",
        apply: |c, _| drop_namespace(c, "ipc"),
    },
    Mutant {
        name: "without-uts",
        about: "no uts namespace",
        apply: |c, _| drop_namespace(c, "uts"),
    },
    Mutant {
        name: "without-user",
        about: "no user namespace",
        apply: |c, _| drop_namespace(c, "user"),
    },
    Mutant {
        name: "without-cgroup",
        about: "no cgroup namespace",
        apply: |c, _| drop_namespace(c, "cgroup"),
    },
    Mutant {
        name: "without-time",
        about: "no time namespace",
        apply: |c, _| drop_namespace(c, "time"),
    },
    Mutant {
        name: "paths-ignored",
        about: "namespace paths ignored: new namespaces instead of joining",
        apply: |c, _| {
            let mut changed = false;
            for n in c["linux"]["namespaces"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if let Some(o) = n.as_object_mut() {
                    changed |= o.remove("path").is_some();
                }
            }
            changed
        },
    },
];

/// Removes `opt` from the options of every mount.
fn strip_option(c: &mut Value, opt: &str) -> bool {
    let mut changed = false;
    for m in c["mounts"].as_array_mut().into_iter().flatten() {
        if let Some(list) = m["options"].as_array_mut() {
            let before = list.len();
            list.retain(|o| o != opt);
            changed |= list.len() != before;
        }
    }
    changed
}

macro_rules! without_option {
    ($($opt:literal),* $(,)?) => {
        &[
            Mutant {
                name: "reversed",
                about: "mounts made in reverse order",
                apply: |c, _| match c["mounts"].as_array_mut() {
                    Some(l) if l.len() > 1 => {
                        let before = l.clone();
                        l.reverse();
                        *l != before
                    }
                    _ => false,
                },
            },
            Mutant {
                name: "last-dropped",
                about: "the last mount not made",
                apply: |c, _| c["mounts"].as_array_mut().is_some_and(|l| l.pop().is_some()),
            },
            $(Mutant {
                name: concat!("without-", $opt),
                about: concat!("mount option ", $opt, " ignored"),
                apply: |c, _| strip_option(c, $opt),
            },)*
        ]
    };
}

/// Mount order, a mount dropped, and each option of the spec's table ignored. Left out, because
/// ignoring them cannot change what a container sees on this kernel: `norelatime` and
/// `rnorelatime` (relatime is the kernel's default whatever the flag), `relatime` and
/// `rrelatime` (that default, and `strictatime` wins over it when both are given, so nothing
/// before it can be undone), `iversion`/`noiversion` (tmpfs and bind mounts keep no
/// i_version), `silent`/`loud` (only the kernel log), `mand`/`nomand` (mandatory locking is
/// gone from Linux 5.15). `idmap`/`ridmap` are left out until a case judges an idmapped mount
/// by the owners seen through it (today only their config errors are cases). `rnodev` is not in
/// the spec's table (v1.3.0 lists `rdev` only; the rdev case sets `rnodev` first).
pub const MOUNTS: &[Mutant] = without_option!(
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "bind",
    "rbind",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
    "nosymfollow",
    "symfollow",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rdev",
    "rnoexec",
    "rexec",
    "rnoatime",
    "ratime",
    "rnodiratime",
    "rdiratime",
    "rstrictatime",
    "rnostrictatime",
    "rnosymfollow",
    "rsymfollow",
);

/// A filter kept but its rules emptied, its architectures or argument conditions or errnoRet
/// ignored.
pub const SECCOMP: &[Mutant] = &[
    DROP,
    Mutant {
        name: "no-rules",
        about: "the filter installed with no rules (defaultAction only)",
        apply: |c, _| match c["linux"]["seccomp"]["syscalls"].as_array_mut() {
            Some(l) if !l.is_empty() => {
                l.clear();
                true
            }
            _ => false,
        },
    },
    Mutant {
        name: "native-only",
        about: "architectures ignored: the filter covers the native ABI only",
        apply: |c, _| {
            let listed = c["linux"]["seccomp"]["architectures"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "SCMP_ARCH_X86"));
            listed && drop_at(c, "linux/seccomp/architectures")
        },
    },
    Mutant {
        name: "args-ignored",
        about: "argument conditions ignored (a rule matches every call)",
        apply: |c, _| {
            let mut changed = false;
            for r in c["linux"]["seccomp"]["syscalls"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if let Some(o) = r.as_object_mut() {
                    changed |= o.remove("args").is_some();
                }
            }
            changed
        },
    },
    Mutant {
        name: "errnoret-ignored",
        about: "errnoRet and defaultErrnoRet ignored (EPERM instead)",
        apply: |c, _| {
            let mut changed = drop_at(c, "linux/seccomp/defaultErrnoRet");
            for r in c["linux"]["seccomp"]["syscalls"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                if let Some(o) = r.as_object_mut() {
                    changed |= o.remove("errnoRet").is_some_and(|v| v != 1);
                }
            }
            changed
        },
    },
];

/// Operations faked by the wrapper, whatever the config says.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("start:noop", "start succeeds without starting the program"),
    ("kill:noop", "kill succeeds without sending the signal"),
    ("delete:noop", "delete succeeds without deleting anything"),
    (
        "state:always-running",
        "state says running whatever the status is",
    ),
    ("state:no-pid", "state leaves out the pid"),
    ("create:errors-hidden", "create exits 0 even when it failed"),
    ("create:no-pid-file", "create writes no --pid-file"),
];

/// The full name of a field mutant: `<field path>:<mutant>`.
pub fn name_of(field: &str, m: &Mutant) -> String {
    format!("{field}:{}", m.name)
}

/// Applies the mutant named `name` (a field mutant) to a config; `None` for an unknown name or
/// an operation mutant.
pub fn apply_named(name: &str, config: &mut Value) -> Option<bool> {
    let (field, mutant) = name.rsplit_once(':')?;
    let row = table::FIELDS.iter().find(|f| f.path == field)?;
    let m = row.mutants.iter().find(|m| m.name == mutant)?;
    Some((m.apply)(config, field))
}

/// `RUNTIME-ARGS` → the operation (the first argument that is not a global flag or its value).
fn operation(args: &[String]) -> Option<(usize, &str)> {
    const WITH_VALUE: [&str; 5] = ["--root", "--log", "--log-format", "--criu", "--rootless"];
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if WITH_VALUE.contains(&a) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            return Some((i, a));
        }
    }
    None
}

/// The value of `--flag V` or `--flag=V` after the operation.
fn flag_value<'a>(args: &'a [String], names: &[&str]) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        names.iter().find_map(|n| {
            if a == n {
                args.get(i + 1).map(String::as_str)
            } else {
                a.strip_prefix(&format!("{n}="))
            }
        })
    })
}

/// `oci-conformance wrap`: runs `runtime ARGS` as the mutant would. Returns the exit code.
pub fn wrap(mutant: &str, runtime: &Path, args: &[String]) -> std::io::Result<i32> {
    use std::os::unix::process::CommandExt;
    let op = operation(args).map(|(_, op)| op).unwrap_or("");
    let real = || {
        let mut c = std::process::Command::new(runtime);
        c.args(args);
        c
    };
    match (mutant, op) {
        ("start:noop", "start") | ("kill:noop", "kill") | ("delete:noop", "delete") => {
            return Ok(0)
        }
        ("state:always-running" | "state:no-pid", "state") => {
            let out = real().stderr(std::process::Stdio::inherit()).output()?;
            let code = out.status.code().unwrap_or(1);
            match serde_json::from_slice::<Value>(&out.stdout) {
                Ok(mut v) if code == 0 => {
                    if mutant == "state:always-running" {
                        v["status"] = Value::String("running".into());
                    } else if let Some(o) = v.as_object_mut() {
                        o.remove("pid");
                    }
                    println!("{v}");
                }
                _ => print!("{}", String::from_utf8_lossy(&out.stdout)),
            }
            return Ok(code);
        }
        ("create:errors-hidden", "create") => {
            let _ = real().status()?;
            return Ok(0);
        }
        ("create:no-pid-file", "create") => {
            let st = real().status()?;
            if let Some(p) = flag_value(args, &["--pid-file"]) {
                let _ = std::fs::remove_file(p);
            }
            return Ok(st.code().unwrap_or(1));
        }
        (_, "create") if !mutant.contains(":noop") => {
            let bundle = flag_value(args, &["--bundle", "-b"]).unwrap_or(".");
            let path = Path::new(bundle).join("config.json");
            if let Ok(text) = std::fs::read_to_string(&path) {
                if let Ok(mut config) = serde_json::from_str::<Value>(&text) {
                    if apply_named(mutant, &mut config) == Some(true) {
                        std::fs::write(&path, config.to_string())?;
                    }
                }
            }
        }
        _ => {}
    }
    // Everything else is the runtime itself, by the path it was given.
    Err(real().exec())
}

/// What the self-test found for one mutant.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub about: String,
    /// The case that caught it, if any.
    pub caught_by: Option<String>,
    /// How many cases were run on it.
    pub ran: usize,
    /// False when every case whose config it changes fails on the runtime as it is: nothing
    /// can be proven about it until the runtime passes them (not counted in M).
    pub judged: bool,
}

/// The config a case's main container gets (placeholders as written), for deciding whether a
/// mutant changes it.
fn merged(case: &Case) -> Vec<Value> {
    let mut out = Vec::new();
    for fragment in std::iter::once(&case.config).chain(case.second.iter()) {
        let mut base = bundle::base_config("1.3.0", "x", &[]);
        merge(&mut base, fragment);
        out.push(base);
    }
    out
}

/// Every mutant the cases can judge: `(name, about, cases to run in order)`.
pub fn plan(cases: &[Case]) -> Vec<(String, String, Vec<&Case>)> {
    let mut out = Vec::new();
    for f in table::FIELDS {
        for m in f.mutants {
            let mut focused = Vec::new();
            let mut others = Vec::new();
            for c in cases {
                let changed = merged(c)
                    .into_iter()
                    .any(|mut cfg| (m.apply)(&mut cfg, f.path));
                if !changed {
                    continue;
                }
                if Scope::of_case(c).covers(f.path) {
                    focused.push(c);
                } else {
                    others.push(c);
                }
            }
            if !focused.is_empty() || !others.is_empty() {
                focused.extend(others);
                out.push((name_of(f.path, m), m.about.to_string(), focused));
            }
        }
    }
    for (name, about) in OPERATIONS {
        let area = name.split(':').next().unwrap_or_default();
        let mut order: Vec<&Case> = cases.iter().filter(|c| c.area == "lifecycle").collect();
        order.sort_by_key(|c| !c.id.contains(area));
        order.extend(cases.iter().filter(|c| c.area != "lifecycle"));
        out.push((name.to_string(), about.to_string(), order));
    }
    out
}

/// Runs the self-test of `runtime` (a path) with the binary `exe` as the wrapper: the cases as
/// they are first, then every mutant on the cases that passed.
#[allow(clippy::too_many_arguments)]
pub fn run(
    exe: &Path,
    runtime: &str,
    cases: &[Case],
    catalogue: &Catalogue,
    host: &Host,
    opts: &Options,
    only: &[String],
    progress: &(dyn Fn(&Outcome) + Sync),
) -> Result<Vec<Outcome>, runner::Error> {
    let subject = runner::prepare(runtime, opts)?;
    let plain = runner::run_suite(&subject, cases, catalogue, host, opts, &|_, _, _, _| {});
    let passing: Vec<Case> = cases
        .iter()
        .filter(|c| {
            plain
                .cases
                .iter()
                .any(|r| r.case == c.id && r.status == Status::Pass)
        })
        .cloned()
        .collect();
    let real = subject.runtime.path.clone();
    let quick = Options {
        preflight: false,
        stop_at_first_failure: true,
        ..opts.clone()
    };
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.starts_with(o.as_str()));
    let judged = plan(&passing);
    let mut outcomes = Vec::new();
    for (name, about, order) in plan(cases) {
        if wanted(&name) && !judged.iter().any(|(n, _, _)| *n == name) {
            let failing: Vec<&str> = order.iter().map(|c| c.id.as_str()).collect();
            let o = Outcome {
                name,
                about: format!(
                    "{about}; its cases fail on the runtime as it is: {}",
                    failing.join(", ")
                ),
                caught_by: None,
                ran: 0,
                judged: false,
            };
            progress(&o);
            outcomes.push(o);
        }
    }
    let chosen = judged.into_iter().filter(|(name, _, _)| wanted(name));
    for (i, (name, about, order)) in chosen.enumerate() {
        if runner::interrupted() {
            break;
        }
        let script = opts.work_dir.join(format!("mutant-{i}"));
        write_wrapper(&script, exe, &name, &real).map_err(|source| runner::Error::Io {
            path: script.clone(),
            source,
        })?;
        let label = format!("{}@{}", subject.info.name, name.replace(['/', ':'], "_"));
        let mutant = runner::prepare(
            &format!("{label}={}", script.display()),
            &Options {
                oci_version: Some(subject.info.oci_version.clone()),
                ..quick.clone()
            },
        )?;
        let order: Vec<Case> = order.into_iter().cloned().collect();
        let result = runner::run_suite(&mutant, &order, catalogue, host, &quick, &|_, _, _, _| {});
        let caught_by = result
            .cases
            .iter()
            .find(|c| c.status == Status::Fail)
            .map(|c| format!("{}: {}", c.case, c.reason));
        let outcome = Outcome {
            name,
            about,
            caught_by,
            ran: result
                .cases
                .iter()
                .filter(|c| c.status != Status::Skip || !c.reason.contains("not run"))
                .count(),
            judged: true,
        };
        progress(&outcome);
        outcomes.push(outcome);
        let _ = std::fs::remove_file(&script);
    }
    Ok(outcomes)
}

fn write_wrapper(script: &Path, exe: &Path, mutant: &str, real: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let text = format!(
        "#!/bin/sh\n# oci-conformance mutant: {mutant}\nexec {} wrap --mutant {} --runtime {} -- \"$@\"\n",
        quote(&exe.display().to_string()),
        quote(mutant),
        quote(&real.display().to_string()),
    );
    std::fs::write(script, text)?;
    std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_mutants_edit_one_thing() {
        let mut c = json!({"linux": {"sysctl": {"a": "1"}, "namespaces": [{"type": "pid"}, {"type": "uts"}]},
                           "mounts": [{"destination": "/a", "options": ["ro", "private"]}, {"destination": "/b"}]});
        assert_eq!(apply_named("linux/sysctl:drop", &mut c), Some(true));
        assert!(c["linux"].get("sysctl").is_none());
        assert_eq!(
            apply_named("linux/sysctl:drop", &mut c),
            Some(false),
            "nothing left to drop"
        );
        assert_eq!(
            apply_named("linux/namespaces:without-uts", &mut c),
            Some(true)
        );
        assert_eq!(c["linux"]["namespaces"], json!([{"type": "pid"}]));
        assert_eq!(apply_named("mounts:without-private", &mut c), Some(true));
        assert_eq!(c["mounts"][0]["options"], json!(["ro"]));
        assert_eq!(apply_named("mounts:reversed", &mut c), Some(true));
        assert_eq!(c["mounts"][0]["destination"], "/b");
        assert_eq!(apply_named("nosuch:drop", &mut c), None);
    }

    #[test]
    fn the_operation_is_found_after_global_flags() {
        let args: Vec<String> = ["--root", "/r", "--debug", "create", "--bundle", "/b", "id"]
            .map(String::from)
            .to_vec();
        assert_eq!(operation(&args), Some((3, "create")));
        assert_eq!(flag_value(&args, &["--bundle", "-b"]), Some("/b"));
        let eq: Vec<String> = ["create", "--pid-file=/p", "x"].map(String::from).to_vec();
        assert_eq!(flag_value(&eq, &["--pid-file"]), Some("/p"));
    }
}
