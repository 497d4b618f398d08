//! Case file (TOML) → typed [`Case`], with errors that name the file and line.
//!
//! A case is data: the requirement ids it checks, a config fragment merged onto the base
//! bundle config, the probe's steps, and the lifecycle steps with what each must return. What
//! the container must look like is mostly derived from the merged config by the generic checks
//! (`checks/`), so a case says only what the config cannot.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One lifecycle operation, driven through the runtime's runc-style command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `create --bundle B --pid-file F ID`
    Create,
    /// `start ID`
    Start,
    /// `state ID`, its JSON checked against the State section (runtime.md "State").
    State,
    /// `kill ID SIGNAL`
    Kill,
    /// `delete [--force] ID`
    Delete,
    /// Wait for the container process to exit (the runner is its subreaper).
    Wait,
    /// Wait for the probe's report, read `/proc/<pid>` from outside and run the generic checks.
    Observe,
    /// Rewrite the bundle's config.json with other `process.args` and `process.env` (runtime.md
    /// "Lifecycle": updates after create MUST NOT affect the container); checks still hold the
    /// container against the config it was created with.
    Edit,
    /// A file in the case's directory (written by hooks through `{dir}`) must hold `content`
    /// at this point (absent reads as empty).
    File,
    /// `features` (features.md): its output validated against the spec's schema, its versions
    /// ordered, nothing the spec does not define.
    Features,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Start => "start",
            Op::State => "state",
            Op::Kill => "kill",
            Op::Delete => "delete",
            Op::Wait => "wait",
            Op::Observe => "observe",
            Op::Edit => "edit",
            Op::File => "file",
            Op::Features => "features",
        }
    }
}

/// What a runtime call must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Exit status 0.
    #[default]
    Ok,
    /// A non-zero exit status (runtime.md "Errors": how an error is exposed is not mandated,
    /// a runc-style command line exposes it as the exit status).
    Error,
    /// Either; the rest of the case is judged on what happened.
    Any,
}

/// Which container id a step uses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The case's container.
    #[default]
    Case,
    /// An id no container has (runtime.md "Query State": a container that does not exist).
    Unknown,
    /// The case's second container (for duplicate-id and joining cases).
    Second,
    /// No id at all (runtime.md "Operations": each MUST generate an error without one).
    Missing,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub op: Op,
    #[serde(default)]
    pub expect: Outcome,
    #[serde(default)]
    pub id: Target,
    /// `state`: the status the state must report.
    pub status: Option<String>,
    /// `kill`: the signal name (default `KILL`).
    pub signal: Option<String>,
    /// `delete`: pass `--force`.
    #[serde(default)]
    pub force: bool,
    /// `wait`: the exit status (128+N for signal N, as a shell shows it).
    pub exit_code: Option<i32>,
    /// Requirement ids this step's outcome counts for, beyond the case's.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// `file`: the path relative to the case's directory, and what it must hold.
    pub path: Option<String>,
    pub content: Option<String>,
}

/// Explicit observations the generic checks cannot derive from the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `write:PATH` outcomes: path → `ok` or errno name.
    #[serde(default)]
    pub writes: BTreeMap<String, String>,
    /// `stat:PATH` results: path → the kind the probe reports first (`f`, `d`, `c`, `l`, ...),
    /// or `absent`.
    #[serde(default)]
    pub stats: BTreeMap<String, String>,
    /// Outcomes of the probe's action steps (`"open:/dev/x" = "EPERM"`).
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
    /// Outcomes of the probe's `syscall:` steps by their key (`getppid = "ok:1"`,
    /// `"i386:getppid" = "EPERM"`); a value ending in `:` matches any return value after it.
    #[serde(default)]
    pub syscalls: BTreeMap<String, String>,
    /// Entries that must be in the probe's environment, `KEY=value`.
    #[serde(default)]
    pub env: Vec<String>,
    /// Mount points that must exist with the given options present (`/x` → `["ro"]`).
    #[serde(default)]
    pub mounts: BTreeMap<String, Vec<String>>,
    /// Namespaces that must be the same as the runtime's (`["mnt"]` ...), beyond derived ones.
    #[serde(default)]
    pub host_namespaces: Vec<String>,
    /// Files in the case's directory (written by hooks through `{dir}`) → their exact content,
    /// checked after the container is deleted. `{host.ns.<type>}` and `{container.ns.<type>}`
    /// in the content stand for namespace inodes.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Paths relative to the case's directory → `uid:gid` they must still have at the end
    /// (a runtime SHOULD NOT chown the rootfs to realize a mapping, config-linux.md "User
    /// namespace mappings").
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
}

/// A case as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub description: String,
    pub requirements: Vec<String>,
    /// Prerequisites of the environment: `root`, `ns:<type>` (the kernel has it).
    #[serde(default)]
    pub needs: Vec<String>,
    /// The spec release that introduced what the case judges (e.g. `domainname` came in
    /// 1.1.0): a runtime claiming an older ociVersion is not judged on it (skip).
    pub since: Option<String>,
    /// The probe's arguments after its path (default `report pause`).
    pub probe: Option<Vec<String>>,
    /// Merged onto the base config (objects merge, everything else replaces; `"<remove>"`
    /// removes a key, a key ending in `+` appends to the base's array, see `merge`).
    #[serde(default)]
    pub config: Option<toml::Table>,
    /// Lifecycle steps; default create, start, observe, kill KILL, wait, delete.
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    /// The second container's config fragment (for `id = "second"` steps), merged onto the base.
    pub second: Option<toml::Table>,
    #[serde(default)]
    pub expect: Expect,
    /// Judge every field of the merged config, not only those the fragment touches (the base
    /// case does; others stay focused so one broken field fails one case).
    #[serde(default)]
    pub all_checks: bool,
    /// Paths relative to the case's directory that the runner makes shared mount points on
    /// the host before create (`bundle/rootfs`): so that propagation from the host has a peer
    /// group to come from, and `slave` shows a master.
    #[serde(default)]
    pub host_shared: Vec<String>,
    /// Fields the case sets only to make the condition it judges (an rshared root under a
    /// mount whose propagation is judged): they are not judged in this case.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Short form of a negative case: the operation that must fail (`create`, or `start` when
    /// a runtime may refuse the config at create or at start). Expands to create → that
    /// operation → delete --force.
    pub fails: Option<String>,
}

/// A loaded case: its file, its id (`<area>/<name>`), its content.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub area: String,
    pub path: PathBuf,
    pub file: CaseFile,
    /// The config fragment as JSON (what `merge` applies).
    pub config: serde_json::Value,
    pub second: Option<serde_json::Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// `1.0.2-dev` → (1, 0, 2): the release a version names, pre-release tags ignored (runc's
/// `features` says 1.0.2-dev for what it ships as 1.0.2).
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// 1-based line of a byte offset (toml's error span start).
pub fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    let at = span.map(|s| s.start).unwrap_or(0).min(text.len());
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The default lifecycle: what every positive case does.
pub fn default_steps() -> Vec<Step> {
    let step = |op, exit_code, signal: Option<&str>| Step {
        op,
        expect: Outcome::Ok,
        id: Target::Case,
        status: None,
        signal: signal.map(str::to_string),
        force: false,
        exit_code,
        requirements: vec![],
        path: None,
        content: None,
    };
    vec![
        step(Op::Create, None, None),
        step(Op::Start, None, None),
        step(Op::Observe, None, None),
        step(Op::Kill, None, Some("KILL")),
        step(Op::Wait, Some(137), None),
        step(Op::Delete, None, None),
    ]
}

/// The steps of `fails = "create"` (create must fail) and `fails = "start"` (create may refuse
/// the config up front, else start must fail), each followed by a forced delete.
pub fn failing_steps(op: &str) -> Option<Vec<Step>> {
    let step = |op, expect, force| Step {
        op,
        expect,
        id: Target::Case,
        status: None,
        signal: None,
        force,
        exit_code: None,
        requirements: vec![],
        path: None,
        content: None,
    };
    let mut steps = match op {
        "create" => vec![step(Op::Create, Outcome::Error, false)],
        "start" => vec![
            step(Op::Create, Outcome::Any, false),
            step(Op::Start, Outcome::Error, false),
        ],
        _ => return None,
    };
    steps.push(step(Op::Delete, Outcome::Any, true));
    Some(steps)
}

/// Parses a case file's text; `id` is `<area>/<file stem>`.
pub fn parse(path: &Path, id: &str, text: &str) -> Result<Case, Error> {
    let file: CaseFile = toml::from_str(text).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: line_of(text, e.span()),
        message: e.message().to_owned(),
    })?;
    let invalid = |message: String| Error::Invalid {
        path: path.to_owned(),
        message,
    };
    if file.requirements.is_empty() {
        return Err(invalid(
            "requirements: a case must cite at least one requirement id".into(),
        ));
    }
    if let Some(v) = &file.since {
        if parse_version(v).is_none() {
            return Err(invalid(format!(
                "since: {v:?} is not a version (like 1.1.0)"
            )));
        }
    }
    for need in &file.needs {
        if need != "root" && !need.starts_with("ns:") {
            return Err(invalid(format!(
                "needs: unknown prerequisite {need:?} (root, ns:<type>)"
            )));
        }
    }
    let to_json = |t: &Option<toml::Table>| -> Result<serde_json::Value, Error> {
        match t {
            Some(t) => serde_json::to_value(t).map_err(|e| invalid(format!("config: {e}"))),
            None => Ok(serde_json::Value::Object(Default::default())),
        }
    };
    let config = to_json(&file.config)?;
    let second = match &file.second {
        Some(_) => Some(to_json(&file.second)?),
        None => None,
    };
    let steps = match (&file.fails, file.steps.is_empty()) {
        (Some(_), false) => {
            return Err(invalid(
                "fails and [[step]] are two ways to say the steps: use one".into(),
            ))
        }
        (Some(op), true) => failing_steps(op).ok_or_else(|| {
            invalid(format!(
                "fails: {op:?} is not an operation a config can make fail (create, start)"
            ))
        })?,
        (None, true) => default_steps(),
        (None, false) => file.steps.clone(),
    };
    for (i, s) in steps.iter().enumerate() {
        if s.op == Op::State && s.expect == Outcome::Ok && s.status.is_none() {
            return Err(invalid(format!("step {}: state needs a status", i + 1)));
        }
    }
    let area = id.split('/').next().unwrap_or_default().to_string();
    Ok(Case {
        id: id.to_string(),
        area,
        path: path.to_owned(),
        file,
        config,
        second,
        steps,
    })
}

/// Loads cases given as `(path, id, text)` and checks every cited requirement id exists.
pub fn load_all(
    sources: &[(PathBuf, String, String)],
    catalogue: &crate::requirements::Catalogue,
) -> Result<Vec<Case>, Error> {
    let mut cases = Vec::new();
    for (path, id, text) in sources {
        let case = parse(path, id, text)?;
        let cited = case
            .file
            .requirements
            .iter()
            .chain(case.steps.iter().flat_map(|s| s.requirements.iter()));
        for r in cited {
            if catalogue.get(r).is_none() {
                let line = text
                    .lines()
                    .position(|l| l.contains(r.as_str()))
                    .map(|i| i + 1)
                    .unwrap_or(1);
                return Err(Error::Parse {
                    path: path.clone(),
                    line,
                    message: format!("unknown requirement id {r:?} (see conformance/requirements)"),
                });
            }
        }
        cases.push(case);
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}

/// Reads `<dir>/<area>/<name>.toml` into `(path, "<area>/<name>", text)`.
pub fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, String, String)>, Error> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    };
    let mut out = Vec::new();
    for area in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let area = area.map_err(read_err(dir))?.path();
        if !area.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&area).map_err(read_err(&area))? {
            let f = f.map_err(read_err(&area))?.path();
            if f.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&f).map_err(read_err(&f))?;
            let id = format!(
                "{}/{}",
                area.file_name().unwrap_or_default().to_string_lossy(),
                f.file_stem().unwrap_or_default().to_string_lossy()
            );
            out.push((f, id, text));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_case_with_defaults() {
        let text = r#"
description = "env reaches the process"
requirements = ["config/process/abcdef"]
[config.process]
env = ["A=1"]
"#;
        let case = parse(Path::new("cases/process/env.toml"), "process/env", text).unwrap();
        assert_eq!(case.area, "process");
        assert_eq!(case.steps.len(), 6);
        assert_eq!(case.steps[0].op, Op::Create);
        assert_eq!(case.config["process"]["env"][0], "A=1");
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "description = \"x\"\nrequirements = [\"a\"]\n\n[[step]]\nop = \"launch\"\n";
        let err = parse(Path::new("cases/x/y.toml"), "x/y", text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cases/x/y.toml:5:"), "{msg}");
        assert!(msg.contains("launch"), "{msg}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_line() {
        let text = "description = \"x\"\nrequirements = [\"a\"]\nrequirement = 3\n";
        let msg = parse(Path::new("c.toml"), "x/c", text)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("c.toml:3:"), "{msg}");
    }

    #[test]
    fn versions_compare_by_release() {
        assert_eq!(parse_version("1.0.2-dev"), Some((1, 0, 2)));
        assert_eq!(parse_version("1.1"), Some((1, 1, 0)));
        assert!(parse_version("1.0.2-dev") < parse_version("1.1.0"));
        assert!(parse_version("1.3.0") >= parse_version("1.1.0"));
        assert_eq!(parse_version("not a version"), None);
        let text = "description = \"x\"\nrequirements = [\"a\"]\nsince = \"soon\"\n";
        let msg = parse(Path::new("c.toml"), "x/c", text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("since"), "{msg}");
    }

    #[test]
    fn state_steps_need_a_status() {
        let text = "description = \"x\"\nrequirements = [\"a\"]\n[[step]]\nop = \"state\"\n";
        let msg = parse(Path::new("c.toml"), "x/c", text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("state needs a status"), "{msg}");
    }

    #[test]
    fn unknown_requirement_ids_are_reported_with_line() {
        let text = "description = \"x\"\n\nrequirements = [\"nope/x/1\"]\n";
        let sources = vec![(PathBuf::from("c.toml"), "x/c".to_string(), text.to_string())];
        let msg = load_all(&sources, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("c.toml:3: unknown requirement id"), "{msg}");
    }
}
