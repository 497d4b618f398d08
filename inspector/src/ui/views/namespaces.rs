//! The namespaces view: the container × namespace-kind matrix (which they share with each
//! other and with the host), the lsns-like list (each namespace's containers, and the process longest in it as its
//! representative), and the members of the selected namespace.

use super::visible;
use crate::dump::share_text;
use crate::format;
use crate::model::namespaces::{self, Share};
use crate::model::NsKind;
use crate::ui::app::App;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let n_containers = app.snapshot.as_ref().map_or(0, |s| s.containers.len()) as u16;
    let matrix_h = (n_containers + 3).min(area.height / 2).max(4);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(matrix_h), Constraint::Min(3)]).areas(area);
    let [list, members] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);
    draw_matrix(frame, top, app);
    draw_list(frame, list, app);
    draw_members(frame, members, app);
}

fn draw_matrix(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" containers × namespaces (host = pid 1's, own, =ID shared) ");
    let Some(s) = &app.snapshot else {
        frame.render_widget(block, area);
        return;
    };
    let mut widths = vec![Constraint::Length(28)];
    widths.extend(NsKind::ALL.map(|_| Constraint::Length(14)));
    let mut header = vec![Cell::from("CONTAINER")];
    header.extend(NsKind::ALL.map(|k| Cell::from(k.name())));
    let rows = s
        .containers
        .iter()
        .zip(namespaces::matrix(s))
        .map(|(c, cells)| {
            let mut row = vec![Cell::from(format::container_name_short(c))];
            row.extend(cells.iter().map(|cell| {
                let style = match cell {
                    Share::Host => Style::default().fg(Color::DarkGray),
                    Share::Own => Style::default().fg(Color::Green),
                    Share::With(_) => Style::default().fg(Color::Yellow),
                    Share::Unknown => Style::default().fg(Color::Red),
                };
                Cell::from(share_text(s, cell)).style(style)
            }));
            Row::new(row)
        });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::default().add_modifier(Modifier::BOLD)))
        .block(block);
    frame.render_widget(table, area);
}

fn draw_list(frame: &mut Frame, area: Rect, app: &mut App) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" namespaces (lsns) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let list = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let (offset, height) = visible(app, list);
    let Some(s) = &app.snapshot else { return };
    let widths = [
        Constraint::Length(11),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(16),
        Constraint::Min(10),
    ];
    let header = Row::new(["NS", "TYPE", "NPROCS", "PID", "CONTAINER", "COMMAND"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new([header], widths), Rect { height: 1, ..inner });
    let selected = app.selected[1];
    let rows = app
        .namespace_rows(s)
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, n)| {
            let mut row = Row::new(vec![
                n.inode.to_string(),
                n.kind.name().to_string(),
                n.members.to_string(),
                n.owner_pid.to_string(),
                crate::dump::namespace_containers(s, &n.containers),
                s.process(n.owner_pid).map_or("?".into(), |p| p.command())
                    + if n.host { "  (host)" } else { "" },
            ]);
            if !n.host {
                row = row.style(Style::default().fg(Color::Green));
            }
            if i == selected {
                row = row.style(Style::default().bg(Color::Blue).fg(Color::White));
            }
            row
        });
    frame.render_widget(Table::new(rows, widths), list);
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
