//! The voucher code as a CODE_128 barcode image for emails (inline PNG, so a
//! buyer can show it at the Efecty or PagoEfectivo counter; no remote image
//! host learns who opened the email). Bars from `barcoders`, pixels from `png`.

use barcoders::sym::code128::Code128;

/// The Content-ID the HTML template points at (`cid:voucher-barcode`).
pub const BARCODE_CONTENT_ID: &str = "voucher-barcode";
/// Longest value drawn, in characters (voucher codes and CIPs are far shorter).
pub const BARCODE_VALUE_CHARS_MAX: usize = 48;
/// Pixels per bar module: 2 px keeps a 12-digit CIP under 300 px wide.
const MODULE_PX: u32 = 2;
/// Bar height in pixels.
const BAR_HEIGHT_PX: u32 = 80;
/// Blank modules on each side: CODE_128 asks for at least 10.
const QUIET_ZONE_MODULES: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum BarcodeError {
    #[error("a barcode needs 1 to {BARCODE_VALUE_CHARS_MAX} printable ASCII characters, not {0:?}")]
    BadValue(String),
    #[error("cannot encode {value:?} as CODE_128: {reason}")]
    Encode { value: String, reason: String },
    #[error("cannot write the barcode PNG: {0}")]
    Png(String),
}

/// The bar modules (1 = bar) of `value` in CODE_128: character set C (digit
/// pairs, the densest) for an even number of digits, else set B.
pub fn code128_modules(value: &str) -> Result<Vec<u8>, BarcodeError> {
    let ok = !value.is_empty()
        && value.chars().count() <= BARCODE_VALUE_CHARS_MAX
        && value.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if !ok {
        return Err(BarcodeError::BadValue(value.to_string()));
    }
    let all_digits = value.chars().all(|c| c.is_ascii_digit());
    let data = if all_digits && value.len() % 2 == 0 { format!("\u{0106}{value}") } else { format!("\u{0181}{value}") };
    let code =
        Code128::new(data).map_err(|e| BarcodeError::Encode { value: value.to_string(), reason: e.to_string() })?;
    Ok(code.encode())
}

/// The barcode of `value` as a grayscale PNG, black bars on white.
pub fn code128_png(value: &str) -> Result<Vec<u8>, BarcodeError> {
    let modules = code128_modules(value)?;
    let width_modules = modules.len() as u32 + 2 * QUIET_ZONE_MODULES;
    let width = width_modules * MODULE_PX;
    let mut line = Vec::with_capacity(width as usize);
    let quiet = std::iter::repeat_n(0u8, QUIET_ZONE_MODULES as usize);
    for module in quiet.clone().chain(modules.iter().copied()).chain(quiet) {
        let shade = if module == 1 { 0x00 } else { 0xFF };
        line.extend(std::iter::repeat_n(shade, MODULE_PX as usize));
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, BAR_HEIGHT_PX);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| BarcodeError::Png(e.to_string()))?;
        let pixels: Vec<u8> = line.iter().copied().cycle().take(line.len() * BAR_HEIGHT_PX as usize).collect();
        writer.write_image_data(&pixels).map_err(|e| BarcodeError::Png(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cip_is_drawn_in_set_c_and_an_alphanumeric_code_in_set_b() {
        // Start C (11010011100) for 12 digits; start B (11010010000) for letters.
        let cip = code128_modules("100000573123").unwrap();
        assert_eq!(&cip[..11], &[1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0]);
        let efecty = code128_modules("EF-99A1").unwrap();
        assert_eq!(&efecty[..11], &[1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
        // Every CODE_128 symbol ends with the stop pattern and its final bar.
        for m in [&cip, &efecty] {
            assert_eq!(&m[m.len() - 13..], &[1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1]);
        }
        // Set C packs two digits per symbol: 12 digits = 6 symbols, plus start and check
        // (11 modules each) and the 13-module stop.
        assert_eq!(cip.len(), 11 * 8 + 13);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in ["", "código", "a\u{7}b", &"9".repeat(BARCODE_VALUE_CHARS_MAX + 1)] {
            assert!(matches!(code128_modules(bad), Err(BarcodeError::BadValue(_))), "{bad:?}");
        }
    }

    #[test]
    fn the_png_has_the_quiet_zones_and_bar_height() {
        let png = code128_png("100000573123").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), ((101 + 2 * QUIET_ZONE_MODULES) * MODULE_PX, BAR_HEIGHT_PX));
    }
}
