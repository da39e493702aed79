//! Random secrets (session tokens, API keys) and their digests.
//!
//! Both are 128+ bits from the OS random generator, so a plain SHA-256 is a safe at-rest
//! form (no salt or stretching needed: there is nothing to brute-force) and lets us find
//! the row by its hash.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

/// `bytes` random bytes, URL-safe base64 without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret, the form in which it is stored.
pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// All API keys start with this, so they are easy to spot in code and secret scanners.
pub const API_KEY_PREFIX: &str = "sl_";

/// A freshly generated API key: the full secret (shown once) and its public prefix.
pub struct NewApiKey {
    pub secret: String,
    pub prefix: String,
}

impl NewApiKey {
    /// `sl_<8 hex id>_<43 chars of randomness>`; the first 11 characters are the prefix
    /// shown in lists.
    pub fn generate() -> Self {
        let mut id = [0u8; 4];
        OsRng.fill_bytes(&mut id);
        let prefix = format!(
            "{API_KEY_PREFIX}{}",
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let secret = format!("{prefix}_{}", random_token(32));
        Self { secret, prefix }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn api_key_starts_with_its_prefix() {
        let k = NewApiKey::generate();
        assert!(k.secret.starts_with(&k.prefix));
        assert!(k.prefix.starts_with("sl_"));
        assert_eq!(k.prefix.len(), 11);
        assert!(k.secret.len() > 50);
    }

    #[test]
    fn digest_is_stable_and_distinct() {
        assert_eq!(digest("x"), digest("x"));
        assert_ne!(digest("x"), digest("y"));
        assert_eq!(digest("x").len(), 32);
    }
}
