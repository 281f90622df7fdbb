//! PagoEfectivo's own vocabulary (Spanish, as in its reports).

/// `ESTADO` of a CIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipStatus {
    Pendiente,
    Pagado,
    Expirado,
    Anulado,
    /// A paid CIP whose money went back to the payer.
    Extornado,
}

impl CipStatus {
    pub const EXPECTED: &'static str = "Pendiente, Pagado, Expirado, Anulado, Extornado";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_lowercase().as_str() {
            "pendiente" => Self::Pendiente,
            "pagado" => Self::Pagado,
            "expirado" => Self::Expirado,
            "anulado" => Self::Anulado,
            "extornado" => Self::Extornado,
            _ => return None,
        })
    }
}
