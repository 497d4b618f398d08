//! The help popup, made from the key table.

use crate::ui::keymap::{keys_text, KEYS};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Clear, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, screen: Rect) {
    let width = 64.min(screen.width);
    let height = (KEYS.len() as u16 + 2).min(screen.height);
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    let rows = KEYS
        .iter()
        .map(|b| Row::new(vec![keys_text(b), b.help.to_string()]));
    let table = Table::new(rows, [Constraint::Length(14), Constraint::Min(10)]).block(
        Block::default()
            .borders(Borders::ALL)
            .title(" keys (any key closes) ")
            .border_style(Style::default().fg(Color::Cyan)),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(table, area);
}
