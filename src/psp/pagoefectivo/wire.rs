//! PagoEfectivo's own vocabulary (Spanish, as in its reports and the CIP API).

/// `ESTADO` of a CIP. The API gives a numeric `status` and a `statusName`;
/// reports give the word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipStatus {
    /// "Pendiente" in reports, "Generado" in the API's `statusName`.
    Pendiente,
    Pagado,
    Expirado,
    /// "Anulado" in reports, "Eliminado" in the API (a CIP deleted before payment).
    Anulado,
    /// A paid CIP whose money went back to the payer (reports only).
    Extornado,
}

impl CipStatus {
    pub const EXPECTED: &'static str = "Pendiente/Generado, Pagado, Expirado, Anulado/Eliminado, Extornado";
    /// The API's numeric codes we know.
    pub const EXPECTED_CODES: &'static str = "21 (Expirado), 22 (Generado), 23 (Pagado), 25 (Eliminado)";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_lowercase().as_str() {
            "pendiente" | "generado" => Self::Pendiente,
            "pagado" => Self::Pagado,
            "expirado" => Self::Expirado,
            "anulado" | "eliminado" => Self::Anulado,
            "extornado" => Self::Extornado,
            _ => return None,
        })
    }

    /// The API's numeric `status`. Integrations in the wild read 22 as
    /// generated-and-pending, 23 paid, 21 expired and 25 deleted.
    pub fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            21 => Self::Expirado,
            22 => Self::Pendiente,
            23 => Self::Pagado,
            25 => Self::Anulado,
            _ => return None,
        })
    }

    /// The code the API uses for this status; an extorno only shows in reports.
    pub fn api_code(self) -> Option<i64> {
        match self {
            Self::Expirado => Some(21),
            Self::Pendiente => Some(22),
            Self::Pagado => Some(23),
            Self::Anulado => Some(25),
            Self::Extornado => None,
        }
    }

    /// The API's `statusName`.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Pendiente => "Generado",
            Self::Pagado => "Pagado",
            Self::Expirado => "Expirado",
            Self::Anulado => "Eliminado",
            Self::Extornado => "Extornado",
        }
    }
}

/// Callback `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipEvent {
    Paid,
    Expired,
}

impl CipEvent {
    pub const EXPECTED: &'static str = "cip.paid, cip.expired";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "cip.paid" => Some(Self::Paid),
            "cip.expired" => Some(Self::Expired),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => super::api::EVENT_CIP_PAID,
            Self::Expired => super::api::EVENT_CIP_EXPIRED,
        }
    }
}
