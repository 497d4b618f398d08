//! Columns that give way by priority on a narrow terminal: each has the width it wants and
//! the least it can do with; when they do not fit, they give way step by step in the order
//! given (a higher order first): a column shrinks to its least at its `shrink_order`, and is
//! dropped whole at its `drop_order`, never cut. The last column takes what is left (a
//! command line, a cgroup path), and never less than its least.

use ratatui::layout::Rect;

/// One column of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    /// The width it wants.
    pub width: u16,
    /// The least it can be shrunk to (`width` for one that cannot, like a pid).
    pub min: u16,
    /// When it shrinks to `min` (a higher order gives way first).
    pub shrink_order: u8,
    /// When it is dropped; 0 is never.
    pub drop_order: u8,
}

impl Column {
    /// A column that is shown whole or not at all.
    pub const fn fixed(title: &'static str, width: u16, drop_order: u8) -> Column {
        Column {
            title,
            width,
            min: width,
            shrink_order: 0,
            drop_order,
        }
    }
}

/// Between columns.
pub const GAP: u16 = 1;

/// The widths of `columns` (`None`: dropped) in `width` cells; the last is the rest.
pub fn fit(columns: &[Column], width: u16) -> Vec<Option<u16>> {
    let Some(last) = columns.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut widths: Vec<Option<u16>> = columns.iter().map(|c| Some(c.width)).collect();
    widths[last] = Some(columns[last].min);
    let used = |w: &[Option<u16>]| -> u16 {
        let shown: Vec<u16> = w.iter().flatten().copied().collect();
        shown.iter().sum::<u16>() + GAP * (shown.len().saturating_sub(1) as u16)
    };
    // Every step a column can give way by: (order, column, dropped whole).
    let mut steps: Vec<(u8, usize, bool)> = Vec::new();
    for (i, c) in columns.iter().enumerate().take(last) {
        if c.min < c.width && c.shrink_order > 0 {
            steps.push((c.shrink_order, i, false));
        }
        if c.drop_order > 0 {
            steps.push((c.drop_order, i, true));
        }
    }
    steps.sort_by_key(|&(order, _, _)| std::cmp::Reverse(order));
    for (_, i, drop) in steps {
        let over = used(&widths).saturating_sub(width);
        if over == 0 {
            break;
        }
        widths[i] = match (drop, widths[i]) {
            (true, _) | (_, None) => None,
            (false, Some(w)) => Some(w - (w - columns[i].min).min(over)),
        };
    }
    let others = used(&widths) - widths[last].unwrap_or(0);
    widths[last] = Some(width.saturating_sub(others).max(columns[last].min));
    widths
}

/// The cells of a row: for each shown column, its area in `row` (cut at the row's end).
pub fn cells(widths: &[Option<u16>], row: Rect) -> Vec<Option<Rect>> {
    let mut x = row.x;
    let end = row.x + row.width;
    widths
        .iter()
        .map(|w| {
            let w = (*w)?;
            let cell = Rect {
                x,
                width: w.min(end.saturating_sub(x)),
                ..row
            };
            x = (x + w + GAP).min(end);
            Some(cell)
        })
        .collect()
}

/// Draws one row of texts in the cells of the shown columns, each cut to its cell.
pub fn draw_row(
    frame: &mut ratatui::Frame,
    widths: &[Option<u16>],
    row: Rect,
    texts: Vec<(String, ratatui::style::Style)>,
) {
    for (cell, (text, style)) in cells(widths, row).into_iter().zip(texts) {
        if let Some(cell) = cell {
            frame.render_widget(ratatui::widgets::Paragraph::new(text).style(style), cell);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Column; 5] = [
        Column::fixed("PID", 7, 0),
        Column::fixed("RSS", 6, 40),
        Column::fixed("CPU%", 5, 30),
        Column {
            title: "CONTAINER",
            width: 18,
            min: 8,
            shrink_order: 35,
            drop_order: 20,
        },
        Column {
            title: "COMMAND",
            width: 20,
            min: 10,
            shrink_order: 0,
            drop_order: 0,
        },
    ];

    #[test]
    fn wide_every_column_narrow_by_priority_never_the_pid() {
        assert_eq!(
            fit(&COLS, 100),
            [
                Some(7),
                Some(6),
                Some(5),
                Some(18),
                Some(100 - 7 - 6 - 5 - 18 - 4)
            ]
        );
        // RSS goes first, then the container column shrinks, then CPU% goes...
        assert_eq!(fit(&COLS, 43), [Some(7), None, Some(5), Some(18), Some(10)]);
        assert_eq!(fit(&COLS, 36), [Some(7), None, Some(5), Some(11), Some(10)]);
        assert_eq!(fit(&COLS, 28), [Some(7), None, None, Some(8), Some(11)]);
        // ...then the container.
        assert_eq!(fit(&COLS, 18), [Some(7), None, None, None, Some(10)]);
        // The pid is never cut, and the command keeps its least.
        assert_eq!(fit(&COLS, 5), [Some(7), None, None, None, Some(10)]);
    }

    #[test]
    fn cells_stay_in_the_row() {
        let row = Rect::new(2, 0, 20, 1);
        let c = cells(&[Some(7), None, Some(8), Some(10)], row);
        assert_eq!(c[0], Some(Rect::new(2, 0, 7, 1)));
        assert_eq!(c[1], None);
        assert_eq!(c[2], Some(Rect::new(10, 0, 8, 1)));
        assert_eq!(c[3], Some(Rect::new(19, 0, 3, 1)));
    }
}
