//! Drawing: one file per view. `draw` lays out the header, the current view and the status
//! line, and the help on top when asked for.

mod cgroups;
mod columns;
mod detail;
mod dialog;
mod help;
mod namespaces;
mod status;
mod tree;

use super::app::{App, Tab};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::Frame;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    status::header(frame, header, app);
    match app.tab {
        Tab::Tree => {
            let [list, side] = split(body);
            tree::draw(frame, list, app);
            detail::draw_tree_selection(frame, side, app);
        }
        Tab::Namespaces => namespaces::draw(frame, body, app),
        Tab::Cgroups => {
            let [list, side] = split(body);
            cgroups::draw(frame, list, app);
            detail::draw_cgroup(frame, side, app);
        }
    }
    status::footer(frame, footer, app);
    if app.help {
        help::draw(frame, frame.area(), app);
    }
    if let Some(d) = &app.dialog {
        dialog::draw(frame, frame.area(), d);
    }
}

/// The list and its detail pane: side by side on wide screens, stacked on narrow ones.
fn split(area: Rect) -> [Rect; 2] {
    let direction = if area.width >= 140 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let constraints = if direction == Direction::Horizontal {
        [Constraint::Percentage(62), Constraint::Percentage(38)]
    } else {
        [Constraint::Percentage(65), Constraint::Percentage(35)]
    };
    Layout::default()
        .direction(direction)
        .constraints(constraints)
        .areas(area)
}

/// The rows visible in a list `area` holding `rows` rows: sets the list area for mouse
/// clicks, scrolls the selection into view (and back up when fewer rows are left than the
/// offset would show, e.g. after a filter), returns (offset, height).
fn visible(app: &mut App, inner: Rect, rows: usize) -> (usize, usize) {
    app.list_area = inner;
    let height = usize::from(inner.height);
    app.scroll_into_view(height, rows);
    let t = Tab::ALL.iter().position(|&t| t == app.tab).unwrap_or(0);
    (app.offset[t], height)
}
