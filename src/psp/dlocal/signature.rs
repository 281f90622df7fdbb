//! dLocal's request and notification signature (Payins API v2.1):
//! `Authorization: V2-HMAC-SHA256, Signature: <hex>` where the signature is
//! HMAC-SHA256 with the secret key over `X-Login + X-Date + raw body`.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::psp::SignatureError;

pub const AUTHORIZATION_SCHEME: &str = "V2-HMAC-SHA256";

fn mac(secret: &str, login: &str, x_date: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(login.as_bytes());
    mac.update(x_date.as_bytes());
    mac.update(body);
    mac
}

/// Hex signature of one request or notification.
pub fn signature(secret: &str, login: &str, x_date: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, login, x_date, body).finalize().into_bytes())
}

/// The whole `Authorization` header value.
pub fn authorization(secret: &str, login: &str, x_date: &str, body: &[u8]) -> String {
    format!("{AUTHORIZATION_SCHEME}, Signature: {}", signature(secret, login, x_date, body))
}

/// Checks an `Authorization` header against the one we would compute, in
/// constant time (a timing leak would let a forger find the signature byte by byte).
pub fn verify(secret: &str, login: &str, x_date: &str, body: &[u8], authorization: &str) -> Result<(), SignatureError> {
    let provided = parse_authorization(authorization)?;
    let provided = hex::decode(provided).map_err(|_| SignatureError::Malformed("signature is not hex"))?;
    mac(secret, login, x_date, body).verify_slice(&provided).map_err(|_| SignatureError::Mismatch)
}

/// `V2-HMAC-SHA256, Signature: abc…` → `abc…`. Spaces around the comma and
/// the case of the scheme and key vary between senders; we accept both.
fn parse_authorization(header: &str) -> Result<&str, SignatureError> {
    let (scheme, rest) = header.split_once(',').ok_or(SignatureError::Malformed("no comma after the scheme"))?;
    if !scheme.trim().eq_ignore_ascii_case(AUTHORIZATION_SCHEME) {
        return Err(SignatureError::Malformed("scheme is not V2-HMAC-SHA256"));
    }
    let (key, value) = rest.split_once(':').ok_or(SignatureError::Malformed("no `Signature:`"))?;
    if !key.trim().eq_ignore_ascii_case("Signature") {
        return Err(SignatureError::Malformed("no `Signature:`"));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(SignatureError::Malformed("empty signature"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"D-1","status":"PAID"}"#;
    const DATE: &str = "2026-03-05T03:30:00.000Z";
    // printf '%s' 'sbx-login2026-03-05T03:30:00.000Z{"id":"D-1","status":"PAID"}' | openssl dgst -sha256 -hmac 'sbx-secret'
    const EXPECTED: &str = "e322f431047a961d1c4b3693eaf8ec43f3eb7249425c30c586a700a975bee05c";

    #[test]
    fn matches_the_hand_computed_vector() {
        assert_eq!(signature("sbx-secret", "sbx-login", DATE, BODY), EXPECTED);
        assert_eq!(
            authorization("sbx-secret", "sbx-login", DATE, BODY),
            format!("V2-HMAC-SHA256, Signature: {EXPECTED}")
        );
    }

    #[test]
    fn verifies_good_and_refuses_forged() {
        let good = format!("V2-HMAC-SHA256, Signature: {EXPECTED}");
        assert_eq!(verify("sbx-secret", "sbx-login", DATE, BODY, &good), Ok(()));
        assert_eq!(
            verify("sbx-secret", "sbx-login", DATE, BODY, &format!("v2-hmac-sha256,Signature:{EXPECTED}")),
            Ok(())
        );
        // One byte of the body, the date, the login or the secret changed.
        assert_eq!(
            verify("sbx-secret", "sbx-login", DATE, br#"{"id":"D-1","status":"PAIX"}"#, &good),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("sbx-secret", "sbx-login", "2026-03-05T03:30:01.000Z", BODY, &good),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify("sbx-secret", "other", DATE, BODY, &good), Err(SignatureError::Mismatch));
        assert_eq!(verify("wrong", "sbx-login", DATE, BODY, &good), Err(SignatureError::Mismatch));
        assert!(matches!(verify("sbx-secret", "sbx-login", DATE, BODY, ""), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify("sbx-secret", "sbx-login", DATE, BODY, "Bearer x"), Err(SignatureError::Malformed(_))));
        assert!(matches!(
            verify("sbx-secret", "sbx-login", DATE, BODY, "V2-HMAC-SHA256, Signature: zz"),
            Err(SignatureError::Malformed(_))
        ));
    }
}
