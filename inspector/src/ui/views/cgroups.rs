//! The cgroup view: the tree (hierarchies merged by path, empty subtrees folded unless asked
//! for) with memory, pids and CPU as bars against their limits.

use super::columns::{self, Column};
use super::visible;
use crate::format;
use crate::model::cgtree;
use crate::ui::app::App;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, LineGauge, Paragraph};
use ratatui::Frame;

/// The last (the path) takes the rest; on a narrow terminal CPU goes first, then PIDS,
/// then PROCS, and a bar is drawn only inside its own column.
const COLUMNS: [Column; 5] = [
    Column::fixed("PROCS", 5, 30),
    Column {
        title: "MEMORY",
        width: 22,
        min: 13,
        shrink_order: 45,
        drop_order: 10,
    },
    Column {
        title: "PIDS",
        width: 16,
        min: 11,
        shrink_order: 45,
        drop_order: 20,
    },
    Column {
        title: "CPU",
        width: 16,
        min: 6,
        shrink_order: 50,
        drop_order: 40,
    },
    Column {
        title: "CGROUP",
        width: 24,
        min: 20,
        shrink_order: 0,
        drop_order: 0,
    },
];

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let title = if app.show_empty_cgroups {
        " cgroups (all) "
    } else {
        " cgroups with processes (e: all) "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let header = Rect { height: 1, ..inner };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let widths = columns::fit(&COLUMNS, inner.width);
    for (cell, c) in columns::cells(&widths, header).iter().zip(&COLUMNS) {
        if let Some(cell) = cell {
            frame.render_widget(Paragraph::new(c.title).style(bold), *cell);
        }
    }
    let list = Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let Some(s) = &app.snapshot else { return };
    let rows = cgtree::rows(s, app.show_empty_cgroups, app.filter_text());
    let (offset, height) = visible(app, list, rows.len());
    let Some(s) = &app.snapshot else { return };
    let elapsed_us = match (&app.previous, app.received) {
        (Some((_, at)), Some(now)) => now.duration_since(*at).as_micros() as u64,
        _ => 0,
    };
    for (line, (i, r)) in rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .enumerate()
    {
        let y = list.y + line as u16;
        let row_area = Rect {
            y,
            height: 1,
            ..list
        };
        let selected = i == app.selected[2];
        let base = if selected {
            Style::default().bg(Color::Blue).fg(Color::White)
        } else {
            Style::default()
        };
        frame.buffer_mut().set_style(row_area, base);
        let cells = columns::cells(&widths, row_area);
        let c = &s.cgroups[r.index];
        let st = &c.stats;
        if let Some(cell) = cells[4] {
            frame.render_widget(
                Paragraph::new(format!("{}{}", r.prefix, r.name)).style(base),
                cell,
            );
        }
        if let Some(cell) = cells[0] {
            frame.render_widget(Paragraph::new(format!("{:>5}", c.procs)).style(base), cell);
        }
        let mem_label = format!(
            "{}/{}",
            st.memory_current.map_or("?".into(), format::bytes),
            format::limit_bytes(st.memory_max)
        );
        gauge(frame, cells[1], cgtree::memory_ratio(st), mem_label, base);
        let pids_label = format!(
            "{}/{}",
            format::opt(st.pids_current),
            format::limit_count(st.pids_max)
        );
        gauge(frame, cells[2], cgtree::pids_ratio(st), pids_label, base);
        let prev = app.previous.as_ref().and_then(|(p, _)| p.cgroup(&c.path));
        let cpu = prev.and_then(|p| cgtree::cpu_ratio(p, c, elapsed_us));
        let cpu_label = cpu.map_or_else(
            || {
                if st.cpu_usage_us.is_some() {
                    "…".to_string()
                } else {
                    "?".to_string()
                }
            },
            |r| format!("{:.0}%", r * 100.0),
        );
        gauge(frame, cells[3], cpu, cpu_label, base);
    }
}

/// A bar when the ratio is known, else just the label; nothing in a dropped column. The
/// label is cut to the column, and the bar fills what is left of it.
fn gauge(frame: &mut Frame, area: Option<Rect>, ratio: Option<f64>, label: String, base: Style) {
    let Some(area) = area else { return };
    let label: String = label.chars().take(usize::from(area.width)).collect();
    match ratio {
        Some(r) => {
            let r = r.clamp(0.0, 1.0);
            let color = if r > 0.9 {
                Color::Red
            } else if r > 0.7 {
                Color::Yellow
            } else {
                Color::Green
            };
            let g = LineGauge::default()
                .ratio(r)
                .label(format!("{label:<11}"))
                .style(base)
                .filled_style(Style::default().fg(color))
                .unfilled_style(Style::default().fg(Color::DarkGray));
            frame.render_widget(g, area);
        }
        None => frame.render_widget(Paragraph::new(label).style(base), area),
    }
}
