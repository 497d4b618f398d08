//! The lifecycle steps of a case: each runtime call and what it must return, the `state`
//! checks, the exit status.

use super::case_run::with_id;
use super::*;
use crate::console::Console;

impl Run<'_> {
    /// Runs the steps; stops at the first step whose outcome is not what the case expects.
    ///
    /// A `create` expecting `any` that fails means the runtime refused the config up front
    /// (runtime.md "Create": it MAY validate): later steps expecting an error count as passed
    /// (the error came at create), steps expecting success are not judged.
    pub(super) fn steps(&mut self) {
        if !self.share_on_host() {
            return;
        }
        let steps = self.case.steps.clone();
        let mut refused_at_create = false;
        for (i, step) in steps.iter().enumerate() {
            if refused_at_create {
                let ids = if step.requirements.is_empty() {
                    self.case.file.requirements.clone()
                } else {
                    step.requirements.clone()
                };
                let (status, observed) = match step.expect {
                    Outcome::Error => (Status::Pass, "create already refused the config"),
                    Outcome::Any => continue,
                    Outcome::Ok => (Status::Skip, "not judged: create refused the config"),
                };
                self.checks.push(Check::with(
                    format!("step {}: {}", i + 1, step.op.as_str()),
                    status,
                    ids,
                    "",
                    observed,
                ));
                continue;
            }
            let before = self.checks.len();
            self.step(i + 1, step);
            if step.op == Op::Create
                && step.expect == Outcome::Any
                && !self.container(&step.id).created
            {
                refused_at_create = true;
            }
            let broke = self.checks[before..]
                .iter()
                .any(|c| matches!(c.status, Status::Fail | Status::Error));
            if broke {
                break;
            }
        }
        self.explicit_expectations();
    }

    /// `host_shared`: each path made a mount point of its own (a bind onto itself) and shared,
    /// in the runner's mount namespace. False (with an error check) when that fails.
    fn share_on_host(&mut self) -> bool {
        for rel in self.case.file.host_shared.clone() {
            let path = self.dir.join(&rel);
            let done = std::fs::create_dir_all(&path).and_then(|()| bind_shared(&path));
            match done {
                Ok(()) => self.host_mounts.push(path),
                Err(e) => {
                    self.checks.push(Check::with(
                        format!("make {rel} a shared mount on the host"),
                        Status::Error,
                        vec![],
                        "",
                        e.to_string(),
                    ));
                    return false;
                }
            }
        }
        true
    }

    pub(super) fn outcome(
        &mut self,
        n: usize,
        step: &Step,
        call: &Call,
        default: &[cite::Cite],
    ) -> bool {
        let mut ids = step.requirements.clone();
        if ids.is_empty() {
            ids = self.ctx.refs.all(default);
        }
        let what = format!("step {n}: {}", call.command_short());
        let (status, expected) = match step.expect {
            Outcome::Ok => (call.ok(), "success"),
            Outcome::Error => (!call.ok() && !call.timed_out, "an error"),
            Outcome::Any => (true, "success or an error"),
        };
        self.checks.push(Check::with(
            what,
            if status { Status::Pass } else { Status::Fail },
            ids,
            expected,
            call.summary(),
        ));
        status
    }

    pub(super) fn step(&mut self, n: usize, step: &Step) {
        let id = self.id_of(&step.id);
        match step.op {
            Op::Create => self.create(n, step, &id),
            Op::Start => {
                if let Some(call) = self.call(&with_id(&["start"], &id, &[])) {
                    self.outcome(n, step, &call, &[cite::PROCESS_RUN]);
                }
            }
            Op::State => {
                let Some(call) = self.call(&with_id(&["state"], &id, &[])) else {
                    return;
                };
                if !self.outcome(n, step, &call, &[cite::QUERY_STATE_RETURNS]) || !call.ok() {
                    return;
                }
                if let Some(status) = &step.status {
                    self.judge_state(&call.stdout, &step.id, status);
                }
            }
            Op::Kill => {
                let signal = step.signal.clone().unwrap_or_else(|| "KILL".into());
                if let Some(call) = self.call(&with_id(&["kill"], &id, &[&signal])) {
                    self.outcome(n, step, &call, &[cite::KILL_SENDS]);
                }
            }
            Op::Delete => {
                let flags: &[&str] = if step.force {
                    &["delete", "--force"]
                } else {
                    &["delete"]
                };
                let args = with_id(flags, &id, &[]);
                if let Some(call) = self.call(&args) {
                    let passed = self.outcome(n, step, &call, &[cite::DELETE_RESOURCES]);
                    if passed && call.ok() && matches!(step.id, Target::Case | Target::Second) {
                        self.container(&step.id).deleted = true;
                    }
                }
            }
            Op::Wait => self.wait(n, step),
            Op::Features => self.features(n, step),
            Op::Observe => self.observe(n, &step.id),
            Op::Edit => self.edit_config(n, &step.id),
            Op::File => {
                let rel = step.path.clone().unwrap_or_default();
                let seen = std::fs::read_to_string(self.dir.join(&rel)).unwrap_or_default();
                let ids = if step.requirements.is_empty() {
                    self.case.file.requirements.clone()
                } else {
                    step.requirements.clone()
                };
                self.checks.push(Check::compare(
                    format!("step {n}: file {rel}"),
                    ids,
                    step.content.clone().unwrap_or_default(),
                    seen,
                ));
            }
        }
    }

    /// `features`: the output against `schema/features-schema.json`, ociVersionMin <=
    /// ociVersionMax, and no top-level or `linux` property the spec does not define.
    pub(super) fn features(&mut self, n: usize, step: &Step) {
        let Some(call) = self.call(&["features"]) else {
            return;
        };
        let ids = if step.requirements.is_empty() {
            self.case.file.requirements.clone()
        } else {
            step.requirements.clone()
        };
        let value: Value = match serde_json::from_str(&call.stdout) {
            Ok(v) if call.ok() => v,
            _ => {
                self.checks.push(Check::with(
                    format!("step {n}: features prints JSON"),
                    Status::Fail,
                    ids,
                    "a JSON object",
                    call.summary(),
                ));
                return;
            }
        };
        let violations = runtime_spec::validate(runtime_spec::Schema::Features, &value)
            .err()
            .unwrap_or_default();
        self.checks.push(Check::with(
            "features validates against schema/features-schema.json",
            if violations.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            ids.clone(),
            "no violation",
            violations.join("; "),
        ));
        let (min, max) = (
            value["ociVersionMin"].as_str(),
            value["ociVersionMax"].as_str(),
        );
        let ordered = match (min.and_then(parse_version), max.and_then(parse_version)) {
            (Some(a), Some(b)) => a <= b,
            _ => false,
        };
        self.checks.push(Check::with(
            "features: ociVersionMax is not less than ociVersionMin",
            if ordered { Status::Pass } else { Status::Fail },
            ids.clone(),
            "min <= max",
            format!("{min:?} .. {max:?}"),
        ));
        const TOP: [&str; 6] = [
            "ociVersionMin",
            "ociVersionMax",
            "hooks",
            "mountOptions",
            "annotations",
            "potentiallyUnsafeConfigAnnotations",
        ];
        const LINUX: [&str; 9] = [
            "namespaces",
            "capabilities",
            "cgroup",
            "seccomp",
            "apparmor",
            "selinux",
            "intelRdt",
            "mountExtensions",
            "netDevices",
        ];
        let mut unknown: Vec<String> = value
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !TOP.contains(&k.as_str()) && k.as_str() != "linux")
            .map(|(k, _)| k.clone())
            .collect();
        unknown.extend(
            value["linux"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !LINUX.contains(&k.as_str()) && k.as_str() != "memoryPolicy")
                .map(|(k, _)| format!("linux.{k}")),
        );
        self.checks.push(Check::with(
            "features: only properties the spec defines",
            if unknown.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            ids,
            "none other",
            unknown.join(", "),
        ));
    }

    /// Rewrites config.json after create: another program, another environment.
    pub(super) fn edit_config(&mut self, n: usize, target: &Target) {
        let c = self.container(target);
        let mut edited = c.config.clone();
        edited["process"]["args"] = serde_json::json!([bundle::PROBE_PATH, "exit:42"]);
        edited["process"]["env"] = serde_json::json!(["OCIKIT_EDITED=1"]);
        let path = c.bundle.join("config.json");
        if let Err(e) = std::fs::write(&path, edited.to_string()) {
            self.checks.push(Check::with(
                format!("step {n}: edit config.json"),
                Status::Error,
                vec![],
                "",
                e.to_string(),
            ));
        }
    }

    pub(super) fn create(&mut self, n: usize, step: &Step, id: &str) {
        let target = step.id.clone();
        let second = target == Target::Second;
        let already = self.container(&target).created;
        let config = self.config_of(second);
        let c = self.container(&target);
        let bundle = c.bundle.clone();
        if bundle.as_os_str().is_empty() {
            self.checks.push(Check::with(
                format!("step {n}: create"),
                Status::Error,
                vec![],
                "a [second] table in the case for id = \"second\"",
                "none",
            ));
            return;
        }
        c.config = config.clone();
        let config_path = bundle.join("config.json");
        if let Err(e) = std::fs::write(&config_path, config.to_string()) {
            self.checks.push(Check::with(
                "write config.json",
                Status::Error,
                vec![],
                "",
                e.to_string(),
            ));
            return;
        }
        let pid_file = self
            .dir
            .join(format!("{}.pid", if id.is_empty() { "noid" } else { id }));
        self.calls += 1;
        // Each create gets its own output files: a second create with the same id must not
        // truncate the file the first container's process writes to.
        let stem = format!(
            "{}-create{:02}",
            if second { "bundle2" } else { "bundle" },
            self.calls
        );
        let bundle_s = bundle.display().to_string();
        let pid_s = pid_file.display().to_string();
        let mut args = vec!["create", "--bundle", &bundle_s, "--pid-file", &pid_s];
        // A terminal comes back over runc's console socket (config.md "Process": terminal).
        let console = if config["process"]["terminal"].as_bool() == Some(true) {
            let socket = self.dir.join(format!("{stem}.sock"));
            match Console::listen(
                &socket,
                &self.dir.join(format!("{stem}.tty")),
                self.ctx.opts.timeout,
            ) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.checks.push(Check::with(
                        "listen on the console socket",
                        Status::Error,
                        vec![],
                        socket.display().to_string(),
                        e.to_string(),
                    ));
                    return;
                }
            }
        } else {
            None
        };
        let socket_s = console.as_ref().map(|c| c.socket.display().to_string());
        if let Some(s) = &socket_s {
            args.extend(["--console-socket", s.as_str()]);
        }
        let call = match self.ctx.target.runtime.call(
            Some(&self.root),
            &with_id(&args, id, &[]),
            &self.dir,
            &stem,
        ) {
            Ok(c) => c,
            Err(e) => {
                self.checks.push(Check::with(
                    "run create",
                    Status::Error,
                    vec![],
                    "",
                    e.to_string(),
                ));
                return;
            }
        };
        self.outcome(n, step, &call, &[cite::CREATE_NEW]);
        if call.ok() && !already {
            let pid = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            let out = match &console {
                Some(c) => c.output.clone(),
                None => self.dir.join(format!("{stem}.out")),
            };
            let c = self.container(&target);
            c.created = true;
            c.pid = pid;
            c.process = pid.map(observe::Proc::seen);
            c.stdout = out;
            let stdout = c.stdout.clone();
            // The user program must not have run yet (runtime.md "Lifecycle" step 2, "Create").
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            self.checks.push(Check::with(
                "after create, the user program has not run",
                if printed.trim().is_empty() {
                    Status::Pass
                } else {
                    Status::Fail
                },
                self.ctx
                    .refs
                    .all(&[cite::LIFECYCLE_NOT_RUN, cite::ARGS_NOT_BEFORE_START]),
                "no output from the probe",
                printed.chars().take(120).collect::<String>(),
            ));
        }
        if !call.ok() && !already && matches!(target, Target::Case | Target::Second) {
            // A failed create leaves no container behind (runtime.md "Create", "Errors").
            if let Some(state) = self.call(&["state", id]) {
                self.checks.push(Check::with(
                    "after a failed create, state knows no such container",
                    if state.ok() {
                        Status::Fail
                    } else {
                        Status::Pass
                    },
                    self.ctx
                        .refs
                        .all(&[cite::CREATE_CANNOT_APPLY, cite::ERRORS_NO_TRACE]),
                    "an error",
                    state.summary(),
                ));
            }
        }
    }

    /// Checks a `state` output; at `running`, the pid is the user program (runtime.md "State").
    pub(super) fn judge_state(&mut self, stdout: &str, target: &Target, status: &str) {
        let bundle = self.container(target).bundle.display().to_string();
        let id = self.id_of(target);
        let annotations = self.container(target).config.get("annotations").cloned();
        let want = state::Expected {
            id: &id,
            status,
            bundle: &bundle,
            annotations: annotations.as_ref(),
        };
        let (checks, pid) = state::check(stdout, &want, self.ctx.refs);
        self.checks.extend(checks);
        let c = self.container(target);
        let live = matches!(status, "created" | "running");
        if let (Some(pid), Some(known), true) = (pid, c.pid, live) {
            let same = pid == known;
            self.checks.push(Check::with(
                "state.pid is the pid written to --pid-file",
                if same { Status::Pass } else { Status::Fail },
                self.ctx.refs.ids(cite::STATE_PID),
                known.to_string(),
                pid.to_string(),
            ));
        }
    }

    pub(super) fn wait(&mut self, n: usize, step: &Step) {
        let timeout = self.ctx.opts.timeout;
        let c = self.container(&step.id);
        let Some(process) = c.process else {
            self.checks.push(Check::with(
                format!("step {n}: wait"),
                Status::Error,
                vec![],
                "a container pid (from --pid-file)",
                "none",
            ));
            return;
        };
        let exit = observe::wait_exit(process, timeout);
        c.exited = !matches!(exit, Exit::TimedOut);
        let mut ids = step.requirements.clone();
        if ids.is_empty() {
            ids = self.ctx.refs.all(&[cite::KILL_SENDS, cite::PROCESS_RUN]);
        }
        match (exit, step.exit_code) {
            (Exit::TimedOut, _) => self.checks.push(Check::with(
                format!("step {n}: the container process exits"),
                Status::Fail,
                ids,
                format!("an exit within {}s", timeout.as_secs()),
                "still running",
            )),
            (Exit::Gone, Some(_)) => self.checks.push(Check::with(
                format!("step {n}: exit status"),
                Status::Error,
                ids,
                "the container process reparented to the runner (subreaper)",
                "it exited elsewhere: status unknown",
            )),
            (Exit::Status(code), Some(want)) => self.checks.push(Check::compare(
                format!("step {n}: exit status"),
                ids,
                want,
                code,
            )),
            _ => {}
        }
    }
}

/// `mount --bind P P && mount --make-shared P`.
fn bind_shared(path: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: mount(2) on a NUL-terminated path we made, no data.
    let rc = unsafe {
        libc::mount(
            c.as_ptr(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above; only the propagation type changes.
    let rc = unsafe {
        libc::mount(
            std::ptr::null(),
            c.as_ptr(),
            std::ptr::null(),
            libc::MS_SHARED,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
