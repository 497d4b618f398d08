//! The help popup, made from the key table. It scrolls when the screen is shorter than the
//! table (j/k, arrows, PgUp/PgDn, g/G), and says so in its frame.

use crate::ui::app::App;
use crate::ui::keymap::{keys_text, KEYS};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Clear, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, screen: Rect, app: &mut App) {
    let width = 68.min(screen.width);
    let height = (KEYS.len() as u16 + 2).min(screen.height);
    let area = Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    };
    let shown = usize::from(height.saturating_sub(2));
    // Never past the last screenful.
    app.help_offset = app.help_offset.min(KEYS.len().saturating_sub(shown));
    let first = app.help_offset;
    let last = (first + shown).min(KEYS.len());
    let title = if shown >= KEYS.len() {
        " keys (any key closes) ".to_string()
    } else {
        format!(
            " keys {}-{} of {} (j/k PgUp/PgDn scroll, Esc closes) ",
            first + 1,
            last,
            KEYS.len()
        )
    };
    let rows = KEYS[first..last]
        .iter()
        .map(|b| Row::new(vec![keys_text(b), b.help.to_string()]));
    let keys_width = KEYS
        .iter()
        .map(|b| keys_text(b).chars().count() as u16)
        .max()
        .unwrap_or(8);
    let table = Table::new(rows, [Constraint::Length(keys_width), Constraint::Min(10)]).block(
        Block::default()
            .borders(Borders::ALL)
            .title(title)
            .border_style(Style::default().fg(Color::Cyan)),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(table, area);
}
