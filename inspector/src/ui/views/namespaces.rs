//! The namespaces view: the container × namespace-kind matrix (which they share with each
//! other and with the host), the lsns-like list (each namespace's containers, and the process longest in it as its
//! representative), and the members of the selected namespace.

use super::columns::{self, Column};
use super::visible;
use crate::dump::share_text;
use crate::format;
use crate::model::namespaces::{self, Share};
use crate::model::NsKind;
use crate::ui::app::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let n_containers = app.snapshot.as_ref().map_or(0, |s| s.containers.len()) as u16;
    let matrix_h = (n_containers + 3).min(area.height / 2).max(4);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(matrix_h), Constraint::Min(3)]).areas(area);
    // Side by side where both have room, else the list above its members.
    let [list, members] = if bottom.width >= 110 {
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom)
    };
    draw_matrix(frame, top, app);
    draw_list(frame, list, app);
    draw_members(frame, members, app);
}

/// The matrix's columns: the container, then a kind each; on a narrow terminal the kinds
/// containers share least go first (time, cgroup, user ...), and the title says so.
fn matrix_columns() -> Vec<Column> {
    let mut cols = vec![Column {
        title: "CONTAINER",
        width: 28,
        min: 12,
        shrink_order: 90,
        drop_order: 0,
    }];
    let order = |k: NsKind| match k {
        NsKind::Time => 80,
        NsKind::Cgroup => 75,
        NsKind::User => 70,
        NsKind::Uts => 65,
        NsKind::Ipc => 60,
        NsKind::Mnt => 55,
        NsKind::Pid => 50,
        NsKind::Net => 45,
    };
    cols.extend(NsKind::ALL.map(|k| Column::fixed(k.name(), 13, order(k))));
    cols.push(Column::fixed("", 0, 0));
    cols
}

fn draw_matrix(frame: &mut Frame, area: Rect, app: &App) {
    let cols = matrix_columns();
    let inner_width = area.width.saturating_sub(2);
    let widths = columns::fit(&cols, inner_width);
    let hidden = widths[1..=NsKind::ALL.len()]
        .iter()
        .filter(|w| w.is_none())
        .count();
    let title = if hidden > 0 {
        format!(" containers × namespaces ({hidden} kinds hidden: wider terminal) ")
    } else {
        " containers × namespaces (host = pid 1's, own, =name shared) ".to_string()
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(s) = &app.snapshot else { return };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let header = cols.iter().map(|c| (c.title.to_string(), bold)).collect();
    columns::draw_row(frame, &widths, Rect { height: 1, ..inner }, header);
    for (line, (c, cells)) in s
        .containers
        .iter()
        .zip(namespaces::matrix(s))
        .enumerate()
        .take(usize::from(inner.height.saturating_sub(1)))
    {
        let name = c
            .name
            .clone()
            .unwrap_or_else(|| format::short_id(&c.id).to_string());
        let mut texts = vec![(name, Style::default())];
        texts.extend(cells.iter().map(|cell| {
            let style = match cell {
                Share::Host => Style::default().fg(Color::DarkGray),
                Share::Own => Style::default().fg(Color::Green),
                Share::With(_) => Style::default().fg(Color::Yellow),
                Share::Unknown => Style::default().fg(Color::Red),
                Share::InVm => Style::default().fg(Color::Cyan),
            };
            (share_text(s, cell), style)
        }));
        let row = Rect {
            y: inner.y + 1 + line as u16,
            height: 1,
            ..inner
        };
        columns::draw_row(frame, &widths, row, texts);
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &mut App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" namespaces (lsns; PID: the process longest in it) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let list = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let count = app
        .snapshot
        .as_ref()
        .map_or(0, |s| app.namespace_rows(s).len());
    let (offset, height) = visible(app, list, count);
    let Some(s) = &app.snapshot else { return };
    let rows = app.namespace_rows(s);
    let pid_width = rows
        .iter()
        .map(|n| n.owner_pid.to_string().len() as u16)
        .max()
        .unwrap_or(3)
        .max(3);
    let cols = [
        Column::fixed("NS", 10, 0),
        Column::fixed("TYPE", 6, 0),
        Column::fixed("NPROCS", 6, 30),
        Column::fixed("PID", pid_width, 0),
        Column {
            title: "CONTAINER",
            width: 16,
            min: 8,
            shrink_order: 40,
            drop_order: 20,
        },
        Column {
            title: "COMMAND",
            width: 10,
            min: 10,
            shrink_order: 0,
            drop_order: 0,
        },
    ];
    let widths = columns::fit(&cols, inner.width);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let header = cols.iter().map(|c| (c.title.to_string(), bold)).collect();
    columns::draw_row(frame, &widths, Rect { height: 1, ..inner }, header);
    let selected = app.selected[1];
    for (line, (i, n)) in rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let style = if i == selected {
            Style::default().bg(Color::Blue).fg(Color::White)
        } else if !n.host {
            Style::default().fg(Color::Green)
        } else {
            Style::default()
        };
        let row = Rect {
            y: list.y + line as u16,
            height: 1,
            ..list
        };
        frame.buffer_mut().set_style(row, style);
        let texts = [
            n.inode.to_string(),
            n.kind.name().to_string(),
            n.members.to_string(),
            n.owner_pid.to_string(),
            crate::dump::namespace_containers(s, &n.containers),
            s.process(n.owner_pid).map_or("?".into(), |p| p.command())
                + if n.host { "  (host)" } else { "" },
        ];
        columns::draw_row(
            frame,
            &widths,
            row,
            texts.into_iter().map(|t| (t, style)).collect(),
        );
    }
}

fn draw_members(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines = Vec::new();
    let mut title = " members ".to_string();
    if let (Some(s), Some((kind, inode))) = (&app.snapshot, app.selected_ns) {
        title = format!(" {}:[{inode}] ", kind.name());
        for p in s
            .processes
            .iter()
            .filter(|p| p.namespaces.get(&kind) == Some(&inode))
        {
            let c = s
                .container_of(p.pid)
                .map(|c| format!(" [{}]", format::short_id(&c.id)))
                .unwrap_or_default();
            lines.push(Line::from(format!("{:>7} {}{c}", p.pid, p.command())));
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}
