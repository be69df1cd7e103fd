//! Argon2id hashing off the async runtime.
//!
//! Each hash costs ~19 MiB and tens of milliseconds of CPU. Running it inline would
//! stall every other request on that worker thread; running it unbounded on the
//! blocking pool would let a login flood eat memory. So: `spawn_blocking`, behind a
//! semaphore sized to the CPU count.

use std::sync::Arc;

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown email costs the
    /// same time as a wrong password.
    dummy_hash: String,
}

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored)
        .map_err(|e| anyhow::anyhow!("stored hash is not a PHC string: {e}"))?;
    // Parameters come from the stored PHC string, so older hashes keep verifying if
    // the defaults change.
    Ok(argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        let dummy_hash = hash_blocking(&crate::services::tokens::random_token())
            .expect("hashing a random string cannot fail");
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash,
        }
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let secret = password.expose().to_owned();
        self.run(move || hash_blocking(&secret)).await
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no
    /// stored hash (unknown account), so both cases take the same time.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<bool> {
        let secret = password.expose().to_owned();
        let known = stored.is_some();
        let hash = stored.unwrap_or(&self.dummy_hash).to_owned();
        let matched = self.run(move || verify_blocking(&secret, &hash)).await?;
        Ok(known && matched)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("password hasher closed")?;
        tokio::task::spawn_blocking(work)
            .await
            .context("password hashing task panicked")?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_never_contain_the_password() {
        let hasher = PasswordHasher::new(2);
        let password = Password::parse_new("velvet-harbor-oxide-42", &[]).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("velvet"));
        assert!(hasher.verify(&password, Some(&hash)).await.unwrap());
        let wrong = Password::presented("velvet-harbor-oxide-43").unwrap();
        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap());
        // Unknown account: never matches, even for the dummy's own input.
        assert!(!hasher.verify(&password, None).await.unwrap());
    }
}
