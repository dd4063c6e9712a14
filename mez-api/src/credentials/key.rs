// SPDX-License-Identifier: BUSL-1.1
//! The zone's signing key and its `did:key` identity.
//!
//! A credential is only worth issuing if it still verifies tomorrow, so the key persists: it
//! comes from `ZONE_SIGNING_KEY_HEX` when the operator sets one, and otherwise from
//! `<data dir>/zone.key`, which the first start creates. (The earlier implementation made a
//! fresh key on every start unless told otherwise, so its DID, and every credential's
//! validity, died with the process.) A key that is present but unreadable stops the zone
//! rather than being replaced, because replacing it would silently change the zone's DID.
//!
//! The DID is a `did:key` (W3C CCG did:key method): the public key itself, so any verifier
//! resolves it offline, without asking the zone.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SECRET_KEY_LENGTH, SigningKey, VerifyingKey};
use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

/// The file, inside the data directory, that holds the zone key when no hex key is set.
pub const KEY_FILE_NAME: &str = "zone.key";

/// The multicodec prefix of an Ed25519 public key (code 0xed, written as an unsigned varint).
pub(crate) const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// The method prefix every `did:key` starts with.
pub(crate) const DID_KEY_PREFIX: &str = "did:key:";

/// The multibase prefix of base58btc (Bitcoin alphabet).
pub(crate) const BASE58BTC_PREFIX: char = 'z';

/// Why the zone key could not be settled at start-up. Messages never include key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "ZONE_SIGNING_KEY_HEX must be 64 hexadecimal characters (a 32-byte Ed25519 secret key)"
    )]
    MalformedHex,
    #[error(
        "zone key file {path} is malformed: expected 64 hexadecimal characters; fix it, or \
         remove it to create a new key (which changes the zone's DID)"
    )]
    MalformedFile { path: PathBuf },
    #[error("zone key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not draw random key material from the operating system: {0}")]
    Random(String),
}

/// The zone's Ed25519 signing key, with its `did:key` identifiers worked out once.
#[derive(Clone)]
pub struct ZoneKey {
    signing: SigningKey,
    did: String,
    multibase: String,
}

impl ZoneKey {
    /// Settles the zone key: `hex` (the value of `ZONE_SIGNING_KEY_HEX`) wins when given;
    /// otherwise `data_dir/zone.key` is read, or created with fresh key material if missing.
    ///
    /// A blank `hex` counts as unset, as every other variable does in `config`, because
    /// compose files export optional variables with nothing in them.
    pub fn load_or_create(data_dir: &Path, hex: Option<&str>) -> Result<ZoneKey, KeyError> {
        if let Some(hex) = hex.map(str::trim).filter(|hex| !hex.is_empty()) {
            let secret = decode_secret_hex(hex).ok_or(KeyError::MalformedHex)?;
            return Ok(Self::from_secret(&secret));
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match read_key_file(&path)? {
            Some(secret) => Ok(Self::from_secret(&secret)),
            None => create_key_file(data_dir, &path),
        }
    }

    /// Wraps an existing signing key (for tests and tools that hold one already).
    pub fn from_signing_key(signing: SigningKey) -> ZoneKey {
        let multibase = encode_public_key_multibase(&signing.verifying_key());
        ZoneKey {
            did: format!("{DID_KEY_PREFIX}{multibase}"),
            multibase,
            signing,
        }
    }

    /// The zone's DID: `did:key:z6Mk...`.
    pub fn did(&self) -> &str {
        &self.did
    }

    /// The verification method a proof names: `<did>#<multibase public key>`, the one
    /// verification method a `did:key` document has.
    pub fn verification_method(&self) -> String {
        format!("{}#{}", self.did, self.multibase)
    }

    /// The public key as multibase base58btc with the Ed25519 multicodec (`z6Mk...`).
    pub fn public_key_multibase(&self) -> String {
        self.multibase.clone()
    }

    /// The public half, for verifiers that already trust this zone.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    fn from_secret(secret: &[u8; SECRET_KEY_LENGTH]) -> ZoneKey {
        Self::from_signing_key(SigningKey::from_bytes(secret))
    }
}

// The secret must never reach a log line through `{:?}`; the DID is what identifies the key.
impl fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneKey")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

/// `z` + base58btc(0xed 0x01 ‖ public key): the form used inside a `did:key`.
pub(crate) fn encode_public_key_multibase(public: &VerifyingKey) -> String {
    let mut bytes = Vec::with_capacity(ED25519_PUB_MULTICODEC.len() + public.as_bytes().len());
    bytes.extend_from_slice(&ED25519_PUB_MULTICODEC);
    bytes.extend_from_slice(public.as_bytes());
    format!("{BASE58BTC_PREFIX}{}", bs58::encode(bytes).into_string())
}

/// The Ed25519 public key named by a multibase `z6Mk...` string, or why it is not one.
pub(crate) fn decode_public_key_multibase(multibase: &str) -> Result<VerifyingKey, &'static str> {
    let encoded = multibase
        .strip_prefix(BASE58BTC_PREFIX)
        .ok_or("the did:key is not base58btc multibase")?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| "the did:key is not valid base58btc")?;
    let key = bytes
        .strip_prefix(&ED25519_PUB_MULTICODEC)
        .ok_or("the did:key is not an Ed25519 key")?;
    let key: &[u8; 32] = key
        .try_into()
        .map_err(|_| "the did:key's Ed25519 key is not 32 bytes")?;
    VerifyingKey::from_bytes(key).map_err(|_| "the did:key's Ed25519 key is not a valid point")
}

fn decode_secret_hex(hex: &str) -> Option<Zeroizing<[u8; SECRET_KEY_LENGTH]>> {
    let mut secret = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
    // `decode_to_slice` insists on exactly twice the slice's length in characters, so a
    // short or long value fails here as well as a non-hex one.
    hex::decode_to_slice(hex, secret.as_mut_slice()).ok()?;
    Some(secret)
}

/// The secret in `path`, `None` if the file does not exist, an error if it cannot be read or
/// does not hold a key.
fn read_key_file(path: &Path) -> Result<Option<Zeroizing<[u8; SECRET_KEY_LENGTH]>>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
            return Err(KeyError::MalformedFile { path: path.into() });
        }
        Err(source) => {
            return Err(KeyError::Io {
                path: path.into(),
                source,
            });
        }
    };
    warn_if_readable_by_others(path);
    decode_secret_hex(text.trim())
        .map(Some)
        .ok_or_else(|| KeyError::MalformedFile { path: path.into() })
}

/// Writes a fresh key to `path` and returns it.
///
/// The file is opened with `create_new`, so if another process created it first this one
/// reads that key instead of overwriting it: two starts on one data directory end with one
/// DID. On unix the file is created readable by its owner only.
fn create_key_file(data_dir: &Path, path: &Path) -> Result<ZoneKey, KeyError> {
    let io_error = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(|source| KeyError::Io {
        path: data_dir.into(),
        source,
    })?;

    let mut secret = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
    OsRng
        .try_fill_bytes(secret.as_mut_slice())
        .map_err(|err| KeyError::Random(err.to_string()))?;

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            return match read_key_file(path)? {
                Some(existing) => Ok(ZoneKey::from_secret(&existing)),
                None => Err(KeyError::MalformedFile { path: path.into() }),
            };
        }
        Err(source) => return Err(io_error(source)),
    };
    // Hex text with a newline: the same form `ZONE_SIGNING_KEY_HEX` takes, so an operator
    // can move a key between the file and the environment without converting it.
    let mut text = Zeroizing::new(hex::encode(secret.as_slice()));
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(io_error)?;
    // The key must be on disk before any credential signed with it leaves the zone.
    file.sync_all().map_err(io_error)?;
    tracing::info!(path = %path.display(), "created a new zone signing key");
    Ok(ZoneKey::from_secret(&secret))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let shared =
        std::fs::metadata(path).is_ok_and(|metadata| metadata.permissions().mode() & 0o077 != 0);
    if shared {
        tracing::warn!(
            path = %path.display(),
            "the zone key file is readable by other users; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_dir() -> PathBuf {
        std::env::temp_dir().join(format!("mez-zone-key-{}", uuid::Uuid::new_v4()))
    }

    const HEX_KEY: &str = "9b937b81322d816cfab9d5a3baacc9b2a5febe4b149f126b3630f93a29527017";

    #[test]
    fn load_or_create_persists_the_key_across_calls() {
        let dir = fresh_dir().join("nested");
        let first = ZoneKey::load_or_create(&dir, None).unwrap();
        let second = ZoneKey::load_or_create(&dir, None).unwrap();
        assert_eq!(first.did(), second.did());
        assert!(first.did().starts_with("did:key:z6Mk"), "{}", first.did());
        let text = std::fs::read_to_string(dir.join(KEY_FILE_NAME)).unwrap();
        assert_eq!(text.trim().len(), 64);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_created_key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = fresh_dir();
        ZoneKey::load_or_create(&dir, None).unwrap();
        let mode = std::fs::metadata(dir.join(KEY_FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_hex_key_wins_over_the_file() {
        let dir = fresh_dir();
        let from_file = ZoneKey::load_or_create(&dir, None).unwrap();
        let from_hex = ZoneKey::load_or_create(&dir, Some(HEX_KEY)).unwrap();
        assert_ne!(from_file.did(), from_hex.did());
        let again = ZoneKey::load_or_create(&fresh_dir(), Some(HEX_KEY)).unwrap();
        assert_eq!(from_hex.did(), again.did());
        // The file is left as it was: the environment overrides it, it does not rewrite it.
        assert_eq!(
            ZoneKey::load_or_create(&dir, None).unwrap().did(),
            from_file.did()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_hex_key_does_not_touch_the_data_dir() {
        let dir = fresh_dir();
        ZoneKey::load_or_create(&dir, Some(HEX_KEY)).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn a_blank_hex_key_counts_as_unset() {
        let dir = fresh_dir();
        let key = ZoneKey::load_or_create(&dir, Some("  ")).unwrap();
        assert!(dir.join(KEY_FILE_NAME).exists());
        assert_eq!(
            ZoneKey::load_or_create(&dir, None).unwrap().did(),
            key.did()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_hex_key_is_an_error() {
        for bad in [
            &HEX_KEY[..62],
            "zz",
            &format!("{HEX_KEY}00"),
            &HEX_KEY.replace('9', "g"),
        ] {
            let err = ZoneKey::load_or_create(&fresh_dir(), Some(bad)).unwrap_err();
            assert!(matches!(err, KeyError::MalformedHex), "{bad}: {err}");
            assert!(
                !err.to_string().contains(bad),
                "the message must not echo the key"
            );
        }
    }

    #[test]
    fn a_corrupted_key_file_is_an_error_and_is_left_alone() {
        let dir = fresh_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(KEY_FILE_NAME);
        for corrupt in [
            &b"not a key\n"[..],
            b"",
            &HEX_KEY.as_bytes()[..40],
            &[0xff, 0xfe],
        ] {
            std::fs::write(&path, corrupt).unwrap();
            let err = ZoneKey::load_or_create(&dir, None).unwrap_err();
            assert!(matches!(err, KeyError::MalformedFile { .. }), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), corrupt);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_file_in_the_hex_form_is_read_back() {
        let dir = fresh_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(KEY_FILE_NAME), format!("{HEX_KEY}\n")).unwrap();
        let from_file = ZoneKey::load_or_create(&dir, None).unwrap();
        let from_hex = ZoneKey::load_or_create(&fresh_dir(), Some(HEX_KEY)).unwrap();
        assert_eq!(from_file.did(), from_hex.did());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn identifiers_follow_the_did_key_method() {
        let key = ZoneKey::load_or_create(&fresh_dir(), Some(HEX_KEY)).unwrap();
        let multibase = key.public_key_multibase();
        assert!(multibase.starts_with("z6Mk"), "{multibase}");
        assert_eq!(key.did(), format!("did:key:{multibase}"));
        assert_eq!(
            key.verification_method(),
            format!("did:key:{multibase}#{multibase}")
        );
        let decoded = decode_public_key_multibase(&multibase).unwrap();
        assert_eq!(decoded, key.verifying_key());
    }

    #[test]
    fn debug_output_shows_the_did_and_not_the_secret() {
        let key = ZoneKey::load_or_create(&fresh_dir(), Some(HEX_KEY)).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.did()));
        assert!(!debug.contains(HEX_KEY));
    }

    #[test]
    fn multibase_keys_of_the_wrong_kind_are_refused() {
        let key = ZoneKey::load_or_create(&fresh_dir(), Some(HEX_KEY)).unwrap();
        let mut bytes = bs58::decode(&key.public_key_multibase()[1..])
            .into_vec()
            .unwrap();
        let short = format!("z{}", bs58::encode(&bytes[..33]).into_string());
        assert!(decode_public_key_multibase(&short).is_err());
        bytes[0] = 0xe7; // secp256k1-pub
        let other = format!("z{}", bs58::encode(&bytes).into_string());
        assert!(decode_public_key_multibase(&other).is_err());
        let base64 = format!("m{}", &key.public_key_multibase()[1..]);
        assert!(decode_public_key_multibase(&base64).is_err());
    }
}
