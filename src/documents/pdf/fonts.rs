//! The embedded DejaVu Sans faces: parsed once per process, measured for layout, and named by
//! fixed resource ids on the pages.

use std::sync::OnceLock;

use printpdf::{FontId, ParsedFont, PdfFontHandle};

use crate::documents::pdf::error::PdfError;

/// Compiled into the binary, so a server renders the same PDFs whatever fonts its host has.
const FONT_REGULAR_TTF: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/fonts/DejaVuSans.ttf"));
const FONT_BOLD_TTF: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/reports/fonts/DejaVuSans-Bold.ttf"));

/// Fixed font resource ids (printpdf would draw random ones): the first six letters also
/// form the subset tag of the embedded font names.
pub(super) const FONT_ID_REGULAR: &str = "DJVSNR";
pub(super) const FONT_ID_BOLD: &str = "DJVSNB";

pub(super) struct Fonts {
    pub(super) regular: ParsedFont,
    pub(super) bold: ParsedFont,
}

pub(super) fn fonts() -> Result<&'static Fonts, PdfError> {
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
pub(super) enum Face {
    Regular,
    Bold,
}

impl Face {
    /// The face as the pages name it: by its fixed resource id.
    pub(super) fn handle(self) -> PdfFontHandle {
        PdfFontHandle::External(FontId(
            match self {
                Face::Regular => FONT_ID_REGULAR,
                Face::Bold => FONT_ID_BOLD,
            }
            .to_string(),
        ))
    }
}

impl Fonts {
    fn face(&self, face: Face) -> &ParsedFont {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    pub(super) fn has_glyph(&self, face: Face, c: char) -> bool {
        matches!(self.face(face).lookup_glyph_index(c as u32), Some(g) if g != 0)
    }

    /// Width of `s` in points at `size`: the sum of the glyphs' advances over units per em.
    pub(super) fn width(&self, face: Face, size: f32, s: &str) -> f32 {
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
