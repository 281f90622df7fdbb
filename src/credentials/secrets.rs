//! The secret half of a PSP account: each PSP's fields, read from JSON or the
//! environment, checked, wiped from memory when dropped, never printed.

use super::*;

/// dLocal Payins credentials (`X-Login`, `X-Trans-Key`, the HMAC secret key).
#[derive(Clone, PartialEq, Eq)]
pub struct DlocalSecrets {
    pub login: String,
    pub trans_key: String,
    pub secret: String,
}

/// PagoEfectivo CIP API credentials (`idService`, `accessKey`, secret key).
#[derive(Clone, PartialEq, Eq)]
pub struct PagoEfectivoSecrets {
    pub service_id: String,
    pub access_key: String,
    pub secret: String,
}

impl DlocalSecrets {
    /// What the dLocal client signs its requests with.
    pub fn credentials(&self) -> crate::psp::dlocal::client::DlocalCredentials {
        crate::psp::dlocal::client::DlocalCredentials {
            login: self.login.clone(),
            trans_key: self.trans_key.clone(),
            secret: self.secret.clone(),
        }
    }
}

impl PagoEfectivoSecrets {
    /// What the PagoEfectivo client asks its tokens with.
    pub fn credentials(&self) -> crate::psp::pagoefectivo::client::PeCredentials {
        crate::psp::pagoefectivo::client::PeCredentials {
            service_id: self.service_id.clone(),
            access_key: self.access_key.clone(),
            secret: self.secret.clone(),
        }
    }
}

impl fmt::Debug for DlocalSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DlocalSecrets { login: <redacted>, trans_key: <redacted>, secret: <redacted> }")
    }
}

impl fmt::Debug for PagoEfectivoSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PagoEfectivoSecrets { service_id: <redacted>, access_key: <redacted>, secret: <redacted> }")
    }
}

// Secrets are wiped from memory when dropped (what the allocator frees is not).
impl Drop for DlocalSecrets {
    fn drop(&mut self) {
        self.login.zeroize();
        self.trans_key.zeroize();
        self.secret.zeroize();
    }
}

impl Drop for PagoEfectivoSecrets {
    fn drop(&mut self) {
        self.service_id.zeroize();
        self.access_key.zeroize();
        self.secret.zeroize();
    }
}

/// One account's secrets, whichever the PSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSecrets {
    Dlocal(DlocalSecrets),
    PagoEfectivo(PagoEfectivoSecrets),
}

impl AccountSecrets {
    pub fn psp(&self) -> PspKind {
        match self {
            AccountSecrets::Dlocal(_) => PspKind::Dlocal,
            AccountSecrets::PagoEfectivo(_) => PspKind::PagoEfectivo,
        }
    }

    /// The fields as (name, value), in [`PspKind::secret_fields`] order.
    pub(super) fn fields(&self) -> [(&'static str, &str); 3] {
        match self {
            AccountSecrets::Dlocal(s) => [("login", &s.login), ("trans_key", &s.trans_key), ("secret", &s.secret)],
            AccountSecrets::PagoEfectivo(s) => {
                [("service_id", &s.service_id), ("access_key", &s.access_key), ("secret", &s.secret)]
            }
        }
    }

    /// Builds and checks the secrets of `psp` from a lookup by field name;
    /// `missing` says how a field that is not there is named in the error.
    pub(super) fn from_lookup(
        psp: PspKind,
        mut value_of: impl FnMut(&'static str) -> Result<Option<String>, CredentialError>,
        missing: impl Fn(&'static str) -> String,
    ) -> Result<AccountSecrets, CredentialError> {
        let [a, b, c] = psp.secret_fields();
        let mut take = |field: &'static str| -> Result<String, CredentialError> {
            let value = value_of(field)?.ok_or_else(|| CredentialError::BadSecrets(missing(field)))?;
            check_secret_field(field, &value)?;
            Ok(value)
        };
        let (first, second, third) = (take(a)?, take(b)?, take(c)?);
        Ok(match psp {
            PspKind::Dlocal => AccountSecrets::Dlocal(DlocalSecrets { login: first, trans_key: second, secret: third }),
            PspKind::PagoEfectivo => AccountSecrets::PagoEfectivo(PagoEfectivoSecrets {
                service_id: first,
                access_key: second,
                secret: third,
            }),
        })
    }

    /// Parses `{"login": "...", "trans_key": "...", "secret": "..."}` (dLocal)
    /// or `{"service_id": "...", "access_key": "...", "secret": "..."}`
    /// (PagoEfectivo). Errors name fields, never values.
    pub fn parse_json(psp: PspKind, text: &str) -> Result<AccountSecrets, CredentialError> {
        if text.len() > SECRETS_JSON_BYTES_MAX {
            return Err(CredentialError::BadSecrets(format!(
                "the secrets are longer than {SECRETS_JSON_BYTES_MAX} bytes"
            )));
        }
        // serde_json's own messages may quote a value ("invalid type: integer `1234`"), so
        // only its position is kept.
        let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            CredentialError::BadSecrets(format!(
                "the secrets are not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let serde_json::Value::Object(mut fields) = document else {
            return Err(CredentialError::BadSecrets("the secrets must be a JSON object".into()));
        };
        let expected = psp.secret_fields();
        if let Some(unknown) = fields.keys().find(|k| !expected.contains(&k.as_str())) {
            return Err(CredentialError::BadSecrets(format!(
                "unknown field {unknown:?} for {psp} (expected {})",
                expected.join(", ")
            )));
        }
        AccountSecrets::from_lookup(
            psp,
            |field| match fields.remove(field) {
                None => Ok(None),
                Some(serde_json::Value::String(value)) => Ok(Some(value)),
                Some(_) => Err(CredentialError::BadSecrets(format!("field {field:?} must be a JSON string"))),
            },
            |field| format!("missing field {field:?} for {psp} (expected {})", expected.join(", ")),
        )
    }

    /// From a form's fields by name (the app's PSP accounts screen); the same
    /// checks as [`AccountSecrets::parse_json`]. Errors name fields, never values.
    pub fn from_fields(
        psp: PspKind,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Result<AccountSecrets, CredentialError> {
        let expected = psp.secret_fields();
        if let Some(unknown) = fields.keys().find(|k| !expected.contains(&k.as_str())) {
            return Err(CredentialError::BadSecrets(format!(
                "unknown field {unknown:?} for {psp} (expected {})",
                expected.join(", ")
            )));
        }
        AccountSecrets::from_lookup(
            psp,
            |field| Ok(fields.get(field).cloned()),
            |field| format!("missing field {field:?} for {psp} (expected {})", expected.join(", ")),
        )
    }

    /// Reads the JSON secrets document from `input` (standard input for the CLI), at most
    /// [`SECRETS_JSON_BYTES_MAX`] bytes.
    pub fn read_json(psp: PspKind, input: &mut impl Read) -> Result<AccountSecrets, CredentialError> {
        let mut bytes = Zeroizing::new(Vec::new());
        input
            .take(SECRETS_JSON_BYTES_MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CredentialError::BadSecrets(format!("cannot read the secrets: {e}")))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CredentialError::BadSecrets("the secrets are not UTF-8 text".into()))?;
        if text.trim().is_empty() {
            let fields = psp.secret_fields().join(", ");
            return Err(CredentialError::BadSecrets(format!("no secrets given: pass a JSON object with {fields}")));
        }
        AccountSecrets::parse_json(psp, text)
    }

    /// Reads `PREFIX_LOGIN`, `PREFIX_TRANS_KEY`, `PREFIX_SECRET` (dLocal) or
    /// `PREFIX_SERVICE_ID`, `PREFIX_ACCESS_KEY`, `PREFIX_SECRET` (PagoEfectivo)
    /// through `var` (the process environment for the CLI).
    pub fn from_env(
        psp: PspKind,
        prefix: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<AccountSecrets, CredentialError> {
        let name = |field: &str| format!("{}_{}", prefix.trim_end_matches('_'), field.to_ascii_uppercase());
        AccountSecrets::from_lookup(
            psp,
            |field| Ok(var(&name(field))),
            |field| format!("environment variable {} is not set", name(field)),
        )
    }

    /// What the keyring entry holds.
    pub(super) fn to_keyring_value(&self) -> Zeroizing<String> {
        let object: serde_json::Map<String, serde_json::Value> =
            self.fields().iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
        Zeroizing::new(serde_json::Value::Object(object).to_string())
    }

    /// `text` with these secret values (and anything credential-shaped)
    /// replaced by `[redacted]`: the one redaction, [`crate::redact::redact`].
    pub fn redact(&self, text: &str) -> String {
        let values: Vec<&str> = self.fields().iter().map(|(_, value)| *value).collect();
        crate::redact::redact(text, &values)
    }
}

/// Non-empty, at most [`SECRET_FIELD_CHARS_MAX`] characters, no whitespace or
/// control characters (a pasted key with a trailing newline is a mistake).
pub(super) fn check_secret_field(field: &str, value: &str) -> Result<(), CredentialError> {
    if value.is_empty() {
        return Err(CredentialError::BadSecrets(format!("field {field:?} is empty")));
    }
    if value.chars().count() > SECRET_FIELD_CHARS_MAX {
        return Err(CredentialError::BadSecrets(format!(
            "field {field:?} is longer than {SECRET_FIELD_CHARS_MAX} characters"
        )));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CredentialError::BadSecrets(format!("field {field:?} contains whitespace or control characters")));
    }
    Ok(())
}
