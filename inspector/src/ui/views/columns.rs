//! Columns that give way by priority on a narrow terminal: each has the width it wants and
//! the least it can do with; when they do not fit, the ones that can shrink do, then the
//! least important are dropped, never cut. The last column takes what is left (a command
//! line, a cgroup path), down to its least.

use ratatui::layout::Rect;

/// One column of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    /// The width it wants.
    pub width: u16,
    /// The least it can be shrunk to (`width` for one that cannot, like a pid).
    pub min: u16,
    /// 0 is never dropped; a higher number goes first.
    pub drop_order: u8,
}

impl Column {
    pub const fn fixed(title: &'static str, width: u16, drop_order: u8) -> Column {
        Column {
            title,
            width,
            min: width,
            drop_order,
        }
    }
}

/// Between columns.
pub const GAP: u16 = 1;

/// The widths of `columns` (`None`: dropped) in `width` cells; the last is the rest.
pub fn fit(columns: &[Column], width: u16) -> Vec<Option<u16>> {
    let n = columns.len();
    let mut widths: Vec<Option<u16>> = columns.iter().map(|c| Some(c.width)).collect();
    let used = |w: &[Option<u16>]| -> u16 {
        let shown: Vec<u16> = w.iter().flatten().copied().collect();
        shown.iter().sum::<u16>() + GAP * (shown.len().saturating_sub(1) as u16)
    };
    let last_min = columns.last().map_or(0, |c| c.min);
    if n > 0 {
        widths[n - 1] = Some(last_min);
    }
    // Shrink what can shrink, then drop by order.
    for (i, c) in columns.iter().enumerate().take(n.saturating_sub(1)) {
        if used(&widths) <= width {
            break;
        }
        let over = used(&widths) - width;
        let can = c.width - c.min;
        widths[i] = Some(c.width - can.min(over));
    }
    let mut order: Vec<usize> = (0..n.saturating_sub(1))
        .filter(|&i| columns[i].drop_order > 0)
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(columns[i].drop_order));
    for i in order {
        if used(&widths) <= width {
            break;
        }
        widths[i] = None;
    }
    if n > 0 {
        let others = used(&widths) - last_min;
        widths[n - 1] = Some(width.saturating_sub(others));
    }
    widths
}

/// The cells of a row: for each shown column, its area in `row`.
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

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Column; 4] = [
        Column::fixed("PID", 7, 0),
        Column::fixed("CPU%", 5, 2),
        Column {
            title: "CONTAINER",
            width: 18,
            min: 8,
            drop_order: 1,
        },
        Column {
            title: "COMMAND",
            width: 20,
            min: 10,
            drop_order: 0,
        },
    ];

    #[test]
    fn wide_every_column_narrow_by_priority_never_the_pid() {
        assert_eq!(
            fit(&COLS, 100),
            [Some(7), Some(5), Some(18), Some(100 - 7 - 5 - 18 - 3)]
        );
        // The container column shrinks first.
        assert_eq!(fit(&COLS, 36), [Some(7), Some(5), Some(11), Some(10)]);
        // Then CPU% goes, then the container.
        assert_eq!(fit(&COLS, 28), [Some(7), None, Some(8), Some(11)]);
        assert_eq!(fit(&COLS, 15), [Some(7), None, None, Some(7)]);
        // The pid is never cut, even when nothing else fits.
        assert_eq!(fit(&COLS, 5)[0], Some(7));
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
