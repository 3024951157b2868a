//! Tables on the page builder: column widths, a header row on a tinted band, rows whose cells
//! wrap or are shortened, and page breaks that repeat the header.

use crate::documents::pdf::fonts::Face;
use crate::documents::pdf::layout::{Align, Builder, BLACK, GREY, HEADER_BG, MARGIN_X, RULE};

pub(super) struct Column {
    pub(super) title: &'static str,
    pub(super) width: f32,
    pub(super) align: Align,
    /// Whether long cell text wraps (otherwise it is shortened with an ellipsis).
    pub(super) wrap: bool,
}

pub(super) const CELL_PAD: f32 = 3.0;
pub(super) const TABLE_SIZE: f32 = 8.0;
pub(super) const TABLE_LEADING: f32 = 10.4;

pub(super) struct Cell {
    pub(super) text: String,
    pub(super) face: Face,
    pub(super) color: (f32, f32, f32),
}

impl Cell {
    pub(super) fn plain(text: impl Into<String>) -> Self {
        Cell { text: text.into(), face: Face::Regular, color: BLACK }
    }
}

/// Column widths: fixed ones as given, the flexible one (width 0) takes the rest.
pub(super) fn layout_columns(b: &Builder, mut cols: Vec<Column>) -> Vec<Column> {
    // A fixed column is at least as wide as its (bold) title.
    for c in cols.iter_mut().filter(|c| c.width > 0.0) {
        c.width = c.width.max(b.fonts.width(Face::Bold, TABLE_SIZE, c.title) + 2.0 * CELL_PAD + 0.5);
    }
    let fixed: f32 = cols.iter().map(|c| c.width).sum();
    let rest = (b.content_width() - fixed).max(40.0);
    for c in cols.iter_mut().filter(|c| c.width == 0.0) {
        c.width = rest;
    }
    cols
}

pub(super) fn table_header(b: &mut Builder, cols: &[Column]) {
    let h = TABLE_LEADING + 6.0;
    b.rect(MARGIN_X, b.y, b.content_width(), h, HEADER_BG);
    let mut x = MARGIN_X;
    let baseline = b.y + 4.0 + TABLE_SIZE;
    for c in cols {
        let tx = match c.align {
            Align::Left => x + CELL_PAD,
            Align::Right => x + c.width - CELL_PAD,
            Align::Center => x + c.width / 2.0,
        };
        b.text_fit(Face::Bold, TABLE_SIZE, BLACK, tx, baseline, c.width - 2.0 * CELL_PAD, c.align, c.title);
        x += c.width;
    }
    b.y += h;
    b.hline(b.y, 0.6, GREY);
}

/// Lays out the cells of a row: the wrapped lines of each cell, and the row's height.
pub(super) fn row_lines(b: &Builder, cols: &[Column], cells: &[Cell]) -> (Vec<Vec<String>>, f32) {
    let mut lines = Vec::with_capacity(cells.len());
    let mut max = 1;
    for (c, cell) in cols.iter().zip(cells) {
        let avail = c.width - 2.0 * CELL_PAD;
        let l = if c.wrap {
            b.wrap(cell.face, TABLE_SIZE, avail, &cell.text)
        } else {
            vec![b.truncate(cell.face, TABLE_SIZE, avail, &cell.text)]
        };
        max = max.max(l.len());
        lines.push(l);
    }
    (lines, max as f32 * TABLE_LEADING + 5.0)
}

pub(super) fn draw_row(
    b: &mut Builder,
    cols: &[Column],
    cells: &[Cell],
    lines: &[Vec<String>],
    height: f32,
    rule: bool,
) {
    let mut x = MARGIN_X;
    for ((c, cell), l) in cols.iter().zip(cells).zip(lines) {
        let tx = match c.align {
            Align::Left => x + CELL_PAD,
            Align::Right => x + c.width - CELL_PAD,
            Align::Center => x + c.width / 2.0,
        };
        for (i, text) in l.iter().enumerate() {
            let baseline = b.y + 2.5 + TABLE_SIZE + i as f32 * TABLE_LEADING;
            b.text(cell.face, TABLE_SIZE, cell.color, tx, baseline, c.align, text);
        }
        x += c.width;
    }
    b.y += height;
    if rule {
        b.hline(b.y, 0.3, RULE);
    }
}

/// A table that breaks across pages, repeating its header. `reserve_after_last` is the space
/// the last row must leave below it on its page (the invoice keeps its totals with it).
pub(super) fn table(b: &mut Builder, cols: &[Column], rows: Vec<Vec<Cell>>, reserve_after_last: f32) {
    let header_h = TABLE_LEADING + 6.0;
    table_header(b, cols);
    let n = rows.len();
    for (i, cells) in rows.iter().enumerate() {
        let (lines, h) = row_lines(b, cols, cells);
        let need = h + if i + 1 == n { reserve_after_last } else { 0.0 };
        if b.remaining() < need {
            b.new_page();
            if b.remaining() < header_h + need {
                // Cannot happen with sane page sizes; draw anyway rather than loop.
            }
            table_header(b, cols);
        }
        draw_row(b, cols, cells, &lines, h, true);
    }
}
