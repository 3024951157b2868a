//! The page builder every PDF is drawn with: paper sizes, margins and colours, text set in the
//! embedded fonts (measured, shortened or wrapped), lines and boxes, page breaks with a running
//! header, and the page footers.
//!
//! Coordinates are top-down (y grows downwards from the top edge), converted to PDF's bottom-up
//! ones when ops are emitted.

use printpdf::{Color, Line, LinePoint, Op, PaintMode, Point, Pt, Rect, Rgb, TextItem, TextMatrix, WindingOrder};

use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{Face, Fonts};
use crate::documents::pdf::serialize::{self, Info};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl Paper {
    /// Width and height in points.
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

pub(super) const MARGIN_X: f32 = 42.0;
const MARGIN_TOP: f32 = 40.0;
const MARGIN_BOTTOM: f32 = 48.0;

pub(super) const BLACK: (f32, f32, f32) = (0.0, 0.0, 0.0);
pub(super) const GREY: (f32, f32, f32) = (0.40, 0.40, 0.40);
pub(super) const RULE: (f32, f32, f32) = (0.70, 0.70, 0.70);
pub(super) const HEADER_BG: (f32, f32, f32) = (0.91, 0.93, 0.96);
pub(super) const ACCENT: (f32, f32, f32) = (0.13, 0.30, 0.55);

#[derive(Default)]
struct Page {
    ops: Vec<Op>,
    missing_glyphs: bool,
}

pub(super) struct Builder {
    pub(super) fonts: &'static Fonts,
    width: f32,
    height: f32,
    pages: Vec<Page>,
    page: Page,
    /// Current position, from the top edge.
    pub(super) y: f32,
    pub(super) watermark: Option<&'static str>,
    pub(super) running_header: String,
    pub(super) footer_left: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
    Center,
}

impl Builder {
    pub(super) fn new(fonts: &'static Fonts, paper: Paper) -> Self {
        let (width, height) = paper.size();
        Builder {
            fonts,
            width,
            height,
            pages: Vec::new(),
            page: Page::default(),
            y: MARGIN_TOP,
            watermark: None,
            running_header: String::new(),
            footer_left: String::new(),
        }
    }

    pub(super) fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN_X
    }

    pub(super) fn right(&self) -> f32 {
        self.width - MARGIN_X
    }

    /// The lowest y content may reach (the footer lives below it).
    fn bottom(&self) -> f32 {
        self.height - MARGIN_BOTTOM
    }

    pub(super) fn remaining(&self) -> f32 {
        self.bottom() - self.y
    }

    /// Begins a page: the watermark first (so that everything else is drawn over it), then,
    /// on continuation pages, the running header.
    pub(super) fn start_page(&mut self, first: bool) {
        self.y = MARGIN_TOP;
        if let Some(mark) = self.watermark {
            let size = 120.0;
            let w = self.fonts.width(Face::Bold, size, mark);
            let angle: f32 = (self.height - 2.0 * MARGIN_TOP).atan2(self.width) * 0.9;
            let (s, c) = angle.sin_cos();
            // Centre the rotated text on the page centre.
            let (cx, cy) = (self.width / 2.0, self.height / 2.0);
            let (dx, dy) = (w / 2.0, size * 0.36);
            let x = cx - (c * dx - s * dy);
            let y = cy - (s * dx + c * dy);
            self.page.ops.push(Op::SetFillColor { col: rgb((0.88, 0.88, 0.88)) });
            self.page.ops.push(Op::StartTextSection);
            self.page.ops.push(Op::SetFont { font: Face::Bold.handle(), size: Pt(size) });
            self.page.ops.push(Op::SetTextMatrix { matrix: TextMatrix::Raw([c, s, -s, c, x, y]) });
            self.page.ops.push(Op::ShowText { items: vec![TextItem::Text(mark.to_string())] });
            self.page.ops.push(Op::EndTextSection);
        }
        if !first {
            let header = self.running_header.clone();
            self.text_fit(Face::Regular, 8.0, GREY, MARGIN_X, self.y + 8.0, self.content_width(), Align::Left, &header);
            self.y += 12.0;
            self.hline(self.y, 0.5, RULE);
            self.y += 10.0;
        }
    }

    pub(super) fn new_page(&mut self) {
        let page = std::mem::take(&mut self.page);
        self.pages.push(page);
        self.start_page(false);
    }

    /// Starts a new page unless `needed` points are left on this one.
    pub(super) fn ensure(&mut self, needed: f32) -> bool {
        if self.remaining() < needed {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// Replaces characters the font cannot show (and control characters) by `?`, and flags
    /// the page for the footnote.
    fn clean(&mut self, face: Face, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if c == '\t' {
                out.push(' ');
            } else if c.is_control() {
                continue;
            } else if self.fonts.has_glyph(face, c) {
                out.push(c);
            } else {
                self.page.missing_glyphs = true;
                out.push('?');
            }
        }
        out
    }

    /// Draws one line of text with its baseline at `baseline` (from the top). `x` is the left
    /// edge, the right edge or the centre, following `align`.
    // A drawing primitive: where, in which style, what. A style struct would only move the list.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text(
        &mut self,
        face: Face,
        size: f32,
        color: (f32, f32, f32),
        x: f32,
        baseline: f32,
        align: Align,
        s: &str,
    ) {
        let s = self.clean(face, s);
        if s.is_empty() {
            return;
        }
        let w = self.fonts.width(face, size, &s);
        let left = match align {
            Align::Left => x,
            Align::Right => x - w,
            Align::Center => x - w / 2.0,
        };
        let font = face.handle();
        let ops = &mut self.page.ops;
        ops.push(Op::SetFillColor { col: rgb(color) });
        ops.push(Op::StartTextSection);
        ops.push(Op::SetFont { font, size: Pt(size) });
        ops.push(Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(left), Pt(self.height - baseline)) });
        ops.push(Op::ShowText { items: vec![TextItem::Text(s)] });
        ops.push(Op::EndTextSection);
    }

    /// Like `text`, shortened with an ellipsis to fit `max_width`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text_fit(
        &mut self,
        face: Face,
        size: f32,
        color: (f32, f32, f32),
        x: f32,
        baseline: f32,
        max_width: f32,
        align: Align,
        s: &str,
    ) {
        let s = self.truncate(face, size, max_width, s);
        self.text(face, size, color, x, baseline, align, &s);
    }

    pub(super) fn truncate(&self, face: Face, size: f32, max_width: f32, s: &str) -> String {
        if self.fonts.width(face, size, s) <= max_width {
            return s.to_string();
        }
        let mut out: String = s.to_string();
        while !out.is_empty() && self.fonts.width(face, size, &format!("{out}…")) > max_width {
            out.pop();
        }
        format!("{}…", out.trim_end())
    }

    /// Breaks `s` into lines no wider than `max_width` (at spaces; inside over-long words when
    /// needed). Newlines in `s` are kept as line breaks.
    pub(super) fn wrap(&self, face: Face, size: f32, max_width: f32, s: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in s.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if self.fonts.width(face, size, &candidate) <= max_width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: split it if it is wider than the column.
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if self.fonts.width(face, size, &piece) > max_width && piece.chars().count() > 1 {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        while lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }

    /// Wrapped paragraph at the cursor; advances it.
    pub(super) fn paragraph(&mut self, face: Face, size: f32, color: (f32, f32, f32), x: f32, max_width: f32, s: &str) {
        let leading = size * 1.3;
        for line in self.wrap(face, size, max_width, s) {
            self.ensure(leading);
            self.text(face, size, color, x, self.y + size, Align::Left, &line);
            self.y += leading;
        }
    }

    pub(super) fn hline(&mut self, y: f32, thickness: f32, color: (f32, f32, f32)) {
        let (x0, x1) = (MARGIN_X, self.right());
        self.line(x0, y, x1, y, thickness, color);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, thickness: f32, color: (f32, f32, f32)) {
        let h = self.height;
        self.page.ops.push(Op::SetOutlineColor { col: rgb(color) });
        self.page.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.page.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint { p: Point { x: Pt(x0), y: Pt(h - y0) }, bezier: false },
                    LinePoint { p: Point { x: Pt(x1), y: Pt(h - y1) }, bezier: false },
                ],
                is_closed: false,
            },
        });
    }

    /// A filled rectangle; `y` is its top edge.
    pub(super) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        let page_h = self.height;
        self.page.ops.push(Op::SetFillColor { col: rgb(color) });
        self.page.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x),
                y: Pt(page_h - y - h),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: Some(WindingOrder::NonZero),
            },
        });
    }

    /// Adds the footers ("Page i of n", the footnote on pages with replaced characters) and
    /// serializes the document.
    pub(super) fn finish(mut self, title: &str, author: &str, date: &str) -> Result<Vec<u8>, PdfError> {
        let last = std::mem::take(&mut self.page);
        self.pages.push(last);
        let total = self.pages.len();
        let mut pages = std::mem::take(&mut self.pages);
        for (i, page) in pages.iter_mut().enumerate() {
            self.page = std::mem::take(page);
            let base = self.height - MARGIN_BOTTOM + 22.0;
            self.hline(base - 10.0, 0.5, RULE);
            let left = self.footer_left.clone();
            let page_label = format!("Page {} of {}", i + 1, total);
            let label_w = self.fonts.width(Face::Regular, 8.0, &page_label);
            self.text_fit(
                Face::Regular,
                8.0,
                GREY,
                MARGIN_X,
                base,
                self.content_width() - label_w - 20.0,
                Align::Left,
                &left,
            );
            self.text(Face::Regular, 8.0, GREY, self.right(), base, Align::Right, &page_label);
            if self.page.missing_glyphs {
                self.text(
                    Face::Regular,
                    7.5,
                    GREY,
                    MARGIN_X,
                    base - 14.0,
                    Align::Left,
                    "Some characters could not be shown in this font and are printed as “?”.",
                );
            }
            *page = std::mem::take(&mut self.page);
        }
        let pages = pages.into_iter().map(|p| p.ops).collect();
        serialize::to_bytes(self.fonts, (self.width, self.height), pages, Info { title, author, date })
    }
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb { r, g, b, icc_profile: None })
}

/// A report's title in large type and the lines under it (range, grouping, counts).
pub(super) fn title_block(b: &mut Builder, title: &str, lines: &[String]) {
    b.paragraph(Face::Bold, 16.0, ACCENT, MARGIN_X, b.content_width(), title);
    b.y += 2.0;
    for l in lines {
        b.paragraph(Face::Regular, 9.0, BLACK, MARGIN_X, b.content_width(), l);
    }
    b.y += 10.0;
}
