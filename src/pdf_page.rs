//! One page of monospaced text as a PDF: what a refund receipt and the daily
//! report's summary are. Rendered with `printpdf` (pure Rust, few
//! dependencies) and an embedded Noto Mono font, so Spanish names (Muñoz,
//! José) render and extract as text.

use printpdf::{Mm, PdfDocument};

/// Noto Mono (SIL Open Font License 1.1): Latin with accents, about 100 KiB.
const FONT_TTF: &[u8] = include_bytes!("../assets/fonts/NotoMono-Regular.ttf");
const PAGE_WIDTH_MM: f32 = 210.0;
const PAGE_HEIGHT_MM: f32 = 297.0;
const MARGIN_MM: f32 = 18.0;
const FONT_SIZE_PT: f32 = 10.0;
const LINE_HEIGHT_MM: f32 = 5.5;
/// A monospaced line at 10 pt fits this many characters inside the margins.
pub const LINE_CHARS_MAX: usize = 84;
/// One page holds this many lines.
pub const PAGE_LINES_MAX: usize = 46;

/// `lines` wrapped at [`LINE_CHARS_MAX`] and cut to one page.
pub fn wrap(lines: Vec<String>) -> Vec<String> {
    let mut wrapped = Vec::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            wrapped.push(String::new());
        }
        for chunk in chars.chunks(LINE_CHARS_MAX) {
            wrapped.push(chunk.iter().collect());
        }
    }
    wrapped.truncate(PAGE_LINES_MAX);
    wrapped
}

/// An A4 page of `lines` (already wrapped), titled `title` in the document's properties.
pub fn render(title: &str, lines: &[String]) -> Result<Vec<u8>, String> {
    let (doc, page, layer) = PdfDocument::new(title, Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM), "page");
    let font = doc.add_external_font(FONT_TTF).map_err(|e| e.to_string())?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut y = PAGE_HEIGHT_MM - MARGIN_MM;
    for line in lines {
        if !line.is_empty() {
            layer.use_text(line.as_str(), FONT_SIZE_PT, Mm(MARGIN_MM), Mm(y), &font);
        }
        y -= LINE_HEIGHT_MM;
    }
    doc.save_to_bytes().map_err(|e| e.to_string())
}
