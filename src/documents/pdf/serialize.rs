//! Turns finished pages into the bytes of a PDF file: fonts and metadata attached, streams
//! deflated, and the trailer `/ID` made a hash of the content, so the same pages always give
//! the same file.

use printpdf::{FontId, Op, PdfDocument, PdfFont, PdfPage, PdfSaveOptions, Pt};

use crate::documents::pdf::error::PdfError;
use crate::documents::pdf::fonts::{Fonts, FONT_ID_BOLD, FONT_ID_REGULAR};
use crate::documents::pdf::format::unix_midnight;

/// What the file says about itself besides its pages.
pub(super) struct Info<'a> {
    pub(super) title: &'a str,
    pub(super) author: &'a str,
    /// The document's date (`YYYY-MM-DD`), used as creation and modification date so that no
    /// clock time gets into the file.
    pub(super) date: &'a str,
}

/// Serializes the pages (each `width` by `height` points) into a PDF file.
pub(super) fn to_bytes(
    fonts: &Fonts,
    (width, height): (f32, f32),
    pages: Vec<Vec<Op>>,
    info: Info<'_>,
) -> Result<Vec<u8>, PdfError> {
    let Info { title, author, date } = info;
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
    pdf.resources.fonts.map.insert(FontId(FONT_ID_REGULAR.to_string()), PdfFont::new(fonts.regular.clone()));
    pdf.resources.fonts.map.insert(FontId(FONT_ID_BOLD.to_string()), PdfFont::new(fonts.bold.clone()));
    let (w, h) = (printpdf::Mm::from(Pt(width)), printpdf::Mm::from(Pt(height)));
    let pages: Vec<PdfPage> = pages.into_iter().map(|ops| PdfPage::new(w, h, ops)).collect();
    let mut warnings = Vec::new();
    // printpdf's own `optimize` deflates every stream at zlib's best level, a large share of a
    // page's render time; the fastest level costs a somewhat larger file
    // (docs/performance-findings.md, finding 8).
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
