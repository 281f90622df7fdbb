//! PagoEfectivo's two hashes: the `hashString` that asks for an API token, and
//! the `PE-Signature` header on callbacks (hex HMAC-SHA256 of the raw body).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::psp::SignatureError;

/// `hashString` for `POST /v1/authorizations`: SHA-256 hex of
/// `idService.accessKey.secretKey.dateRequest`.
pub fn token_hash(service_id: &str, access_key: &str, secret_key: &str, date_request: &str) -> String {
    hex::encode(Sha256::digest(format!("{service_id}.{access_key}.{secret_key}.{date_request}").as_bytes()))
}

fn mac(secret_key: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

/// `PE-Signature` of a callback body.
pub fn callback_signature(secret_key: &str, body: &[u8]) -> String {
    hex::encode(mac(secret_key, body).finalize().into_bytes())
}

/// Constant-time check of a callback's `PE-Signature`.
pub fn verify_callback(secret_key: &str, body: &[u8], pe_signature: &str) -> Result<(), SignatureError> {
    let provided = pe_signature.trim();
    if provided.is_empty() {
        return Err(SignatureError::Malformed("empty PE-Signature"));
    }
    let provided = hex::decode(provided).map_err(|_| SignatureError::Malformed("PE-Signature is not hex"))?;
    mac(secret_key, body).verify_slice(&provided).map_err(|_| SignatureError::Mismatch)
}

/// The constant-time comparison of a token hash a client sent (sandbox side).
pub fn verify_token_hash(expected_hex: &str, provided_hex: &str) -> bool {
    use subtle::ConstantTimeEq;
    let provided = provided_hex.trim().to_ascii_lowercase();
    expected_hex.len() == provided.len() && bool::from(expected_hex.as_bytes().ct_eq(provided.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_matches_the_hand_computed_vector() {
        // printf '%s' '1234.pe-access.pe-secret.2026-03-04T22:30:00-05:00' | sha256sum
        assert_eq!(
            token_hash("1234", "pe-access", "pe-secret", "2026-03-04T22:30:00-05:00"),
            "531f74c7b94839c85750c7f700b8ac2869c663a8f62c62908894a33871ba31cb"
        );
        let hash = token_hash("1234", "pe-access", "pe-secret", "2026-03-04T22:30:00-05:00");
        assert!(verify_token_hash(&hash, &hash.to_ascii_uppercase()));
        assert!(!verify_token_hash(&hash, &token_hash("1234", "pe-access", "pe-secreT", "2026-03-04T22:30:00-05:00")));
    }

    #[test]
    fn callback_signature_matches_and_refuses_forged() {
        // printf '%s' '{"eventType":"cip.paid"}' | openssl dgst -sha256 -hmac 'pe-secret'
        let expected = "e16f70fa85d78f7cabaad01abcb4d1116bd40f30f1572c5b7c325c4584cbc829";
        let body = br#"{"eventType":"cip.paid"}"#;
        assert_eq!(callback_signature("pe-secret", body), expected);
        assert_eq!(verify_callback("pe-secret", body, expected), Ok(()));
        assert_eq!(
            verify_callback("pe-secret", br#"{"eventType":"cip.paid" }"#, expected),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_callback("other", body, expected), Err(SignatureError::Mismatch));
        assert!(matches!(verify_callback("pe-secret", body, ""), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify_callback("pe-secret", body, "xyz"), Err(SignatureError::Malformed(_))));
    }
}
