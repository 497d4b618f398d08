//! The process tree view: pod → shim → container init → children (host processes folded
//! unless asked for), with each row's pid, state, CPU, memory and container. On a narrow
//! terminal the columns give way by priority ([`columns`]); a pid is never cut.

use super::columns::{self, Column};
use super::visible;
use crate::format;
use crate::model::tree::{Item, SortBy};
use crate::model::Status;
use crate::ui::app::App;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let sort = match (app.tree_opts.sort, app.tree_opts.reverse) {
        (SortBy::Pid, false) => String::new(),
        (by, reverse) => format!(" · by {}{}", by.name(), if reverse { " ↺" } else { "" }),
    };
    let title = if app.tree_opts.show_host {
        format!(" processes (all){sort} ")
    } else {
        format!(" containers (a: show host){sort} ")
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.snapshot.is_none() {
        return;
    }
    let rows = app.tree_rows();
    let header_area = Rect { height: 1, ..inner };
    let list = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let (offset, height) = visible(app, list, rows.len());
    let Some(s) = app.snapshot.as_ref() else {
        return;
    };
    // As wide as the widest pid in view: a pid is never cut.
    let pid_width = rows
        .iter()
        .filter_map(|r| match r.item {
            Item::Process(pid) => Some(pid),
            Item::Container(i) => s.containers.get(i).and_then(|c| c.init_pid),
            Item::Pod(_) => None,
        })
        .map(|p| p.to_string().len() as u16)
        .max()
        .unwrap_or(3)
        .max(3);
    let mark = |by: SortBy, title: &'static str, marked: &'static str| {
        if app.tree_opts.sort == by {
            marked
        } else {
            title
        }
    };
    // Giving way on a narrow terminal: the state letter first, then memory, then the
    // container column shrinks, then CPU goes, then the container column; the pid never.
    let cols = [
        Column::fixed(mark(SortBy::Pid, "PID", "PID▲"), pid_width.max(4), 0),
        Column::fixed("S", 1, 50),
        Column::fixed(mark(SortBy::Cpu, "CPU%", "CPU%▼"), 5, 30),
        Column::fixed(mark(SortBy::Memory, "RSS", "RSS▼"), 6, 40),
        Column {
            title: "CONTAINER",
            width: 18,
            min: 8,
            shrink_order: 35,
            drop_order: 20,
        },
        Column {
            title: "COMMAND",
            width: 28,
            min: 28,
            shrink_order: 0,
            drop_order: 0,
        },
    ];
    let widths = columns::fit(&cols, inner.width);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    for (cell, c) in columns::cells(&widths, header_area).iter().zip(&cols) {
        if let Some(cell) = cell {
            frame.render_widget(Paragraph::new(c.title).style(bold), *cell);
        }
    }
    if rows.is_empty() {
        let hint = if app.filter.is_empty() {
            "no containers found (a: show host processes)"
        } else {
            "nothing matches the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(hint).style(Style::default().fg(Color::DarkGray)),
            list,
        );
        return;
    }
    let selected = app.selected[0];
    for (line, (i, r)) in rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let fold = if r.folded { "[+] " } else { "" };
        let (texts, style): ([String; 6], Style) = match r.item {
            Item::Process(pid) => {
                let p = s.process(pid);
                let container = s.container_of(pid);
                let shim = s.shim(pid);
                let is_init = container.is_some_and(|c| c.init_pid == Some(pid));
                let command = p.map_or("?".into(), |p| {
                    if shim.is_some() {
                        format::shim_command(p)
                    } else {
                        p.command()
                    }
                });
                let style = if shim.is_some() {
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
                // The container a shim is named after (a CRI shim: the pod's sandbox).
                let held = shim.and_then(|sh| {
                    s.containers
                        .iter()
                        .find(|c| sh.id.as_deref() == Some(c.id.as_str()))
                        .or_else(|| s.containers.iter().find(|c| c.shim_pid == Some(pid)))
                });
                let cname = match (container, held) {
                    (Some(c), _) => short_name(c),
                    (None, Some(c)) => format!("[{}]", short_name(c)),
                    (None, None) => String::new(),
                };
                (
                    [
                        pid.to_string(),
                        p.map_or("?".into(), |p| p.state.to_string()),
                        app.cpu_percent(pid)
                            .map_or(String::new(), |c| format!("{c:.1}")),
                        p.and_then(|p| p.rss_kib)
                            .map_or("?".into(), |k| format::bytes(k * 1024)),
                        cname,
                        format!("{}{fold}{command}", r.prefix),
                    ],
                    style,
                )
            }
            Item::Container(ci) => {
                let c = &s.containers[ci];
                let style = match c.status {
                    Status::Stale => Style::default().fg(Color::Red),
                    _ if c.in_vm => Style::default().fg(Color::Green),
                    _ => Style::default().fg(Color::DarkGray),
                };
                (
                    [
                        c.init_pid.map(|p| p.to_string()).unwrap_or_default(),
                        String::new(),
                        String::new(),
                        String::new(),
                        short_name(c),
                        format!("{}{}", r.prefix, format::container_line(s, c)),
                    ],
                    style,
                )
            }
            Item::Pod(pi) => {
                let pod = &s.pods[pi];
                (
                    [
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        format!("{}{fold}{}", r.prefix, format::pod_line(pod)),
                    ],
                    Style::default()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::BOLD),
                )
            }
        };
        let style = if i == selected {
            Style::default().bg(Color::Blue).fg(Color::White)
        } else {
            style
        };
        let row_area = Rect {
            y: list.y + line as u16,
            height: 1,
            ..list
        };
        frame.buffer_mut().set_style(row_area, style);
        for (cell, text) in columns::cells(&widths, row_area).iter().zip(texts) {
            if let Some(cell) = cell {
                frame.render_widget(Paragraph::new(text).style(style), *cell);
            }
        }
    }
}

/// A container's name for the narrow CONTAINER column: the engine's name, else the id cut
/// like docker ps.
fn short_name(c: &crate::model::Container) -> String {
    c.name
        .clone()
        .unwrap_or_else(|| format::short_id(&c.id).to_string())
}
