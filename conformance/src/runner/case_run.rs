//! One case's containers: their merged configs, the runtime calls made for them, and what
//! the runtime's `features` says it cannot do.

use super::*;

impl Run<'_> {
    pub(super) fn probe_args(&self, config_fragment: &Value) -> Vec<String> {
        let mut base = bundle::base_config("x", "x", &[]);
        merge(&mut base, config_fragment);
        let scope = Scope {
            setup: self.case.file.setup.clone(),
            ..Scope::of_fragment(config_fragment, self.case.file.all_checks)
        };
        let mut args = checks::probe_steps(&base, &scope);
        match &self.case.file.probe {
            Some(p) => args.extend(p.iter().cloned()),
            None => args.extend(["report".to_string(), "pause".to_string()]),
        }
        args
    }

    /// The merged config of a container, placeholders filled in.
    pub(super) fn config_of(&self, second: bool) -> Value {
        let c = if second { &self.second } else { &self.main };
        let args = self.probe_args(&c.fragment);
        let mut config = bundle::base_config(&self.ctx.target.info.oci_version, &c.id, &args);
        merge(&mut config, &c.fragment);
        let text = config.to_string();
        let (root_major, root_minor) = root_device();
        let version = |key: &str| {
            self.ctx
                .target
                .features
                .as_ref()
                .and_then(|f| f[key].as_str())
                .unwrap_or("")
                .to_string()
        };
        let filled = text
            .replace("\"{root.major}\"", &root_major.to_string())
            .replace("\"{root.minor}\"", &root_minor.to_string())
            .replace("{features.ociVersionMin}", &version("ociVersionMin"))
            .replace("{features.ociVersionMax}", &version("ociVersionMax"))
            .replace(
                "{second.pid}",
                &self.second.pid.unwrap_or_default().to_string(),
            )
            .replace("{runner.pid}", &std::process::id().to_string())
            .replace("{id}", &c.id)
            .replace("{dir}", &self.dir.display().to_string())
            .replace("{bundle}", &c.bundle.display().to_string());
        serde_json::from_str(&filled).unwrap_or(config)
    }

    /// A reason to skip when the runtime's `features` says it does not support what a case
    /// that expects success uses (features.md), or when the case judges `features` itself
    /// and the runtime has none.
    pub(super) fn unsupported(&self) -> Option<String> {
        let uses_features = self.case.steps.iter().any(|s| s.op == Op::Features)
            || self.case.config.to_string().contains("{features.");
        let Some(features) = self.ctx.target.features.as_ref() else {
            return uses_features.then(|| "the runtime has no features command".to_string());
        };
        let creates_ok = self
            .case
            .steps
            .iter()
            .find(|s| s.op == Op::Create && s.id == Target::Case)
            .is_some_and(|s| s.expect == Outcome::Ok);
        if !creates_ok {
            return None;
        }
        let config = self.config_of(false);
        if let Some(known) = features["linux"]["namespaces"].as_array() {
            for ns in config["linux"]["namespaces"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let t = &ns["type"];
                if !known.contains(t) {
                    return Some(format!("runtime's features does not list namespace {t}"));
                }
            }
        }
        // features.md "Linux": a feature whose `enabled` is false is unsupported.
        for (field, feature) in [
            ("seccomp", "seccomp"),
            ("apparmorProfile", "apparmor"),
            ("selinuxLabel", "selinux"),
        ] {
            let used = if field == "seccomp" {
                config["linux"]["seccomp"].is_object()
            } else {
                config["process"][field].is_string()
            };
            if used && features["linux"][feature]["enabled"] == Value::Bool(false) {
                return Some(format!("runtime's features says {feature} is not enabled"));
            }
        }
        if let (Some(known), Some(hooks)) =
            (features["hooks"].as_array(), config["hooks"].as_object())
        {
            for h in hooks.keys() {
                if !known.iter().any(|k| k == h.as_str()) {
                    return Some(format!("runtime's features does not list hook {h:?}"));
                }
            }
        }
        if let Some(known) = features["mountOptions"].as_array() {
            for m in config["mounts"].as_array().into_iter().flatten() {
                for o in m["options"].as_array().into_iter().flatten() {
                    // Only the spec's table of options; others are filesystem data.
                    let generic = o
                        .as_str()
                        .is_some_and(|s| !self.ctx.refs.mount_option(s).is_empty());
                    if generic && !known.contains(o) {
                        return Some(format!("runtime's features does not list mount option {o}"));
                    }
                }
            }
        }
        None
    }

    pub(super) fn call(&mut self, args: &[&str]) -> Option<Call> {
        self.calls += 1;
        let stem = format!(
            "call{:02}-{}",
            self.calls,
            args.first().copied().unwrap_or("")
        );
        match self
            .ctx
            .target
            .runtime
            .call(Some(&self.root), args, &self.dir, &stem)
        {
            Ok(c) => Some(c),
            Err(e) => {
                self.checks.push(Check::with(
                    format!("run {}", args.join(" ")),
                    Status::Error,
                    vec![],
                    "the runtime can be run",
                    e.to_string(),
                ));
                None
            }
        }
    }

    pub(super) fn container(&mut self, target: &Target) -> &mut Container {
        match target {
            Target::Second => &mut self.second,
            _ => &mut self.main,
        }
    }

    pub(super) fn id_of(&self, target: &Target) -> String {
        match target {
            Target::Case => self.main.id.clone(),
            Target::Second => self.second.id.clone(),
            Target::Unknown => self.unknown_id.clone(),
            Target::Missing => String::new(),
        }
    }
}

/// `ARGS ID EXTRA...`, or `ARGS` alone for a step with no id (`id = "missing"`).
pub(super) fn with_id<'a>(args: &[&'a str], id: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    if !id.is_empty() {
        v.push(id);
        v.extend_from_slice(extra);
    }
    v
}

impl Call {
    /// The command without the long paths: `create <id>`.
    pub fn command_short(&self) -> String {
        self.command
            .split(' ')
            .filter(|w| !w.starts_with('/'))
            .filter(|w| *w != "--bundle" && *w != "--pid-file")
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The major and minor of the block device the host's `/` is on (for throttle cases).
fn root_device() -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/") {
        Ok(m) => (
            u64::from(libc::major(m.dev())),
            u64::from(libc::minor(m.dev())),
        ),
        Err(_) => (0, 0),
    }
}
