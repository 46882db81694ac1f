//! Built-in users, kept in `<data-dir>/users.json`: a name, a role, and an argon2 hash of the
//! password, or, for `ingest` users (the AWS Lambda, Fluent Bit), a SHA-256 digest of an API
//! token that flowdash made (random, 256 bits: a fast digest is enough for it). Written whole
//! to a temporary file and renamed, so a crash never leaves half a file.
//!
//! A running server rereads the file when it changes, so `flowdash users add|passwd|remove`
//! take effect at once. Argon2 is slow on purpose (tens of milliseconds); a client sending the
//! same Basic credentials with every request (the AWS Lambda, curl) would pay it each time, so
//! a password once verified is remembered, keyed by a keyed digest of name and password, and
//! only while the user's stored hash is unchanged.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::SystemTime;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;

/// Why a change to `users.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// No user of this name.
    #[error("no user [{0}]")]
    NotFound(String),
    /// A user of this name exists.
    #[error("user [{0}] exists already")]
    Exists(String),
    /// A bad name or password, or a broken `users.json`.
    #[error("{0}")]
    Invalid(String),
    /// `users.json` could not be read or written.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        reason: String,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredUser {
    role: Role,
    /// The PHC string of an argon2id hash (users who log in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    /// Hex SHA-256 of the API token (`ingest` users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_sha256: Option<String>,
}

/// The users of one data directory.
pub struct UserStore {
    path: PathBuf,
    users: RwLock<BTreeMap<String, StoredUser>>,
    /// Which file was read last: another one (written since) is read again.
    loaded: Mutex<Option<FileStamp>>,
    /// Passwords verified: keyed digest of name and password → the hash they matched.
    verified: Mutex<HashMap<[u8; 32], String>>,
    /// The key of those digests, random per process, so that they are useless outside it.
    verified_key: [u8; 32],
}

/// How many verified passwords are remembered; past it, the memory starts again.
const VERIFIED_REMEMBERED: usize = 1024;

/// What a new or changed user is given: a password to log in with, or an API token.
pub enum Secret {
    /// A password to log in with.
    Password(String),
    /// An API token, for an `ingest` user.
    Token(String),
}

impl UserStore {
    /// Reads `<data_dir>/users.json` (no users when it is missing).
    pub fn open(data_dir: &Path) -> Result<UserStore, UserError> {
        let path = data_dir.join("users.json");
        let (users, modified) = read_users(&path)?;
        let mut verified_key = [0; 32];
        verified_key.copy_from_slice(&hex::decode(new_token()).expect("hex")[..32]);
        Ok(UserStore {
            path,
            users: RwLock::new(users),
            loaded: Mutex::new(modified),
            verified: Mutex::default(),
            verified_key,
        })
    }

    /// Reads the file again when it changed since it was read (another process, such as
    /// `flowdash users`, wrote it). A file that cannot be read keeps the users known.
    fn refresh(&self) {
        let modified = FileStamp::of(&self.path);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if modified == *loaded {
            return;
        }
        match read_users(&self.path) {
            Ok((users, modified)) => {
                *self.write() = users;
                *loaded = modified;
            }
            Err(error) => tracing::warn!("keeping the users known: {error}"),
        }
    }

    /// Whether no user is defined.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Names and roles, sorted by name.
    pub fn list(&self) -> Vec<(String, Role)> {
        self.read()
            .iter()
            .map(|(name, user)| (name.clone(), user.role))
            .collect()
    }

    /// Adds a user. An `ingest` user gets a new API token (answered); the others log in with
    /// `password`.
    pub fn add(&self, name: &str, role: Role, password: Option<&str>) -> Result<Secret, UserError> {
        valid_name(name)?;
        self.refresh();
        let mut users = self.write();
        if users.contains_key(name) {
            return Err(UserError::Exists(name.to_owned()));
        }
        let (user, secret) = new_credentials(role, password)?;
        users.insert(name.to_owned(), user);
        self.save(&users)?;
        Ok(secret)
    }

    /// Sets a new password (or, for an `ingest` user, a new token, answered).
    pub fn reset(&self, name: &str, password: Option<&str>) -> Result<Secret, UserError> {
        self.refresh();
        let mut users = self.write();
        let role = users
            .get(name)
            .ok_or_else(|| UserError::NotFound(name.to_owned()))?
            .role;
        let (user, secret) = new_credentials(role, password)?;
        users.insert(name.to_owned(), user);
        self.save(&users)?;
        Ok(secret)
    }

    /// Removes a user; their sessions end at their next request.
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        self.refresh();
        let mut users = self.write();
        users
            .remove(name)
            .ok_or_else(|| UserError::NotFound(name.to_owned()))?;
        self.save(&users)
    }

    /// The role of a user whose password (or, for `ingest` users, token) this is. Slow (argon2)
    /// unless [`UserStore::verify_remembered`] answers: call it off the async workers.
    pub fn verify(&self, name: &str, secret: &str) -> Option<Role> {
        self.refresh();
        let user = self.read().get(name)?.clone();
        let matches = match (&user.password, &user.token_sha256) {
            (Some(hash), _) => {
                let verified = PasswordHash::new(hash).ok().is_some_and(|parsed| {
                    Argon2::default()
                        .verify_password(secret.as_bytes(), &parsed)
                        .is_ok()
                });
                if verified {
                    let mut remembered = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                    if remembered.len() >= VERIFIED_REMEMBERED {
                        remembered.clear();
                    }
                    remembered.insert(self.verified_digest(name, secret), hash.clone());
                }
                verified
            }
            (None, Some(digest)) => {
                constant_time_eq(digest.as_bytes(), token_digest(secret).as_bytes())
            }
            (None, None) => false,
        };
        matches.then_some(user.role)
    }

    /// The role of a user whose password was verified before and is still theirs, or whose
    /// token this is: what [`UserStore::verify`] answers, but fast. `None` when it cannot tell.
    pub fn verify_remembered(&self, name: &str, secret: &str) -> Option<Role> {
        self.refresh();
        let users = self.read();
        let user = users.get(name)?;
        match (&user.password, &user.token_sha256) {
            (Some(hash), _) => {
                let remembered = self.verified.lock().unwrap_or_else(|e| e.into_inner());
                let same = remembered.get(&self.verified_digest(name, secret)) == Some(hash);
                same.then_some(user.role)
            }
            (None, Some(digest)) => {
                constant_time_eq(digest.as_bytes(), token_digest(secret).as_bytes())
                    .then_some(user.role)
            }
            (None, None) => None,
        }
    }

    fn verified_digest(&self, name: &str, secret: &str) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.verified_key);
        digest.update(name.as_bytes());
        digest.update([0]);
        digest.update(secret.as_bytes());
        digest.finalize().into()
    }

    /// The role of a user, without checking a secret (for users a trusted proxy names, and
    /// the users of sessions, whose role may have changed since they logged in).
    pub fn role_of(&self, name: &str) -> Option<Role> {
        self.refresh();
        self.read().get(name).map(|user| user.role)
    }

    /// The user an API token belongs to (`Authorization: Bearer …`).
    pub fn verify_token(&self, token: &str) -> Option<(String, Role)> {
        self.refresh();
        let digest = token_digest(token);
        self.read().iter().find_map(|(name, user)| {
            user.token_sha256
                .as_ref()
                .filter(|stored| constant_time_eq(stored.as_bytes(), digest.as_bytes()))
                .map(|_| (name.clone(), user.role))
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StoredUser>> {
        self.users.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, StoredUser>> {
        self.users.write().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, users: &BTreeMap<String, StoredUser>) -> Result<(), UserError> {
        let io = |e: std::io::Error| UserError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let text = serde_json::to_vec_pretty(users).expect("users serialize");
        write_private_file(&self.path, &text).map_err(io)
    }
}

/// What tells one version of the users file from another: each save renames a new file into
/// place, so its inode changes even when two saves share a modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    length: u64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let metadata = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            modified: metadata.modified().ok(),
            length: metadata.len(),
            inode,
        })
    }
}

/// The users in a users file (none when there is no file), and which version of it it was.
fn read_users(path: &Path) -> Result<(BTreeMap<String, StoredUser>, Option<FileStamp>), UserError> {
    let io = |reason: String| UserError::Io {
        path: path.display().to_string(),
        reason,
    };
    let modified = FileStamp::of(path);
    match std::fs::read(path) {
        Ok(bytes) => {
            let users =
                serde_json::from_slice(&bytes).map_err(|e| io(format!("not a users file: {e}")))?;
            Ok((users, modified))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok((BTreeMap::new(), None)),
        Err(error) => Err(io(error.to_string())),
    }
}

/// Writes a file only its owner may read, whole: to a temporary file, renamed into place, so
/// that a crash leaves the old file or the new one.
pub(super) fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    restrict_to_owner(&temporary)?;
    std::fs::rename(&temporary, path)
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_: &Path) -> std::io::Result<()> {
    Ok(())
}

fn valid_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(UserError::Invalid(format!(
            "[{name}] is not a user name: 1 to 64 letters, digits, '-', '_', '.' or '@'"
        )))
    }
}

/// The shortest password accepted.
pub const SHORTEST_PASSWORD: usize = 8;

fn new_credentials(role: Role, password: Option<&str>) -> Result<(StoredUser, Secret), UserError> {
    if role == Role::Ingest {
        let token = new_token();
        let user = StoredUser {
            role,
            password: None,
            token_sha256: Some(token_digest(&token)),
        };
        return Ok((user, Secret::Token(token)));
    }
    let password = match password {
        Some(password) if password.chars().count() < SHORTEST_PASSWORD => {
            return Err(UserError::Invalid(format!(
                "a password has at least {SHORTEST_PASSWORD} characters"
            )))
        }
        Some(password) => password.to_owned(),
        None => new_token()[..20].to_owned(),
    };
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| UserError::Invalid(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| UserError::Invalid(e.to_string()))?
        .to_string();
    let user = StoredUser {
        role,
        password: Some(hash),
        token_sha256: None,
    };
    Ok((user, Secret::Password(password)))
}

/// 256 random bits, hex.
pub fn new_token() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    hex::encode(bytes)
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_kept_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = UserStore::open(dir.path()).unwrap();
        assert!(store.is_empty());
        store
            .add("ana", Role::Admin, Some("correct horse"))
            .unwrap();
        assert!(store.add("ana", Role::Viewer, Some("another one")).is_err());
        assert!(store.add("bob", Role::Viewer, Some("short")).is_err());
        assert!(store
            .add("bad name", Role::Viewer, Some("long enough"))
            .is_err());
        let Secret::Token(token) = store.add("lambda", Role::Ingest, None).unwrap() else {
            panic!("an ingest user gets a token")
        };
        let text = std::fs::read_to_string(dir.path().join("users.json")).unwrap();
        assert!(
            !text.contains("correct horse") && !text.contains(&token),
            "{text}"
        );
        assert!(text.contains("$argon2id$"));

        let reopened = UserStore::open(dir.path()).unwrap();
        assert_eq!(reopened.verify("ana", "correct horse"), Some(Role::Admin));
        assert_eq!(reopened.verify("ana", "wrong horse"), None);
        assert_eq!(reopened.verify("lambda", &token), Some(Role::Ingest));
        assert_eq!(
            reopened.verify_token(&token),
            Some(("lambda".to_owned(), Role::Ingest))
        );
        assert_eq!(reopened.verify_token("nope"), None);
        reopened.reset("ana", Some("new password")).unwrap();
        assert_eq!(reopened.verify("ana", "correct horse"), None);
        reopened.remove("lambda").unwrap();
        assert_eq!(reopened.verify_token(&token), None);
        assert_eq!(reopened.list(), [("ana".to_owned(), Role::Admin)]);
    }
}
