//! PostgreSQL.

use secrecy::SecretString;
use url::Url;

use super::reader::Reader;

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL` (required): it may carry the password, so it is a secret.
    pub url: SecretString,
}

impl DatabaseConfig {
    /// `None` when the variable is missing or bad (and the problem is recorded).
    pub(super) fn read(r: &mut Reader) -> Option<Self> {
        let url = r.required("DATABASE_URL", |v| {
            let url = Url::parse(v).map_err(|e| format!("is not a URL ({e})"))?;
            if !matches!(url.scheme(), "postgres" | "postgresql") {
                return Err("must start with postgres:// or postgresql://".into());
            }
            Ok(SecretString::from(v.to_owned()))
        })?;
        Some(Self { url })
    }
}
