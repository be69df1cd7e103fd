//! Signed links: tokens a person can use without logging in (unsubscribe), which we
//! can check without storing them.
//!
//! A token is `v1.<user id>.<HMAC-SHA256(key, "unsubscribe:v1:" || user id)>`, both
//! parts URL-safe base64. It cannot be forged without the key, it does not expire
//! (an unsubscribe link in an old email must still work), and it is the same for every
//! digest, so it names a person and nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::repositories::signing_keys;

const UNSUBSCRIBE_PURPOSE: &[u8] = b"unsubscribe:v1:";
const KEY_NAME: &str = "links";

#[derive(Clone)]
pub struct LinkSigner {
    key: SecretString,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner([redacted])")
    }
}

impl LinkSigner {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// The configured key, or else the one kept in the database (created by the first
    /// process that needs it), so every process and every restart signs alike.
    pub async fn resolve(configured: Option<&SecretString>, db: &PgPool) -> sqlx::Result<Self> {
        if let Some(key) = configured {
            return Ok(Self::new(key.clone()));
        }
        let candidate = crate::services::tokens::random_token();
        let key = signing_keys::get_or_create(db, KEY_NAME, &candidate).await?;
        Ok(Self::new(SecretString::from(key)))
    }

    fn mac(&self, user_id: Uuid) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(UNSUBSCRIBE_PURPOSE);
        mac.update(user_id.as_bytes());
        mac
    }

    pub fn unsubscribe_token(&self, user_id: Uuid) -> String {
        let tag = self.mac(user_id).finalize().into_bytes();
        format!(
            "v1.{}.{}",
            URL_SAFE_NO_PAD.encode(user_id.as_bytes()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The person a token names, if it is one we signed.
    pub fn verify_unsubscribe(&self, token: &str) -> Option<Uuid> {
        if token.len() > 128 {
            return None;
        }
        let mut parts = token.split('.');
        let (Some("v1"), Some(id), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let id = Uuid::from_slice(&URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Constant-time comparison.
        self.mac(id).verify_slice(&tag).ok()?;
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> LinkSigner {
        LinkSigner::new(SecretString::from(key.to_owned()))
    }

    #[test]
    fn a_token_names_its_person_and_cannot_be_forged() {
        let s = signer("a key of some length for the test");
        let id = Uuid::new_v4();
        let token = s.unsubscribe_token(id);
        assert_eq!(s.verify_unsubscribe(&token), Some(id));
        // Another key, another person's id with this tag, a changed tag: all refused.
        assert_eq!(signer("another key").verify_unsubscribe(&token), None);
        let other = Uuid::new_v4();
        let parts: Vec<&str> = token.split('.').collect();
        let swapped = format!(
            "v1.{}.{}",
            URL_SAFE_NO_PAD.encode(other.as_bytes()),
            parts[2]
        );
        assert_eq!(s.verify_unsubscribe(&swapped), None);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.verify_unsubscribe(&tampered), None);
        for junk in ["", "v1", "v1..", "v2.a.b", "v1.%%%.abc", &"x".repeat(500)] {
            assert_eq!(s.verify_unsubscribe(junk), None, "{junk}");
        }
        // Tokens are URL-safe as they are.
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
    }
}
