//! Secrets Sightline must use again (provider API keys) are sealed at rest with
//! ChaCha20-Poly1305 under a key kept in a file in the data directory, not in the database:
//! a copy of the database alone does not reveal them. Sealed text is `v1:` and base64 of the
//! nonce and ciphertext; text without the prefix is an older plaintext value, re-sealed at
//! start.

use std::{io::Write, path::Path};

use base64::{engine::general_purpose::STANDARD_NO_PAD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    ChaCha20Poly1305, Key, Nonce,
};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;
/// The key file's name in the data directory.
pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the sealed value is malformed")]
    Malformed,
    #[error("the sealed value does not open with this key (another data directory's key file?)")]
    WrongKey,
}

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// Reads the key file, or creates it (0600) with a fresh random key.
    pub fn load_or_create(path: &Path) -> std::io::Result<Sealer> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    std::io::Error::other(format!("{} must hold exactly 32 bytes", path.display()))
                })?;
                Ok(Sealer::new(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = ChaCha20Poly1305::generate_key(&mut OsRng).into();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path)?;
                file.write_all(&key)?;
                file.sync_all()?;
                Ok(Sealer::new(&key))
            }
            Err(e) => Err(e),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption with a valid key and nonce cannot fail for in-memory data.
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// The plain text of a sealed value; an unsealed (older) value is returned as it is.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = B64.decode(encoded).map_err(|_| SealError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::Malformed)
    }
}

/// Whether a stored value is sealed (and needs no re-sealing).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_never_show_the_secret() {
        let a = Sealer::new(&[7; 32]);
        let sealed = a.seal("sk-live-secret");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("sk-live"));
        assert_ne!(sealed, a.seal("sk-live-secret"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).unwrap(), "sk-live-secret");
        assert_eq!(
            Sealer::new(&[8; 32]).open(&sealed),
            Err(SealError::WrongKey)
        );
        assert_eq!(a.open("v1:!!"), Err(SealError::Malformed));
        assert_eq!(a.open("plain-old").unwrap(), "plain-old");
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let sealed = Sealer::load_or_create(&path).unwrap().seal("x");
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
