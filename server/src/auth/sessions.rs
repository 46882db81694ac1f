//! Login sessions, kept in `<data-dir>/sessions.json` so that restarting the server (an
//! upgrade) does not log everyone out. The file holds a SHA-256 digest of each session id, not
//! the id: reading it does not let anyone log in. Written whole to a temporary file and
//! renamed, like `users.json`, on every login and logout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most sessions kept; past it, the ones closest to expiring make room.
const MAX_SESSIONS: usize = 10_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StoredSession {
    user: String,
    /// Milliseconds since the Unix epoch.
    expires: u64,
}

/// The live sessions of one data directory.
pub struct Sessions {
    path: PathBuf,
    /// Hex SHA-256 of the session id → its session.
    live: Mutex<HashMap<String, StoredSession>>,
}

impl Sessions {
    /// The sessions saved in `data_dir` that have not expired. A file that cannot be read is
    /// reported and set aside: everyone logs in again.
    pub fn open(data_dir: &Path) -> Sessions {
        let path = data_dir.join("sessions.json");
        let mut live: HashMap<String, StoredSession> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(
                    "{}: not a sessions file ({error}); starting without sessions",
                    path.display()
                );
                HashMap::new()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(error) => {
                tracing::warn!("{}: {error}; starting without sessions", path.display());
                HashMap::new()
            }
        };
        let now = unix_now();
        live.retain(|_, session| session.expires > now);
        Sessions {
            path,
            live: Mutex::new(live),
        }
    }

    /// Starts a session of `user` for `ttl`; answers its id (256 random bits, hex).
    pub fn start(&self, user: &str, ttl: Duration) -> String {
        let id = super::users::new_token();
        let mut live = self.lock();
        let now = unix_now();
        live.retain(|_, session| session.expires > now);
        if live.len() >= MAX_SESSIONS {
            let mut by_expiry: Vec<(u64, String)> = live
                .iter()
                .map(|(key, session)| (session.expires, key.clone()))
                .collect();
            by_expiry.sort_unstable();
            for (_, key) in by_expiry.into_iter().take(live.len() + 1 - MAX_SESSIONS) {
                live.remove(&key);
            }
        }
        live.insert(
            digest(&id),
            StoredSession {
                user: user.to_owned(),
                expires: now.saturating_add(ttl.as_millis().try_into().unwrap_or(u64::MAX)),
            },
        );
        self.save(&live);
        id
    }

    /// The user of a live session; an expired one is forgotten.
    pub fn user_of(&self, id: &str) -> Option<String> {
        let key = digest(id);
        let mut live = self.lock();
        let session = live.get(&key)?;
        if session.expires > unix_now() {
            return Some(session.user.clone());
        }
        live.remove(&key);
        None
    }

    /// Ends a session (logging out, or a user who no longer exists).
    pub fn end(&self, id: &str) {
        let mut live = self.lock();
        if live.remove(&digest(id)).is_some() {
            self.save(&live);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredSession>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the sessions; a failure is logged, and the sessions live on in memory.
    fn save(&self, live: &HashMap<String, StoredSession>) {
        let written = serde_json::to_vec(live)
            .map_err(std::io::Error::other)
            .and_then(|text| super::users::write_private_file(&self.path, &text));
        if let Err(error) = written {
            tracing::warn!("{}: sessions not saved: {error}", self.path.display());
        }
    }
}

fn digest(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Milliseconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_outlive_a_restart_and_the_file_cannot_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Sessions::open(dir.path());
        let id = sessions.start("ana", Duration::from_secs(3600));
        let ended = sessions.start("vera", Duration::from_secs(3600));
        sessions.end(&ended);
        let expired = sessions.start("eddie", Duration::ZERO);
        drop(sessions);

        let file = std::fs::read_to_string(dir.path().join("sessions.json")).unwrap();
        assert!(!file.contains(&id), "the file holds digests, not ids");
        let reopened = Sessions::open(dir.path());
        assert_eq!(reopened.user_of(&id).as_deref(), Some("ana"));
        assert_eq!(reopened.user_of(&ended), None);
        assert_eq!(reopened.user_of(&expired), None);
        assert_eq!(
            reopened.user_of(&digest(&id)),
            None,
            "a digest is not an id"
        );
    }
}
