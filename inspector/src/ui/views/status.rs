//! The header (tabs, host summary) and the footer (state, filter prompt, key hints).

use crate::model::Status;
use crate::ui::app::{App, Tab};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn header(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = vec![Span::styled(
        " ocitop ",
        Style::default().fg(Color::Black).bg(Color::Cyan),
    )];
    for t in Tab::ALL {
        let style = if t == app.tab {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::default()
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} ", t.title()), style));
    }
    if let Some(s) = &app.snapshot {
        let stale = s
            .containers
            .iter()
            .filter(|c| c.status == Status::Stale)
            .count();
        let pods = if s.pods.is_empty() {
            String::new()
        } else {
            let n = s.pods.len();
            format!(", {n} pod{}", if n == 1 { "" } else { "s" })
        };
        let paused = s
            .containers
            .iter()
            .filter(|c| c.status == Status::Paused)
            .count();
        let paused = if paused > 0 {
            format!(", {paused} paused")
        } else {
            String::new()
        };
        spans.push(Span::raw(format!(
            "  {} containers{pods}{paused}, {} shims, {} procs, cgroup {:?}",
            s.containers.len(),
            s.shims.len(),
            s.processes.len(),
            s.host.cgroup_mode
        )));
        if stale > 0 {
            spans.push(Span::styled(
                format!(", {stale} STALE"),
                Style::default().fg(Color::Red),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn footer(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    if app.paused {
        spans.push(Span::styled(
            " PAUSED ",
            Style::default().fg(Color::Black).bg(Color::Yellow),
        ));
        spans.push(Span::raw(" "));
    }
    if app.editing_filter || !app.filter.is_empty() {
        let cursor = if app.editing_filter { "▏" } else { "" };
        spans.push(Span::styled(
            format!("/{}{cursor}", app.filter),
            Style::default().fg(Color::Yellow),
        ));
        spans.push(Span::raw("  "));
    }
    if let Some(id) = &app.tree_opts.follow {
        spans.push(Span::styled(
            format!("following {id}  "),
            Style::default().fg(Color::Green),
        ));
    }
    if app.tab == Tab::Tree && app.tree_opts.show_host {
        spans.push(Span::raw("host shown  "));
    }
    if let Some(n) = &app.notice {
        spans.push(Span::styled(
            format!("{n}  "),
            Style::default().fg(Color::Yellow),
        ));
    }
    if let Some(e) = &app.error {
        spans.push(Span::styled(
            format!("error: {e}  "),
            Style::default().fg(Color::Red),
        ));
    }
    spans.push(Span::styled(
        format!(
            "every {:.1}s, read in {} ms  ? help  q quit",
            app.interval.as_secs_f64(),
            app.collect_time.as_millis()
        ),
        Style::default().fg(Color::DarkGray),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
