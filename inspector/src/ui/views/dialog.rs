//! The signal dialogs: which signal (htop's list), then a last word naming the process or
//! container it goes to.

use crate::collect::signal::SIGNALS;
use crate::ui::app::Dialog;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, screen: Rect, d: &Dialog) {
    let (title, lines) = match d {
        Dialog::PickSignal { target, selected } => {
            let mut lines = vec![Line::from(format!("to {}", target.label)), Line::from("")];
            for (i, (name, n)) in SIGNALS.iter().enumerate() {
                let text = format!(" {n:>2} SIG{name} ");
                lines.push(if i == *selected {
                    Line::from(Span::styled(
                        text,
                        Style::default().bg(Color::Blue).fg(Color::White),
                    ))
                } else {
                    Line::from(text)
                });
            }
            lines.push(Line::from(""));
            lines.push(Line::from("j/k choose, Enter next, Esc cancel"));
            (" send a signal ", lines)
        }
        Dialog::Confirm { target, signal } => {
            let name = crate::collect::signal::name(*signal);
            let mut lines = vec![
                Line::from(Span::styled(
                    format!("Send SIG{name} to {}?", target.label),
                    Style::default().add_modifier(Modifier::BOLD),
                )),
                Line::from(""),
            ];
            if target.ns_init && !matches!(name.as_str(), "KILL" | "STOP") {
                lines.push(Line::from(Span::styled(
                    "It is the init of a pid namespace: it gets only the signals it handles, \
                     and KILL and STOP (pid_namespaces(7)).",
                    Style::default().fg(Color::Yellow),
                )));
                lines.push(Line::from(""));
            }
            lines.push(Line::from("y sends it; any other key cancels"));
            (" confirm ", lines)
        }
    };
    let width = 64.min(screen.width);
    let height = (lines.len() as u16 + 4).min(screen.height);
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(Style::default().fg(Color::Yellow)),
        ),
        area,
    );
}
