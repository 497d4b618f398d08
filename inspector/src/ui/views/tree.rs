//! The process tree view: shim → container init → children (host processes folded unless
//! asked for), with each row's pid, state, CPU, memory and container.

use super::visible;
use crate::format;
use crate::model::tree::{self, Item};
use crate::model::Status;
use crate::ui::app::App;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let title = if app.tree_opts.show_host {
        " processes (all) "
    } else {
        " containers (a: show host) "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(s) = app.snapshot.as_ref() else {
        return;
    };
    let rows = tree::rows(s, &app.tree_opts);
    let header_area = Rect { height: 1, ..inner };
    let list = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let (offset, height) = visible(app, list);
    let Some(s) = app.snapshot.as_ref() else {
        return;
    };
    let selected = app.selected[0];
    let widths = [
        Constraint::Length(7),
        Constraint::Length(1),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(18),
        Constraint::Min(20),
    ];
    let header = Row::new(["PID", "S", "CPU%", "RSS", "CONTAINER", "COMMAND"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new([header], widths), header_area);
    if rows.is_empty() {
        let hint = if app.filter.is_empty() {
            "no containers found (a: show host processes)"
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(
            ratatui::widgets::Paragraph::new(hint).style(Style::default().fg(Color::DarkGray)),
            list,
        );
        return;
    }
    let lines = rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let mut row = match r.item {
                Item::Process(pid) => {
                    let p = s.process(pid);
                    let container = s.container_of(pid);
                    let is_shim = s.shim(pid).is_some();
                    let is_init = container.is_some_and(|c| c.init_pid == Some(pid));
                    let mut cmd = format!(
                        "{}{}",
                        r.prefix,
                        p.map_or("?".into(), |p| if is_shim {
                            format::shim_command(p)
                        } else {
                            p.command()
                        })
                    );
                    if r.folded {
                        cmd.push_str(" [+]");
                    }
                    let style = if is_shim {
                        Style::default().fg(Color::Magenta)
                    } else if is_init {
                        Style::default()
                            .fg(Color::Green)
                            .add_modifier(Modifier::BOLD)
                    } else if container.is_some() {
                        Style::default().fg(Color::Green)
                    } else {
                        Style::default()
                    };
                    let cname = if is_shim {
                        s.shim(pid)
                            .and_then(|sh| sh.id.as_deref())
                            .map(|id| format!("[{}]", format::short_id(id)))
                            .unwrap_or_default()
                    } else {
                        container.map_or(String::new(), |c| format::short_id(&c.id).to_string())
                    };
                    Row::new(vec![
                        pid.to_string(),
                        p.map_or("?".into(), |p| p.state.to_string()),
                        app.cpu_percent(pid)
                            .map_or(String::new(), |c| format!("{c:.1}")),
                        p.and_then(|p| p.rss_kib)
                            .map_or("?".into(), |k| format::bytes(k * 1024)),
                        cname,
                        cmd,
                    ])
                    .style(style)
                }
                Item::Container(ci) => {
                    let c = &s.containers[ci];
                    let style = if c.status == Status::Stale {
                        Style::default().fg(Color::Red)
                    } else {
                        Style::default().fg(Color::DarkGray)
                    };
                    Row::new(vec![
                        format::opt(c.init_pid),
                        String::new(),
                        String::new(),
                        String::new(),
                        format::short_id(&c.id).to_string(),
                        format!(
                            "{} {} {}",
                            c.status.as_str(),
                            c.runtime,
                            c.stale_reason.as_deref().unwrap_or("")
                        ),
                    ])
                    .style(style)
                }
            };
            if i == selected {
                row = row.style(Style::default().bg(Color::Blue).fg(Color::White));
            }
            row
        });
    frame.render_widget(Table::new(lines, widths), list);
}
