//! What the container shows: the probe's report, `/proc/<pid>` from outside, the generic
//! checks, and the case's explicit `[expect]` table.

use super::*;

impl Run<'_> {
    /// Waits for the probe's report, reads `/proc/<pid>` from outside, runs the generic checks.
    pub(super) fn observe(&mut self, n: usize, target: &Target) {
        let timeout = self.ctx.opts.timeout;
        let stdout = self.container(target).stdout.clone();
        let started = Instant::now();
        let report = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("\"version\"")) {
                match serde_json::from_str::<Report>(line) {
                    Ok(r) => break Some(r),
                    Err(e) if text.ends_with('\n') => {
                        self.checks.push(Check::with(
                            format!("step {n}: the probe's report parses"),
                            Status::Error,
                            vec![],
                            "a report of this probe version",
                            e.to_string(),
                        ));
                        return;
                    }
                    Err(_) => {}
                }
            }
            if started.elapsed() >= timeout {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let Some(report) = report else {
            let err = std::fs::read_to_string(stdout.with_extension("err")).unwrap_or_default();
            self.checks.push(Check::with(
                format!("step {n}: the user program runs and reports"),
                Status::Fail,
                self.ctx.refs.ids(cite::PROCESS_RUN),
                "the probe's report on stdout",
                format!(
                    "nothing within {}s; stderr: {}",
                    timeout.as_secs(),
                    err.trim()
                ),
            ));
            return;
        };
        // The state while running, and the pid it names, read from outside.
        let id = self.id_of(target);
        if let Some(call) = self.call(&["state", &id]) {
            if call.ok() {
                self.judge_state(&call.stdout, target, "running");
            } else {
                self.checks.push(Check::with(
                    "state of a running container",
                    Status::Fail,
                    self.ctx.refs.ids(cite::QUERY_STATE_RETURNS),
                    "success",
                    call.summary(),
                ));
            }
        }
        let all_checks = self.case.file.all_checks;
        let setup = self.case.file.setup.clone();
        let c = self.container(target);
        let pid = c.pid.unwrap_or_default();
        let proc_cgroup = if pid > 0 {
            std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default()
        } else {
            String::new()
        };
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let outside = Outside {
            pid,
            namespaces: if pid > 0 {
                observe::namespaces(&pid.to_string())
            } else {
                Default::default()
            },
            cgroup: proc_cgroup.lines().map(str::to_string).collect(),
            cgroup_files: checks::cgroups::read_files(
                Path::new("/"),
                &mountinfo,
                &proc_cgroup,
                &c.config["linux"]["resources"],
            ),
            host_mounts: vec![],
        };
        c.report = Some(report.clone());
        let config = c.config.clone();
        let scope = Scope {
            setup,
            ..Scope::of_fragment(&c.fragment, all_checks)
        };
        let input = checks::Input {
            field: "",
            config: &config,
            report: &report,
            outside: &outside,
            host: self.ctx.host,
            refs: self.ctx.refs,
        };
        self.checks.extend(checks::run(&input, &scope));
    }

    /// The case's `[expect]` table, against the main container's report.
    pub(super) fn explicit_expectations(&mut self) {
        let e = &self.case.file.expect;
        let nothing = e.writes.is_empty()
            && e.actions.is_empty()
            && e.syscalls.is_empty()
            && e.stats.is_empty()
            && e.env.is_empty()
            && e.mounts.is_empty()
            && e.host_namespaces.is_empty();
        if nothing {
            return;
        }
        let ids = self.case.file.requirements.clone();
        let Some(r) = self.main.report.clone() else {
            if !self.checks.iter().any(|c| c.status >= Status::Error) {
                self.checks.push(Check::with(
                    "[expect]",
                    Status::Error,
                    ids,
                    "an observe step before the expectations",
                    "no report",
                ));
            }
            return;
        };
        for (p, want) in &e.writes {
            out_cmp(
                &mut self.checks,
                format!("write {p}"),
                &ids,
                want,
                r.writes.get(p),
            );
        }
        for (step, want) in &e.actions {
            out_cmp(
                &mut self.checks,
                step.clone(),
                &ids,
                want,
                r.actions.get(step),
            );
        }
        for (key, want) in &e.syscalls {
            let seen = r.syscalls.get(key).map(|v| match want.strip_suffix(':') {
                Some(prefix) if v.starts_with(want.as_str()) => prefix.to_string() + ":",
                _ => v.clone(),
            });
            out_cmp(
                &mut self.checks,
                format!("syscall {key}"),
                &ids,
                want,
                seen.as_ref(),
            );
        }
        for (p, want) in &e.stats {
            let seen = r.stats.get(p).map(|s| {
                if s.starts_with('E') {
                    "absent".to_string()
                } else {
                    s.split(' ').next().unwrap_or_default().to_string()
                }
            });
            out_cmp(
                &mut self.checks,
                format!("stat {p}"),
                &ids,
                want,
                seen.as_ref(),
            );
        }
        for kv in &e.env {
            let seen = r.env.iter().find(|x| *x == kv);
            out_cmp(&mut self.checks, format!("env has {kv}"), &ids, kv, seen);
        }
        for (point, opts) in &e.mounts {
            let m = r.mounts.iter().rev().find(|m| &m.mount_point == point);
            let ok = m.is_some_and(|m| opts.iter().all(|o| m.mount_options.contains(o)));
            self.checks.push(Check::with(
                format!("mount {point} with {}", opts.join(",")),
                if ok { Status::Pass } else { Status::Fail },
                ids.clone(),
                opts.join(","),
                m.map(|m| m.mount_options.join(","))
                    .unwrap_or_else(|| "no mount".into()),
            ));
        }
        for ns in &e.host_namespaces {
            out_cmp(
                &mut self.checks,
                format!("{ns} namespace is the runtime's"),
                &ids,
                &self
                    .ctx
                    .host
                    .namespaces
                    .get(ns)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.namespaces.get(ns).map(|v| v.to_string()).as_ref(),
            );
        }
    }
}

fn out_cmp(
    checks: &mut Vec<Check>,
    what: String,
    ids: &[String],
    want: &str,
    seen: Option<&String>,
) {
    checks.push(Check::compare(
        what,
        ids.to_vec(),
        Some(want.to_string()),
        seen.cloned(),
    ));
}
