//! PDF rendering of invoices, the usage summary and the invoice register (SPEC sections 3-5).
//!
//! Built on printpdf 0.12 drawing ops (no HTML layout): every page is a `Vec<Op>` that this
//! module lays out itself. Text is set in embedded DejaVu Sans (Latin, Greek, Cyrillic), subset
//! by printpdf at save time. Characters the font has no glyph for (e.g. CJK) are printed as `?`
//! and the page carries a footnote saying so, instead of silently drawing empty boxes.
//!
//! Output is deterministic: fixed font resource ids, document dates derived from the document
//! and the trailer `/ID` replaced by a hash of the file's content, so the same input renders to
//! byte-identical files (SPEC section 3: an issued invoice's PDF never changes).

use std::fmt;
use std::sync::OnceLock;

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, ParsedFont, PdfDocument, PdfFont, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix, WindingOrder,
};

use crate::documents::model::{CreditNoteDocument, InvoiceDocument, LineDocument, RegisterRow, SupportTerms, UsageRow};

/// The embedded fonts. The integrator adjusts these two paths, e.g. to
/// `concat!(env!("CARGO_MANIFEST_DIR"), "/reports/fonts/DejaVuSans.ttf")`.
const FONT_REGULAR_TTF: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/fonts/DejaVuSans.ttf"));
const FONT_BOLD_TTF: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/fonts/DejaVuSans-Bold.ttf"));

/// Fixed font resource ids (printpdf would draw random ones): the first six letters also
/// form the subset tag of the embedded font names.
const FONT_ID_REGULAR: &str = "DJVSNR";
const FONT_ID_BOLD: &str = "DJVSNB";

// ---------------------------------------------------------------------------------------------
// Public API

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdfError(pub String);

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PDF rendering failed: {}", self.0)
    }
}

impl std::error::Error for PdfError {}

/// An invoice (draft, issued or void) as a PDF.
pub fn invoice_pdf(doc: &InvoiceDocument, paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let number = invoice_label(doc);
    let mut b = Builder::new(fonts, paper);
    b.watermark = match doc.status.as_str() {
        "draft" => Some("DRAFT"),
        "void" => Some("VOID"),
        _ => None,
    };
    b.footer_left = format!("{} · Invoice {}", doc.partner.name, number);
    b.running_header = format!("{} — Invoice {} (continued)", doc.partner.name, number);
    b.start_page(true);
    invoice_header(&mut b, doc, &number);
    invoice_lines(&mut b, doc);
    invoice_terms(&mut b, doc);
    let created = doc.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or(&doc.period_start);
    b.finish(&format!("Invoice {number}"), &doc.partner.name, created)
}

/// A credit note as a PDF: titled "Credit note", naming the invoice it corrects and the reason.
pub fn credit_note_pdf(cn: &CreditNoteDocument, paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let doc = cn.as_invoice_like();
    let mut b = Builder::new(fonts, paper);
    b.footer_left = format!("{} · Credit note {}", cn.partner.name, cn.number);
    b.running_header = format!("{} — Credit note {} (continued)", cn.partner.name, cn.number);
    b.start_page(true);
    let issue_date = cn.issued_at.get(..10).unwrap_or(&cn.issued_at);
    let facts: Vec<(&str, String)> = vec![
        ("Credit note number", cn.number.clone()),
        ("Issue date", human_date(issue_date)),
        ("Corrects invoice", cn.invoice_number.clone()),
        ("Invoice date", human_date(&cn.invoice_issue_date)),
        ("Currency", cn.currency.clone()),
    ];
    parties_header(&mut b, &doc, "CREDIT NOTE", facts);
    let width = b.content_width();
    let what = if cn.credit_type == "full" { "in full" } else { "in part" };
    b.paragraph(
        Face::Regular,
        9.0,
        BLACK,
        MARGIN_X,
        width,
        &format!("Credit note for invoice {} ({what}).", cn.invoice_number),
    );
    b.paragraph(Face::Regular, 9.0, BLACK, MARGIN_X, width, &format!("Reason: {}", cn.reason));
    b.y += 10.0;
    invoice_lines(&mut b, &doc);
    b.ensure(24.0);
    b.paragraph(
        Face::Regular,
        8.5,
        BLACK,
        MARGIN_X,
        width,
        &format!(
            "The total of {} {} is credited to the customer against invoice {}.",
            cn.total, cn.currency, cn.invoice_number
        ),
    );
    b.finish(&format!("Credit note {}", cn.number), &cn.partner.name, issue_date)
}

/// The usage summary (`GET /reports/usage`) as a PDF: a table and a bar chart of hours per group.
pub fn usage_pdf(
    title: &str,
    from: &str,
    to: &str,
    group_by: &str,
    rows: &[UsageRow],
    paper: Paper,
) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let mut b = Builder::new(fonts, paper);
    let range = range_text(from, to);
    b.footer_left = format!("{title} · {range}");
    b.running_header = format!("{title} — {range} (continued)");
    b.start_page(true);
    usage_body(&mut b, title, &range, group_by, rows);
    b.finish(title, "supportbill", from)
}

/// The invoice register (`GET /reports/invoices`) as a PDF.
pub fn register_pdf(from: &str, to: &str, rows: &[RegisterRow], paper: Paper) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let mut b = Builder::new(fonts, paper);
    let range = range_text(from, to);
    b.footer_left = format!("Invoice register · {range}");
    b.running_header = format!("Invoice register — {range} (continued)");
    b.start_page(true);
    register_body(&mut b, &range, rows);
    b.finish("Invoice register", "supportbill", from)
}

// ---------------------------------------------------------------------------------------------
// Fonts and measuring

struct Fonts {
    regular: ParsedFont,
    bold: ParsedFont,
}

fn fonts() -> Result<&'static Fonts, PdfError> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let parse = |bytes: &[u8], name: &str| {
                ParsedFont::from_bytes(bytes, 0, &mut Vec::new())
                    .ok_or_else(|| format!("cannot parse the embedded font {name}"))
            };
            Ok(Fonts {
                regular: parse(FONT_REGULAR_TTF, "DejaVuSans")?,
                bold: parse(FONT_BOLD_TTF, "DejaVuSans-Bold")?,
            })
        })
        .as_ref()
        .map_err(|e| PdfError(e.clone()))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
}

impl Fonts {
    fn face(&self, face: Face) -> &ParsedFont {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    fn has_glyph(&self, face: Face, c: char) -> bool {
        matches!(self.face(face).lookup_glyph_index(c as u32), Some(g) if g != 0)
    }

    /// Width of `s` in points at `size`: the sum of the glyphs' advances over units per em.
    fn width(&self, face: Face, size: f32, s: &str) -> f32 {
        let font = self.face(face);
        let upem = font.pdf_font_metrics.units_per_em.max(1) as f32;
        let notdef = font.lookup_glyph_index('?' as u32).unwrap_or(0);
        let units: u32 = s
            .chars()
            .map(|c| {
                let gid = match font.lookup_glyph_index(c as u32) {
                    Some(g) if g != 0 => g,
                    _ => notdef,
                };
                font.get_horizontal_advance(gid) as u32
            })
            .sum();
        units as f32 * size / upem
    }
}

// ---------------------------------------------------------------------------------------------
// Page builder: top-down coordinates (y grows downwards from the top edge), converted to PDF's
// bottom-up ones when ops are emitted.

const MARGIN_X: f32 = 42.0;
const MARGIN_TOP: f32 = 40.0;
const MARGIN_BOTTOM: f32 = 48.0;

const BLACK: (f32, f32, f32) = (0.0, 0.0, 0.0);
const GREY: (f32, f32, f32) = (0.40, 0.40, 0.40);
const RULE: (f32, f32, f32) = (0.70, 0.70, 0.70);
const HEADER_BG: (f32, f32, f32) = (0.91, 0.93, 0.96);
const ACCENT: (f32, f32, f32) = (0.13, 0.30, 0.55);

#[derive(Default)]
struct Page {
    ops: Vec<Op>,
    missing_glyphs: bool,
}

struct Builder {
    fonts: &'static Fonts,
    width: f32,
    height: f32,
    pages: Vec<Page>,
    page: Page,
    /// Current position, from the top edge.
    y: f32,
    watermark: Option<&'static str>,
    running_header: String,
    footer_left: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
}

impl Builder {
    fn new(fonts: &'static Fonts, paper: Paper) -> Self {
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

    fn content_width(&self) -> f32 {
        self.width - 2.0 * MARGIN_X
    }

    fn right(&self) -> f32 {
        self.width - MARGIN_X
    }

    /// The lowest y content may reach (the footer lives below it).
    fn bottom(&self) -> f32 {
        self.height - MARGIN_BOTTOM
    }

    fn remaining(&self) -> f32 {
        self.bottom() - self.y
    }

    /// Begins a page: the watermark first (so that everything else is drawn over it), then,
    /// on continuation pages, the running header.
    fn start_page(&mut self, first: bool) {
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
            self.page.ops.push(Op::SetFont { font: self.handle(Face::Bold), size: Pt(size) });
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

    fn new_page(&mut self) {
        let page = std::mem::take(&mut self.page);
        self.pages.push(page);
        self.start_page(false);
    }

    /// Starts a new page unless `needed` points are left on this one.
    fn ensure(&mut self, needed: f32) -> bool {
        if self.remaining() < needed {
            self.new_page();
            true
        } else {
            false
        }
    }

    fn handle(&self, face: Face) -> PdfFontHandle {
        PdfFontHandle::External(FontId(
            match face {
                Face::Regular => FONT_ID_REGULAR,
                Face::Bold => FONT_ID_BOLD,
            }
            .to_string(),
        ))
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
    fn text(&mut self, face: Face, size: f32, color: (f32, f32, f32), x: f32, baseline: f32, align: Align, s: &str) {
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
        let font = self.handle(face);
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
    fn text_fit(
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

    fn truncate(&self, face: Face, size: f32, max_width: f32, s: &str) -> String {
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
    fn wrap(&self, face: Face, size: f32, max_width: f32, s: &str) -> Vec<String> {
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
    fn paragraph(&mut self, face: Face, size: f32, color: (f32, f32, f32), x: f32, max_width: f32, s: &str) {
        let leading = size * 1.3;
        for line in self.wrap(face, size, max_width, s) {
            self.ensure(leading);
            self.text(face, size, color, x, self.y + size, Align::Left, &line);
            self.y += leading;
        }
    }

    fn hline(&mut self, y: f32, thickness: f32, color: (f32, f32, f32)) {
        let (x0, x1) = (MARGIN_X, self.right());
        self.line(x0, y, x1, y, thickness, color);
    }

    #[allow(clippy::too_many_arguments)]
    fn line(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, thickness: f32, color: (f32, f32, f32)) {
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
    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
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
    fn finish(mut self, title: &str, author: &str, date: &str) -> Result<Vec<u8>, PdfError> {
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

        let mut pdf = PdfDocument::new(title);
        pdf.metadata.info.author = author.to_string();
        pdf.metadata.info.creator = "supportbill".to_string();
        pdf.metadata.info.producer = "supportbill".to_string();
        let stamp =
            printpdf::OffsetDateTime::from_unix_timestamp(unix_midnight(date)).map_err(|e| PdfError(e.to_string()))?;
        pdf.metadata.info.creation_date = stamp;
        pdf.metadata.info.modification_date = stamp;
        pdf.metadata.info.metadata_date = stamp;
        pdf.metadata.info.identifier = title.to_string();
        pdf.resources.fonts.map.insert(FontId(FONT_ID_REGULAR.to_string()), PdfFont::new(self.fonts.regular.clone()));
        pdf.resources.fonts.map.insert(FontId(FONT_ID_BOLD.to_string()), PdfFont::new(self.fonts.bold.clone()));
        let (w, h) = (printpdf::Mm::from(Pt(self.width)), printpdf::Mm::from(Pt(self.height)));
        let pages: Vec<PdfPage> = pages.into_iter().map(|p| PdfPage::new(w, h, p.ops)).collect();
        let mut warnings = Vec::new();
        // printpdf's own `optimize` compresses every stream at zlib's best level, which was
        // about half of a page's render time (BENCHMARKS.md); the fastest level makes files a
        // few per cent larger at a fraction of the cost.
        let options = PdfSaveOptions { optimize: false, ..PdfSaveOptions::default() };
        let mut doc = printpdf::serialize::to_lopdf_doc(pdf.with_pages(pages), &options, &mut warnings);
        for object in doc.objects.values_mut() {
            if let lopdf::Object::Stream(stream) = object {
                compress_stream(stream);
            }
        }
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).map_err(|e| PdfError(e.to_string()))?;
        if bytes.is_empty() {
            return Err(PdfError("printpdf produced no output".to_string()));
        }
        Ok(fix_trailer_id(bytes))
    }
}

/// Deflates a stream at zlib's fastest level, unless it is filtered already or would not shrink.
fn compress_stream(stream: &mut lopdf::Stream) {
    use std::io::Write;
    if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
        return;
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    if encoder.write_all(&stream.content).is_err() {
        return;
    }
    if let Ok(compressed) = encoder.finish() {
        if compressed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(compressed);
        }
    }
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb { r, g, b, icc_profile: None })
}

/// printpdf writes a random trailer `/ID` (two 32-letter literal strings). Replace both by a
/// hash of everything before the trailer, keeping their length so the xref offsets hold.
fn fix_trailer_id(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(trailer) = rfind(&bytes, b"trailer") else { return bytes };
    let hash = {
        let h1 = fnv1a(&bytes[..trailer], 0xcbf2_9ce4_8422_2325);
        let h2 = fnv1a(&bytes[..trailer], 0x8422_2325_cbf2_9ce4);
        format!("{h1:016X}{h2:016X}")
    };
    let Some(id_at) = find(&bytes[trailer..], b"/ID").map(|i| i + trailer) else { return bytes };
    let mut pos = id_at;
    for _ in 0..2 {
        let Some(open) = find(&bytes[pos..], b"(").map(|i| i + pos) else { return bytes };
        let Some(close) = find(&bytes[open..], b")").map(|i| i + open) else { return bytes };
        if close - open - 1 == hash.len() {
            bytes[open + 1..close].copy_from_slice(hash.as_bytes());
        }
        pos = close + 1;
    }
    bytes
}

fn fnv1a(data: &[u8], seed: u64) -> u64 {
    data.iter().fold(seed, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Tables

struct Column {
    title: &'static str,
    width: f32,
    align: Align,
    /// Whether long cell text wraps (otherwise it is shortened with an ellipsis).
    wrap: bool,
}

const CELL_PAD: f32 = 3.0;
const TABLE_SIZE: f32 = 8.0;
const TABLE_LEADING: f32 = 10.4;

struct Cell {
    text: String,
    face: Face,
    color: (f32, f32, f32),
}

impl Cell {
    fn plain(text: impl Into<String>) -> Self {
        Cell { text: text.into(), face: Face::Regular, color: BLACK }
    }
}

/// Column widths: fixed ones as given, the flexible one (width 0) takes the rest.
fn layout_columns(b: &Builder, mut cols: Vec<Column>) -> Vec<Column> {
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

fn table_header(b: &mut Builder, cols: &[Column]) {
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
fn row_lines(b: &Builder, cols: &[Column], cells: &[Cell]) -> (Vec<Vec<String>>, f32) {
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

fn draw_row(b: &mut Builder, cols: &[Column], cells: &[Cell], lines: &[Vec<String>], height: f32, rule: bool) {
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
fn table(b: &mut Builder, cols: &[Column], rows: Vec<Vec<Cell>>, reserve_after_last: f32) {
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

// ---------------------------------------------------------------------------------------------
// Invoice

fn invoice_label(doc: &InvoiceDocument) -> String {
    match (&doc.number, doc.status.as_str()) {
        (_, "draft") | (None, _) => "DRAFT".to_string(),
        (Some(n), _) => n.clone(),
    }
}

fn invoice_header(b: &mut Builder, doc: &InvoiceDocument, number: &str) {
    // The title and the invoice facts, top right.
    let title = match doc.status.as_str() {
        "draft" => "DRAFT INVOICE",
        "void" => "INVOICE (VOID)",
        "credited" => "INVOICE (CREDITED)",
        _ => "INVOICE",
    };
    let period = format!("{} – {}", human_date(&doc.period_start), human_date(&last_day(&doc.period_end)));
    let facts: Vec<(&str, String)> = vec![
        ("Invoice number", number.to_string()),
        (
            "Issue date",
            doc.issued_at
                .as_deref()
                .map(|t| human_date(t.get(..10).unwrap_or(t)))
                .unwrap_or_else(|| "not issued".into()),
        ),
        ("Due date", doc.due_date.as_deref().map(human_date).unwrap_or_else(|| "—".into())),
        ("Period", period),
        ("Currency", doc.currency.clone()),
    ];
    parties_header(b, doc, title, facts);
}

/// The partner (top left), the title and facts (top right, the first fact in bold), and the
/// customer billed: the head of invoices and credit notes.
fn parties_header(b: &mut Builder, doc: &InvoiceDocument, title: &str, facts: Vec<(&str, String)>) {
    let top = b.y;
    let right = b.right();
    let half = b.content_width() * 0.55;

    // The partner (the issuer), top left.
    b.y = top;
    b.paragraph(Face::Bold, 13.0, ACCENT, MARGIN_X, half, &doc.partner.name);
    b.y += 2.0;
    let mut partner_lines = vec![doc.partner.address.clone()];
    if !doc.partner.country.is_empty() {
        partner_lines.push(country_name(&doc.partner.country));
    }
    if !doc.partner.tax_id.is_empty() {
        partner_lines.push(format!("Tax ID: {}", doc.partner.tax_id));
    }
    for l in partner_lines {
        b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, half, &l);
    }
    let left_bottom = b.y;

    b.text(Face::Bold, 20.0, ACCENT, right, top + 18.0, Align::Right, title);
    let mut y = top + 36.0;
    let value_x = right;
    let label_x = right - 130.0;
    for (i, (label, value)) in facts.into_iter().enumerate() {
        b.text(Face::Regular, 8.5, GREY, label_x, y, Align::Right, label);
        let face = if i == 0 { Face::Bold } else { Face::Regular };
        b.text_fit(face, 8.5, BLACK, value_x, y, 122.0, Align::Right, &value);
        y += 12.0;
    }
    b.y = left_bottom.max(y) + 14.0;

    // The customer.
    b.text(Face::Bold, 8.0, GREY, MARGIN_X, b.y + 8.0, Align::Left, "BILL TO");
    b.y += 12.0;
    b.paragraph(Face::Bold, 10.5, BLACK, MARGIN_X, half, &doc.customer.name);
    let mut customer_lines = vec![doc.customer.billing_address.clone()];
    if !doc.customer.country.is_empty() {
        customer_lines.push(country_name(&doc.customer.country));
    }
    if !doc.customer.tax_id.is_empty() {
        customer_lines.push(format!("Tax ID: {}", doc.customer.tax_id));
    }
    if !doc.customer.email.is_empty() {
        customer_lines.push(doc.customer.email.clone());
    }
    for l in customer_lines {
        b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, half, &l);
    }
    b.y += 14.0;
}

fn invoice_columns(b: &Builder) -> Vec<Column> {
    layout_columns(
        b,
        vec![
            Column { title: "Description", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Subscription", width: 104.0, align: Align::Left, wrap: true },
            Column { title: "Time", width: 46.0, align: Align::Right, wrap: false },
            Column { title: "Price", width: 66.0, align: Align::Right, wrap: false },
            Column { title: "Qty", width: 38.0, align: Align::Right, wrap: false },
            Column { title: "Amount", width: 70.0, align: Align::Right, wrap: false },
        ],
    )
}

fn line_cells(doc: &InvoiceDocument, l: &LineDocument) -> Vec<Cell> {
    let sub = doc
        .subscriptions
        .iter()
        .find(|s| s.id == l.subscription_id)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| format!("#{}", l.subscription_id));
    let is_time = l.quantity_minutes.is_some();
    let time = l.quantity_minutes.as_deref().map(hmm_from_minutes).unwrap_or_default();
    let price = if is_time { format!("{}/h", l.unit_price) } else { l.unit_price.clone() };
    vec![
        Cell::plain(l.description.clone()),
        Cell { text: sub, face: Face::Regular, color: GREY },
        Cell::plain(time),
        Cell::plain(price),
        Cell::plain(l.quantity.clone()),
        Cell::plain(l.amount.clone()),
    ]
}

const TOTALS_HEIGHT: f32 = 62.0;
const PAYMENT_HEIGHT: f32 = 30.0;

fn invoice_lines(b: &mut Builder, doc: &InvoiceDocument) {
    let cols = invoice_columns(b);
    let rows: Vec<Vec<Cell>> = doc.lines.iter().map(|l| line_cells(doc, l)).collect();
    table(b, &cols, rows, TOTALS_HEIGHT + PAYMENT_HEIGHT);
    if doc.lines.is_empty() {
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No lines.");
    }
    if b.remaining() < TOTALS_HEIGHT + PAYMENT_HEIGHT {
        b.new_page();
    }

    // Totals, right-aligned under the amount column.
    b.y += 8.0;
    let right = b.right() - CELL_PAD;
    let label_x = right - 150.0;
    let rows = [
        ("Subtotal", doc.subtotal.clone(), Face::Regular),
        (&*format!("Tax ({}%)", trim_percent(&doc.tax_rate_percent)), doc.tax.clone(), Face::Regular),
    ];
    for (label, value, face) in rows.iter() {
        b.text(*face, 9.0, BLACK, label_x, b.y + 9.0, Align::Left, label);
        b.text(*face, 9.0, BLACK, right, b.y + 9.0, Align::Right, value);
        b.y += 14.0;
    }
    b.line(label_x, b.y, right + CELL_PAD, b.y, 0.8, BLACK);
    b.y += 5.0;
    b.text(Face::Bold, 11.0, BLACK, label_x, b.y + 11.0, Align::Left, "Total");
    b.text(Face::Bold, 11.0, BLACK, right, b.y + 11.0, Align::Right, &format!("{} {}", doc.total, doc.currency));
    b.y += 22.0;
    tax_note(b, doc.tax_note.as_deref());
}

/// The legal note of a non-standard tax treatment (SPEC 6), under the totals.
fn tax_note(b: &mut Builder, note: Option<&str>) {
    let Some(note) = note.filter(|n| !n.is_empty()) else { return };
    b.ensure(20.0);
    let width = b.content_width();
    b.paragraph(Face::Bold, 9.0, BLACK, MARGIN_X, width, note);
    b.y += 8.0;
}

fn invoice_terms(b: &mut Builder, doc: &InvoiceDocument) {
    let width = b.content_width();
    let days = doc.partner.payment_terms_days;
    let payment = match (doc.status.as_str(), doc.due_date.as_deref()) {
        ("void", _) => "This invoice is void and is not payable.".to_string(),
        (_, Some(due)) => format!("Payable within {days} days, by {}.", human_date(due)),
        (_, None) => format!("Payable within {days} days of the issue date."),
    };
    b.ensure(24.0);
    b.text(Face::Bold, 9.0, BLACK, MARGIN_X, b.y + 9.0, Align::Left, "Payment terms");
    b.y += 13.0;
    b.paragraph(Face::Regular, 8.5, BLACK, MARGIN_X, width, &payment);
    b.y += 8.0;

    if doc.support_terms.is_empty() {
        return;
    }
    b.ensure(40.0);
    b.text(Face::Bold, 9.0, BLACK, MARGIN_X, b.y + 9.0, Align::Left, "Support terms");
    b.y += 13.0;
    for t in &doc.support_terms {
        support_terms(b, t);
    }
}

fn support_terms(b: &mut Builder, t: &SupportTerms) {
    let width = b.content_width();
    let indent = MARGIN_X + 8.0;
    b.ensure(30.0);
    b.paragraph(Face::Bold, 8.5, BLACK, MARGIN_X, width, &t.plan_name);
    if !t.scope.is_empty() {
        b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &format!("Scope: {}", t.scope));
    }
    let hours = match &t.hours_of_service {
        Some(h) => format!("Hours of service: {} {}–{} ({})", days_text(&h.days), h.start, h.end, h.timezone),
        None => "Hours of service: not specified".to_string(),
    };
    b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &hours);
    if !t.contact_methods.is_empty() {
        let contacts: Vec<String> =
            t.contact_methods.iter().map(|c| format!("{} {}", contact_kind(&c.kind), c.value)).collect();
        b.paragraph(Face::Regular, 8.0, BLACK, indent, width - 8.0, &format!("Contact: {}", contacts.join("; ")));
    }
    b.y += 5.0;
}

fn contact_kind(kind: &str) -> &str {
    match kind {
        "email" => "email",
        "phone" => "phone",
        "portal" => "portal",
        "chat" => "chat",
        other => other,
    }
}

fn days_text(days: &[String]) -> String {
    const ORDER: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut idx: Vec<usize> =
        days.iter().filter_map(|d| ORDER.iter().position(|o| o.eq_ignore_ascii_case(d))).collect();
    idx.sort_unstable();
    idx.dedup();
    if idx.is_empty() {
        return "no days".to_string();
    }
    if idx.len() == 7 {
        return "Mon–Sun".to_string();
    }
    // Runs of consecutive days: Mon–Fri, or Mon, Wed, Fri.
    let mut parts = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && idx[j + 1] == idx[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}–{}", NAMES[idx[i]], NAMES[idx[j]]));
        } else {
            for k in i..=j {
                parts.push(NAMES[idx[k]].to_string());
            }
        }
        i = j + 1;
    }
    parts.join(", ")
}

// ---------------------------------------------------------------------------------------------
// Usage summary

fn title_block(b: &mut Builder, title: &str, lines: &[String]) {
    b.paragraph(Face::Bold, 16.0, ACCENT, MARGIN_X, b.content_width(), title);
    b.y += 2.0;
    for l in lines {
        b.paragraph(Face::Regular, 9.0, BLACK, MARGIN_X, b.content_width(), l);
    }
    b.y += 10.0;
}

fn usage_body(b: &mut Builder, title: &str, range: &str, group_by: &str, rows: &[UsageRow]) {
    title_block(b, title, &[format!("Range: {range}"), format!("Grouped by: {}", group_by.replace('_', " "))]);
    let cols = layout_columns(
        b,
        vec![
            Column { title: "Group", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Entries", width: 34.0, align: Align::Right, wrap: false },
            Column { title: "Time", width: 42.0, align: Align::Right, wrap: false },
            Column { title: "Billable", width: 44.0, align: Align::Right, wrap: false },
            Column { title: "Non-billable", width: 58.0, align: Align::Right, wrap: false },
            Column { title: "Billed", width: 46.0, align: Align::Right, wrap: false },
            Column { title: "After hours", width: 54.0, align: Align::Right, wrap: false },
            Column { title: "Tickets", width: 36.0, align: Align::Right, wrap: false },
            Column { title: "Escalations", width: 100.0, align: Align::Left, wrap: true },
        ],
    );
    let hm = |m: u64| hmm(m as f64);
    let escalations = |e: &std::collections::BTreeMap<String, u64>| {
        if e.is_empty() {
            "—".to_string()
        } else {
            e.iter().map(|(k, v)| format!("{} {v}", k.replace('_', " "))).collect::<Vec<_>>().join(", ")
        }
    };
    let mut table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::plain(if r.label.is_empty() { r.key.clone() } else { r.label.clone() }),
                Cell::plain(r.entries.to_string()),
                Cell::plain(hm(r.minutes)),
                Cell::plain(hm(r.billable_minutes)),
                Cell::plain(hm(r.non_billable_minutes)),
                Cell::plain(hm(r.billed_minutes)),
                Cell::plain(hm(r.after_hours_minutes)),
                Cell::plain(r.tickets.to_string()),
                Cell::plain(escalations(&r.escalations)),
            ]
        })
        .collect();
    if rows.len() > 1 {
        let sum = |f: fn(&UsageRow) -> u64| rows.iter().map(f).sum::<u64>();
        let mut esc = std::collections::BTreeMap::new();
        for r in rows {
            for (k, v) in &r.escalations {
                *esc.entry(k.clone()).or_insert(0) += v;
            }
        }
        let bold = |s: String| Cell { text: s, face: Face::Bold, color: BLACK };
        table_rows.push(vec![
            bold("All groups".into()),
            bold(sum(|r| r.entries).to_string()),
            bold(hm(sum(|r| r.minutes))),
            bold(hm(sum(|r| r.billable_minutes))),
            bold(hm(sum(|r| r.non_billable_minutes))),
            bold(hm(sum(|r| r.billed_minutes))),
            bold(hm(sum(|r| r.after_hours_minutes))),
            bold(sum(|r| r.tickets).to_string()),
            bold(escalations(&esc)),
        ]);
    }
    if rows.is_empty() {
        table(b, &cols, Vec::new(), 0.0);
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No support time recorded in this range.");
        return;
    }
    table(b, &cols, table_rows, 0.0);
    b.paragraph(
        Face::Regular,
        7.5,
        GREY,
        MARGIN_X,
        b.content_width(),
        "Times as h:mm. Time: raw minutes of all entries; billable / non-billable split them by the billable flag; \
         billed: rounded minutes of the chargeable entries; after hours: raw minutes outside the plans' hours of service.",
    );
    b.y += 12.0;
    usage_chart(b, rows);
}

const BILLABLE: (f32, f32, f32) = (0.16, 0.42, 0.75);
const NON_BILLABLE: (f32, f32, f32) = (0.96, 0.62, 0.25);

fn usage_chart(b: &mut Builder, rows: &[UsageRow]) {
    let bar_h = 9.0;
    let row_h = 15.0;
    let head_h = 44.0;
    let label_w = 130.0;
    let value_w = 44.0;
    let chart_x = MARGIN_X + label_w + 6.0;
    let chart_w = b.content_width() - label_w - 6.0 - value_w;
    let max_minutes = rows.iter().map(|r| r.billable_minutes + r.non_billable_minutes).max().unwrap_or(0).max(1);
    // A round scale: ticks at whole hours (or multiples).
    let max_hours = (max_minutes as f64 / 60.0).max(1.0);
    let step = nice_step(max_hours / 5.0);
    let scale_max = (max_hours / step).ceil() * step;
    let x_of = |minutes: f64| chart_x + (minutes / 60.0 / scale_max) as f32 * chart_w;

    let chart_head = |b: &mut Builder, cont: bool| {
        let title = if cont { "Hours per group (continued)" } else { "Hours per group" };
        b.text(Face::Bold, 10.0, BLACK, MARGIN_X, b.y + 10.0, Align::Left, title);
        // Legend.
        let ly = b.y + 16.0;
        b.rect(MARGIN_X, ly + 1.0, 8.0, 8.0, BILLABLE);
        b.text(Face::Regular, 8.0, BLACK, MARGIN_X + 11.0, ly + 8.0, Align::Left, "Billable");
        b.rect(MARGIN_X + 60.0, ly + 1.0, 8.0, 8.0, NON_BILLABLE);
        b.text(Face::Regular, 8.0, BLACK, MARGIN_X + 71.0, ly + 8.0, Align::Left, "Non-billable");
        // Axis with hour ticks.
        let ay = b.y + head_h - 4.0;
        let mut t = 0.0;
        while t <= scale_max + 1e-9 {
            let x = x_of(t * 60.0);
            b.text(Face::Regular, 7.0, GREY, x, ay - 3.0, Align::Center, &format!("{}h", trim_float(t)));
            t += step;
        }
        b.y += head_h;
    };

    b.ensure(head_h + row_h * rows.len().min(3) as f32);
    chart_head(b, false);
    for (i, r) in rows.iter().enumerate() {
        if b.remaining() < row_h {
            b.new_page();
            chart_head(b, true);
        }
        let label = if r.label.is_empty() { r.key.clone() } else { r.label.clone() };
        let by = b.y + (row_h - bar_h) / 2.0;
        let row_top = b.y;
        b.y += row_h;
        chart_grid(b, x_of, step, scale_max, row_top);
        b.y = row_top;
        b.text_fit(Face::Regular, 8.0, BLACK, MARGIN_X, by + 7.5, label_w, Align::Left, &label);
        let x0 = x_of(0.0);
        let x1 = x_of(r.billable_minutes as f64);
        let x2 = x_of((r.billable_minutes + r.non_billable_minutes) as f64);
        if x1 > x0 {
            b.rect(x0, by, x1 - x0, bar_h, BILLABLE);
        }
        if x2 > x1 {
            b.rect(x1, by, x2 - x1, bar_h, NON_BILLABLE);
        }
        let value = hmm((r.billable_minutes + r.non_billable_minutes) as f64);
        let vw = b.fonts.width(Face::Regular, 7.5, &value);
        b.rect(x2 + 1.5, by, vw + 3.0, bar_h, (1.0, 1.0, 1.0));
        b.text(Face::Regular, 7.5, GREY, x2 + 3.0, by + 7.5, Align::Left, &value);
        b.y += row_h;
        let _ = i;
    }
    b.y += 6.0;
}

/// Vertical grid lines of the chart section between `top` and the cursor.
fn chart_grid(b: &mut Builder, x_of: impl Fn(f64) -> f32, step: f64, scale_max: f64, top: f32) {
    let mut t = 0.0;
    while t <= scale_max + 1e-9 {
        let x = x_of(t * 60.0);
        let (w, c) = if t == 0.0 { (0.8, GREY) } else { (0.3, RULE) };
        b.line(x, top, x, b.y, w, c);
        t += step;
    }
}

fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(0.25);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---------------------------------------------------------------------------------------------
// Invoice register

fn register_body(b: &mut Builder, range: &str, rows: &[RegisterRow]) {
    title_block(b, "Invoice register", &[format!("Invoices issued: {range}"), format!("{} document(s); void invoices are marked and not counted in the sums; credit notes (status \u{201c}credit\u{201d}) count negative.", rows.len())]);
    let cols = layout_columns(
        b,
        vec![
            Column { title: "Number", width: 62.0, align: Align::Left, wrap: false },
            Column { title: "Issued", width: 56.0, align: Align::Left, wrap: false },
            Column { title: "Due", width: 56.0, align: Align::Left, wrap: false },
            Column { title: "Customer", width: 0.0, align: Align::Left, wrap: true },
            Column { title: "Status", width: 36.0, align: Align::Left, wrap: false },
            Column { title: "Cur.", width: 28.0, align: Align::Left, wrap: false },
            Column { title: "Subtotal", width: 58.0, align: Align::Right, wrap: false },
            Column { title: "Tax", width: 50.0, align: Align::Right, wrap: false },
            Column { title: "Total", width: 60.0, align: Align::Right, wrap: false },
        ],
    );
    let table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let void = r.status == "void";
            let color = if void { GREY } else { BLACK };
            let c = |s: String| Cell { text: s, face: Face::Regular, color };
            vec![
                c(r.number.clone().unwrap_or_else(|| "—".into())),
                c(r.issued_at.as_deref().map(|t| t.get(..10).unwrap_or(t).to_string()).unwrap_or_default()),
                c(r.due_date.clone().unwrap_or_default()),
                c(r.customer_name.clone()),
                Cell {
                    text: if void {
                        "VOID".into()
                    } else if r.kind == "credit_note" {
                        "credit".into()
                    } else {
                        r.status.clone()
                    },
                    face: if void { Face::Bold } else { Face::Regular },
                    color,
                },
                c(r.currency.clone()),
                c(r.subtotal.clone()),
                c(r.tax.clone()),
                c(r.total.clone()),
            ]
        })
        .collect();

    // The table, with void rows struck through.
    let header_h = TABLE_LEADING + 6.0;
    table_header(b, &cols);
    let amounts_x = MARGIN_X + cols.iter().take(6).map(|c| c.width).sum::<f32>();
    for (r, cells) in rows.iter().zip(&table_rows) {
        let (lines, h) = row_lines(b, &cols, cells);
        if b.remaining() < h {
            b.new_page();
            let _ = header_h;
            table_header(b, &cols);
        }
        let top = b.y;
        draw_row(b, &cols, cells, &lines, h, true);
        if r.status == "void" {
            let mid = top + 2.5 + TABLE_SIZE * 0.65;
            b.line(amounts_x + CELL_PAD, mid, b.right() - CELL_PAD, mid, 0.6, GREY);
        }
    }
    if rows.is_empty() {
        b.paragraph(Face::Regular, 8.5, GREY, MARGIN_X, b.content_width(), "No invoices were issued in this range.");
        return;
    }

    // Sums per currency, void invoices excluded.
    let mut sums: Vec<(String, Dec, Dec, Dec, usize)> = Vec::new();
    for r in rows.iter().filter(|r| r.status != "void") {
        let (Some(s), Some(t), Some(tt)) = (Dec::parse(&r.subtotal), Dec::parse(&r.tax), Dec::parse(&r.total)) else {
            continue;
        };
        match sums.iter_mut().find(|x| x.0 == r.currency) {
            Some(x) => {
                x.1 = x.1.add(s);
                x.2 = x.2.add(t);
                x.3 = x.3.add(tt);
                x.4 += 1;
            }
            None => sums.push((r.currency.clone(), s, t, tt, 1)),
        }
    }
    sums.sort_by(|a, b| a.0.cmp(&b.0));
    if sums.is_empty() {
        return;
    }
    b.y += 6.0;
    for (cur, s, t, tt, n) in sums {
        let label = format!("Sum of {n} document(s)");
        let cells = vec![
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell { text: cur, face: Face::Bold, color: BLACK },
            Cell { text: s.to_string(), face: Face::Bold, color: BLACK },
            Cell { text: t.to_string(), face: Face::Bold, color: BLACK },
            Cell { text: tt.to_string(), face: Face::Bold, color: BLACK },
        ];
        // The label spans the first columns.
        let (lines, h) = row_lines(b, &cols, &cells);
        b.ensure(h);
        b.text(Face::Bold, TABLE_SIZE, BLACK, MARGIN_X + CELL_PAD, b.y + 2.5 + TABLE_SIZE, Align::Left, &label);
        draw_row(b, &cols, &cells, &lines, h, false);
    }
}

/// A decimal as in the documents' amount strings: mantissa and number of fraction digits.
#[derive(Clone, Copy)]
struct Dec {
    mantissa: i128,
    scale: u32,
}

impl Dec {
    fn parse(s: &str) -> Option<Dec> {
        let s = s.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Dec { mantissa: if neg { -mantissa } else { mantissa }, scale: frac.len() as u32 })
    }

    fn add(self, other: Dec) -> Dec {
        let scale = self.scale.max(other.scale);
        let up = |d: Dec| d.mantissa * 10i128.pow(scale - d.scale);
        Dec { mantissa: up(self) + up(other), scale }
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let p = 10u128.pow(self.scale);
        write!(f, "{sign}{}.{:0width$}", abs / p, abs % p, width = self.scale as usize)
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

/// `"67.5"` minutes -> `"1:08"` (rounded to the minute, halves up).
fn hmm_from_minutes(minutes: &str) -> String {
    match minutes.trim().parse::<f64>() {
        Ok(m) => hmm(m),
        Err(_) => minutes.to_string(),
    }
}

fn hmm(minutes: f64) -> String {
    let neg = minutes < 0.0;
    let total = (minutes.abs() + 0.5).floor() as u64;
    format!("{}{}:{:02}", if neg { "-" } else { "" }, total / 60, total % 60)
}

fn trim_percent(p: &str) -> String {
    if p.contains('.') {
        p.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        p.to_string()
    }
}

fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let s = s.get(..10)?;
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    (1..=12).contains(&m).then_some(())?;
    (1..=days_in_month(y, m)).contains(&d).then_some((y, m, d))
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The day before `date` (`YYYY-MM-DD`): the last day of a period whose end is exclusive.
fn last_day(date: &str) -> String {
    match parse_date(date) {
        Some((y, m, d)) if d > 1 => format!("{y:04}-{m:02}-{:02}", d - 1),
        Some((y, 1, _)) => format!("{:04}-12-31", y - 1),
        Some((y, m, _)) => format!("{y:04}-{:02}-{:02}", m - 1, days_in_month(y, m - 1)),
        None => date.to_string(),
    }
}

/// `2026-10-01` -> `1 Oct 2026` (unparseable input is shown as given).
fn human_date(date: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match parse_date(date) {
        Some((y, m, d)) => format!("{d} {} {y}", MONTHS[m as usize - 1]),
        None => date.to_string(),
    }
}

fn range_text(from: &str, to: &str) -> String {
    format!("{} – {}", human_date(from), human_date(&last_day(to)))
}

/// Seconds since the epoch of a date's midnight UTC (0 when unparseable).
fn unix_midnight(date: &str) -> i64 {
    let Some((y, m, d)) = parse_date(date) else { return 0 };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

fn country_name(code: &str) -> String {
    let name = match code.to_ascii_uppercase().as_str() {
        "DE" => "Germany",
        "AT" => "Austria",
        "CH" => "Switzerland",
        "FR" => "France",
        "NL" => "Netherlands",
        "BE" => "Belgium",
        "IT" => "Italy",
        "ES" => "Spain",
        "PL" => "Poland",
        "GB" | "UK" => "United Kingdom",
        "IE" => "Ireland",
        "US" => "United States",
        "CA" => "Canada",
        "GR" => "Greece",
        "RU" => "Russia",
        "UA" => "Ukraine",
        "JP" => "Japan",
        "SE" => "Sweden",
        "DK" => "Denmark",
        "NO" => "Norway",
        "FI" => "Finland",
        "CZ" => "Czechia",
        "PT" => "Portugal",
        _ => return code.to_string(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(hmm_from_minutes("60"), "1:00");
        assert_eq!(hmm_from_minutes("30"), "0:30");
        assert_eq!(hmm_from_minutes("67.5"), "1:08");
        assert_eq!(hmm_from_minutes("0"), "0:00");
        assert_eq!(last_day("2026-11-01"), "2026-10-31");
        assert_eq!(last_day("2026-01-01"), "2025-12-31");
        assert_eq!(last_day("2028-03-01"), "2028-02-29");
        assert_eq!(human_date("2026-10-01"), "1 Oct 2026");
        assert_eq!(days_text(&["mon".into(), "tue".into(), "wed".into(), "thu".into(), "fri".into()]), "Mon–Fri");
        assert_eq!(days_text(&["mon".into(), "wed".into(), "fri".into()]), "Mon, Wed, Fri");
        assert_eq!(unix_midnight("1970-01-02"), 86_400);
        assert_eq!(unix_midnight("2026-10-01"), 1_790_812_800);
        assert_eq!(Dec::parse("150.00").unwrap().add(Dec::parse("-0.50").unwrap()).to_string(), "149.50");
        assert_eq!(Dec::parse("1500").unwrap().add(Dec::parse("3").unwrap()).to_string(), "1503");
        assert_eq!(trim_percent("19.00"), "19");
        assert_eq!(trim_percent("7.5"), "7.5");
    }
}
