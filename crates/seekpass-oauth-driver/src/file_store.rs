//! The store protocol in files on one host: the processes of one user share a token through a
//! directory, as `seekpass-token` runs do through its cache.
//!
//! | what | how |
//! |---|---|
//! | the directory | made `0700` if missing; refused if group or others may enter it |
//! | a key | a file named by the key's [`fnv1a_128`] hash (32 hex digits), `0600` |
//! | a value | a header line `seekpass-oauth-store v1 <deadline>` (the expiry, in milliseconds since the Unix epoch on the host's wall clock), then the value's bytes |
//! | write | to a temporary file beside it, renamed over it: a reader sees the old value or the new, never half |
//! | every command | under an exclusive advisory lock (`flock`) on the directory's `.lock` file, so a lock taken, a value written and a compare-and-delete are each one step for every process |
//! | read | missing, expired, corrupted or foreign (another header, over 64 KiB): `Missing`, never trusted; the next write replaces it |
//!
//! Advisory locks hold between processes of one host; a directory on a network file system is
//! not supported.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use seekpass_oauth::{
    fnv1a_128, StoreAnswer, StoreCommand, StoreError, StoreErrorKind, StoredValue,
};
use zeroize::Zeroizing;

/// The longest [`FileStore::run`] waits for another process's operation (each takes well under
/// a millisecond; a process stopped while holding the lock is what this bounds).
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// The header every value file starts with, before its deadline.
const HEADER: &str = "seekpass-oauth-store v1 ";

/// The most a value file may hold.
const MAX_FILE: u64 = 64 * 1024;

/// A value as kept: its bytes (wiped when dropped) and its deadline.
type Kept = (Zeroizing<Vec<u8>>, u64);

/// Names each process's temporary files apart.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// A store in a directory on this host. Cheap to clone; every operation opens what it needs.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The store in `dir`, made (`0700`) if missing. Nothing is checked until the first
    /// operation, which fails with [`StoreErrorKind::Denied`] if the directory is open to other
    /// users.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> FileStore {
        FileStore { dir: dir.into() }
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Performs `command`, now (by the wall clock), waiting at most two seconds for another
    /// process's operation to end.
    ///
    /// # Errors
    ///
    /// As [`FileStore::run_until`].
    pub fn run(&self, command: &StoreCommand) -> Result<StoreAnswer, StoreError> {
        self.run_until(command, crate::clock::later(Instant::now(), LOCK_WAIT))
    }

    /// Performs `command`, now (by the wall clock), giving up at `deadline` if another process
    /// holds the directory's lock until then.
    ///
    /// # Errors
    ///
    /// The directory cannot be made, opened or written ([`StoreErrorKind::Unavailable`]), is
    /// open to other users or not this user's to write ([`StoreErrorKind::Denied`]), or stays
    /// locked past `deadline` ([`StoreErrorKind::Timeout`]).
    pub fn run_until(
        &self,
        command: &StoreCommand,
        deadline: Instant,
    ) -> Result<StoreAnswer, StoreError> {
        self.prepare()?;
        let guard = self.open(&self.dir.join(".lock"), true)?;
        loop {
            match guard.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::new(
                        StoreErrorKind::Timeout,
                        format!("{} stayed locked by another process", self.dir.display()),
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(self.failed("lock", &e)),
            }
        }
        let now = unix_millis(SystemTime::now());
        let answer = match command {
            StoreCommand::Read { key } => match self.value(key, now)? {
                Some((value, deadline)) => StoreAnswer::Found {
                    value: StoredValue::new(value.to_vec()),
                    ttl: Some(Duration::from_millis(deadline.saturating_sub(now))),
                },
                None => StoreAnswer::Missing,
            },
            StoreCommand::Lock { key, owner, ttl } => {
                if self.value(key, now)?.is_some() {
                    StoreAnswer::Refused
                } else {
                    self.write(key, owner.as_bytes(), expiry(now, *ttl))?;
                    StoreAnswer::Done
                }
            }
            StoreCommand::Write { key, value, ttl } => {
                self.write(key, value.as_bytes(), expiry(now, *ttl))?;
                StoreAnswer::Done
            }
            StoreCommand::Unlock { key, owner } => self.delete_if(key, owner.as_bytes(), now)?,
            StoreCommand::Forget { key, value } => self.delete_if(key, value.as_bytes(), now)?,
            // A command this version does not know.
            other => {
                return Err(StoreError::new(
                    StoreErrorKind::Protocol,
                    format!("the file store does not know the command {}", other.name()),
                ))
            }
        };
        drop(guard);
        Ok(answer)
    }

    /// The file that holds `key`.
    #[must_use]
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{:032x}", fnv1a_128(key.as_bytes())))
    }

    /// Makes the directory `0700` if missing; refuses one open to others.
    fn prepare(&self) -> Result<(), StoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|e| self.failed("make", &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&self.dir)
                .map_err(|e| self.failed("read", &e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(StoreError::new(
                    StoreErrorKind::Denied,
                    format!(
                        "{} is open to other users (mode {:03o}), who could read the token: chmod 700 it",
                        self.dir.display(),
                        mode & 0o777
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The unexpired value of `key` and its deadline; `None` for a missing, expired, corrupted or
    /// foreign file.
    fn value(&self, key: &str, now: u64) -> Result<Option<Kept>, StoreError> {
        let file = match File::open(self.path(key)) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.failed("open", &e)),
        };
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_FILE.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| self.failed("read", &e))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_FILE {
            return Ok(None);
        }
        let Some(newline) = bytes.iter().position(|b| *b == b'\n') else {
            return Ok(None);
        };
        let (head, rest) = bytes.split_at(newline);
        let deadline = std::str::from_utf8(head)
            .ok()
            .and_then(|h| h.strip_prefix(HEADER))
            .and_then(|d| d.parse::<u64>().ok());
        match deadline {
            Some(deadline) if deadline > now => Ok(Some((
                Zeroizing::new(rest.get(1..).unwrap_or_default().to_vec()),
                deadline,
            ))),
            _ => Ok(None),
        }
    }

    /// Writes `value` for `key` until `deadline`: a temporary file, renamed over the old one.
    fn write(&self, key: &str, value: &[u8], deadline: u64) -> Result<(), StoreError> {
        let path = self.path(key);
        let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
        let temporary = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
        let written = self.open(&temporary, false).and_then(|mut file| {
            let mut bytes = Zeroizing::new(format!("{HEADER}{deadline}\n").into_bytes());
            bytes.extend_from_slice(value);
            file.write_all(&bytes)
                .map_err(|e| self.failed("write", &e))?;
            std::fs::rename(&temporary, &path).map_err(|e| self.failed("rename", &e))
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written
    }

    /// Deletes `key` if it holds `expected` and has not expired.
    fn delete_if(&self, key: &str, expected: &[u8], now: u64) -> Result<StoreAnswer, StoreError> {
        match self.value(key, now)? {
            Some((value, _)) if value.as_slice() == expected => {
                std::fs::remove_file(self.path(key)).map_err(|e| self.failed("delete", &e))?;
                Ok(StoreAnswer::Done)
            }
            _ => Ok(StoreAnswer::Refused),
        }
    }

    /// Opens `path` for writing, `0600`; `existing` opens it if it is there (the lock file),
    /// otherwise it must be new (a temporary file).
    fn open(&self, path: &Path, existing: bool) -> Result<File, StoreError> {
        let mut options = OpenOptions::new();
        options.write(true);
        if existing {
            options.create(true).truncate(false);
        } else {
            options.create_new(true);
        }
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path).map_err(|e| self.failed("open", &e))
    }

    /// An I/O failure, named with what was being done where.
    fn failed(&self, doing: &str, e: &std::io::Error) -> StoreError {
        let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
            StoreErrorKind::Denied
        } else {
            StoreErrorKind::Unavailable
        };
        StoreError::new(
            kind,
            format!("could not {doing} in {}: {e}", self.dir.display()),
        )
    }
}

/// `now` plus `ttl`, in milliseconds since the Unix epoch (saturating).
fn expiry(now: u64, ttl: Duration) -> u64 {
    now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// `t` in milliseconds since the Unix epoch (0 before it).
fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests;
