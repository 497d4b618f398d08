//! The detail pane: everything known about the selected process, container or cgroup.

use crate::dump::cpu_quota;
use crate::format;
use crate::model::namespaces;
use crate::model::tree::Item;
use crate::model::{containers, Container, Freezer, Snapshot};
use crate::ui::app::App;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

fn key(k: &str) -> Span<'static> {
    Span::styled(format!("{k:<10}"), Style::default().fg(Color::Cyan))
}

fn kv(k: &str, v: impl Into<String>) -> Line<'static> {
    Line::from(vec![key(k), Span::raw(v.into())])
}

fn section(title: &str) -> Line<'static> {
    Line::from(Span::styled(
        title.to_string(),
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    ))
}

fn render(frame: &mut Frame, area: Rect, title: String, lines: Vec<Line<'static>>) {
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(p, area);
}

/// The selected row of the tree: a process (with its container) or a container.
pub fn draw_tree_selection(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else {
        render(
            frame,
            area,
            " detail ".into(),
            vec![Line::from("reading /proc…")],
        );
        return;
    };
    match app.selected_item {
        Some(Item::Process(pid)) => {
            let mut lines = Vec::new();
            let exec_of = crate::model::tree::exec_shims(s).get(&pid).copied();
            if let Some(ci) = exec_of {
                lines.push(Line::from(Span::styled(
                    format!(
                        "exec session of container {}",
                        s.containers[ci].display_name()
                    ),
                    Style::default().fg(Color::Yellow),
                )));
            }
            let c = s
                .container_of(pid)
                .or_else(|| s.containers.iter().find(|c| c.shim_pid == Some(pid)))
                .or(exec_of.map(|ci| &s.containers[ci]));
            if let Some(c) = c {
                if s.container_of(pid).is_some_and(|c| {
                    c.init_pid != Some(pid)
                        && s.process(pid)
                            .is_some_and(|p| c.pids.binary_search(&p.ppid).is_err())
                }) {
                    lines.push(Line::from(Span::styled(
                        format!("exec session in container {}", c.display_name()),
                        Style::default().fg(Color::Yellow),
                    )));
                }
                lines.extend(container_lines(s, c));
            }
            lines.push(section("process"));
            lines.extend(process_lines(s, pid));
            render(frame, area, format!(" pid {pid} "), lines);
        }
        Some(Item::Pod(i)) => {
            let lines = s.pods.get(i).map(|p| pod_lines(s, p)).unwrap_or_default();
            render(frame, area, " pod ".into(), lines);
        }
        Some(Item::Container(i)) => {
            let lines = s
                .containers
                .get(i)
                .map(|c| container_lines(s, c))
                .unwrap_or_default();
            render(frame, area, " container ".into(), lines);
        }
        None => render(frame, area, " detail ".into(), vec![]),
    }
}

fn process_lines(s: &Snapshot, pid: u32) -> Vec<Line<'static>> {
    let Some(p) = s.process(pid) else {
        return vec![Line::from("gone")];
    };
    let mut lines = vec![
        kv("command", p.command()),
        kv("comm", p.comm.to_string()),
        kv(
            "ppid",
            format!(
                "{} {}",
                p.ppid,
                s.process(p.ppid)
                    .map_or(String::new(), |q| q.comm.to_string())
            ),
        ),
        kv("state", p.state.to_string()),
        kv(
            "uid",
            p.uids.map_or("?".into(), |u| {
                format!(
                    "{} (eff {}, saved {}, fs {})",
                    u.real, u.effective, u.saved, u.fs
                )
            }),
        ),
        kv(
            "gid",
            p.gids.map_or("?".into(), |g| {
                format!(
                    "{} (eff {}, saved {}, fs {})",
                    g.real, g.effective, g.saved, g.fs
                )
            }),
        ),
        kv(
            "started",
            match format::start_time(s, p.start_ticks) {
                Some(t) => format!("{} (tick {})", clock(t), p.start_ticks),
                None => format!("tick {}", p.start_ticks),
            },
        ),
        kv(
            "threads",
            format!(
                "{}   rss {}",
                format::opt(p.threads),
                p.rss_kib.map_or("?".into(), |k| format::bytes(k * 1024))
            ),
        ),
    ];
    lines.push(section("namespaces (entered at)"));
    for e in namespaces::entered(s, pid) {
        let at = match (e.inode, e.at_pid) {
            (None, _) => String::new(),
            (Some(_), None) => "host / inherited".into(),
            (Some(_), Some(a)) if a == pid => "here".into(),
            (Some(_), Some(a)) => format!(
                "pid {a} {}",
                s.process(a).map_or(String::new(), |q| q.comm.to_string())
            ),
        };
        lines.push(Line::from(vec![
            key(e.kind.name()),
            Span::raw(format!("{:<12} {at}", format::opt(e.inode))),
        ]));
    }
    lines.push(section("cgroups"));
    match &p.cgroups {
        None => lines.push(Line::from("?")),
        Some(cg) => {
            // One line per distinct path, naming the hierarchies that put it there.
            let mut paths: Vec<(&str, Vec<&str>)> = Vec::new();
            for l in cg.iter() {
                let name = if l.controllers.is_empty() {
                    "v2"
                } else {
                    l.controllers.as_str()
                };
                match paths.iter_mut().find(|(p, _)| *p == l.path) {
                    Some((_, names)) => names.push(name),
                    None => paths.push((l.path.as_str(), vec![name])),
                }
            }
            for (path, names) in paths {
                lines.push(Line::from(vec![
                    Span::raw(path.to_string()),
                    Span::styled(
                        format!("  ({})", names.join(",")),
                        Style::default().fg(Color::DarkGray),
                    ),
                ]));
            }
        }
    }
    lines
}

fn container_lines(s: &Snapshot, c: &Container) -> Vec<Line<'static>> {
    let mut lines = vec![section("container"), kv("id", c.id.clone())];
    if let Some(n) = &c.name {
        lines.push(kv("name", n.clone()));
    }
    if let Some(e) = &c.engine {
        lines.push(kv("engine", e.clone()));
    }
    if let Some(pod) = &c.pod {
        let name = s
            .pod(pod)
            .map_or_else(|| format::short_id(pod).to_string(), format::pod_name);
        let role = if c.sandbox { " (its sandbox)" } else { "" };
        lines.push(kv("pod", format!("{name}{role}")));
    }
    lines.push(kv("runtime", c.runtime.clone()));
    if let Some(ns) = &c.namespace {
        lines.push(kv("ctrd ns", ns.clone()));
    }
    let mut status = c.status.as_str().to_string();
    if let Some(d) = containers::declared_disagrees(c) {
        status.push_str(&format!(" (state file: {d})"));
    }
    if c.in_vm {
        status.push_str(" (in VM: as its runtime recorded)");
    }
    lines.push(kv("status", status));
    if let Some(f) = c.freezer {
        let f = match f {
            Freezer::Thawed => "thawed",
            Freezer::Freezing => "freezing: not every task has stopped yet",
            Freezer::Frozen => "frozen",
        };
        lines.push(kv("freezer", f));
    }
    if let Some(r) = &c.stale_reason {
        lines.push(Line::from(Span::styled(
            format!("stale: {r}"),
            Style::default().fg(Color::Red),
        )));
        let now = s.host.taken_at;
        let gone = match c.gone_since {
            Some(t) if now > 0 => format!(
                "exited {} ago (last seen alive at {})",
                format::ago(now, t),
                clock(t)
            ),
            _ => "exited before ocitop started".into(),
        };
        lines.push(kv("exited", gone));
    }
    lines.push(kv("init", format::opt(c.init_pid)));
    if let Some(t) = c.started_at {
        let ago = if s.host.taken_at > 0 {
            format!(" ({} ago)", format::ago(s.host.taken_at, t))
        } else {
            String::new()
        };
        lines.push(kv("started", format!("{}{ago}", clock(t))));
    }
    lines.push(kv(
        "shim",
        c.shim_pid
            .map(|p| {
                let label = s.shim(p).map(format::shim_label).unwrap_or_default();
                format!("{p} {label}")
            })
            .unwrap_or_else(|| "none".into()),
    ));
    lines.push(kv("processes", c.pids.len().to_string()));
    let execs: Vec<String> = crate::model::tree::exec_shims(s)
        .iter()
        .filter(|(_, &ci)| s.containers.get(ci).is_some_and(|x| x.id == c.id))
        .map(|(pid, _)| format!("{pid} (conmon)"))
        .chain(c.pids.iter().filter_map(|&pid| {
            let p = s.process(pid)?;
            (c.init_pid != Some(pid) && c.pids.binary_search(&p.ppid).is_err())
                .then(|| pid.to_string())
        }))
        .collect();
    if !execs.is_empty() {
        lines.push(kv("exec", execs.join(", ")));
    }
    lines.push(kv(
        "state dir",
        c.state_dir.clone().unwrap_or_else(|| "?".into()),
    ));
    lines.push(kv("bundle", c.bundle.clone().unwrap_or_else(|| "?".into())));
    lines.push(kv("rootfs", c.rootfs.clone().unwrap_or_else(|| "?".into())));
    lines.push(kv(
        "created",
        c.created.clone().unwrap_or_else(|| "?".into()),
    ));
    lines.push(kv("cgroup", c.cgroup.clone().unwrap_or_else(|| "?".into())));
    for (k, v) in &c.annotations {
        lines.push(kv("annot.", format!("{k}={v}")));
    }
    lines
}

fn pod_lines(s: &Snapshot, p: &crate::model::Pod) -> Vec<Line<'static>> {
    let mut lines = vec![section("pod")];
    if let Some(n) = &p.name {
        lines.push(kv("name", n.clone()));
    }
    if let Some(ns) = &p.namespace {
        lines.push(kv("k8s ns", ns.clone()));
    }
    lines.push(kv("engine", p.engine.clone()));
    lines.push(kv("id", p.id.clone()));
    if let Some(vm) = &p.vm {
        lines.push(section("VM sandbox"));
        lines.push(kv(
            "VM",
            format!(
                "{} pid {}",
                vm.hypervisor.as_deref().unwrap_or("?"),
                format::opt(vm.pid)
            ),
        ));
        lines.push(kv("virtiofsd", format::opt(vm.virtiofsd_pid)));
        lines.push(kv("state", vm.state.clone().unwrap_or_else(|| "?".into())));
    }
    lines.push(section("containers"));
    for id in &p.containers {
        let Some(c) = s.containers.iter().find(|c| &c.id == id) else {
            continue;
        };
        let role = if c.sandbox { " (sandbox)" } else { "" };
        let name = c.name.as_deref().unwrap_or_else(|| format::short_id(&c.id));
        lines.push(Line::from(format!("{:<8} {name}{role}", c.status.as_str())));
    }
    lines
}

/// The selected cgroup: where it exists, usage and limits, its processes.
pub fn draw_cgroup(frame: &mut Frame, area: Rect, app: &App) {
    let (Some(s), Some(path)) = (&app.snapshot, &app.selected_cgroup) else {
        render(frame, area, " cgroup ".into(), vec![]);
        return;
    };
    let Some(c) = s.cgroup(path) else {
        render(frame, area, " cgroup ".into(), vec![Line::from("gone")]);
        return;
    };
    let st = &c.stats;
    let mut lines = vec![
        kv("path", c.path.clone()),
        kv(
            "in",
            c.hierarchies
                .iter()
                .map(|h| if h.is_empty() { "(v2)" } else { h.as_str() })
                .collect::<Vec<_>>()
                .join(", "),
        ),
        kv(
            "memory",
            format!(
                "{} of {}",
                st.memory_current.map_or("?".into(), format::bytes),
                format::limit_bytes(st.memory_max)
            ),
        ),
        kv(
            "cpu",
            format!(
                "quota {}, used {}",
                cpu_quota(st),
                st.cpu_usage_us
                    .map_or("?".into(), |u| format!("{:.1}s", u as f64 / 1e6))
            ),
        ),
        kv(
            "pids",
            format!(
                "{} of {}",
                format::opt(st.pids_current),
                format::limit_count(st.pids_max)
            ),
        ),
        kv(
            "io",
            format!(
                "read {}, written {}",
                st.io_read_bytes.map_or("?".into(), format::bytes),
                st.io_write_bytes.map_or("?".into(), format::bytes)
            ),
        ),
        section("processes"),
    ];
    for p in s.processes.iter().filter(|p| {
        p.cgroups
            .as_ref()
            .is_some_and(|ls| ls.iter().any(|l| &l.path == path))
    }) {
        lines.push(Line::from(format!("{:>7} {}", p.pid, p.command())));
    }
    render(frame, area, " cgroup ".into(), lines);
}

/// Seconds since the epoch as a UTC date and time.
fn clock(t: u64) -> String {
    let days = t / 86400;
    let secs = t % 86400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn clock_text() {
        assert_eq!(super::clock(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::clock(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
