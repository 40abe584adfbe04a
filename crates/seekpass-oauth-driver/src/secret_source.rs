//! Where the client secret comes from, and when it is read again: the drivers' side of a
//! rotation (the machine keeps serving the token through a change of secret alone, see
//! [`TokenClient::reconfigure`](seekpass_oauth::TokenClient::reconfigure)).
//!
//! | source | read again |
//! |---|---|
//! | [`SecretSource::env`] | every check interval ([`CHECK_INTERVAL`]), and after `invalid_client` |
//! | [`SecretSource::file`] | every check interval, so a write-then-rename, a Kubernetes `..data` symlink swap or a write in place is seen within it; and after `invalid_client` |
//! | [`SecretSource::command`] | after the token endpoint answers `invalid_client` (a vault or password-manager CLI is slow and may prompt or rate-limit) |
//! | [`SecretSource::from_fn`] | after `invalid_client` |
//!
//! A value is taken the same way from every source: one line ending at its end (`\n` or `\r\n`,
//! what `echo`, editors and `kubectl create secret --from-file` leave) is dropped; then it must
//! be UTF-8, not empty, with no whitespace at either end and no control character (the rule of
//! [`ConfigError::PastedCharacter`](seekpass_oauth::ConfigError::PastedCharacter)). A value that
//! breaks a rule, a file that vanished or cannot be read, a command that fails or outlasts its
//! timeout: each is a [`SecretSourceError`] naming the source and what is wrong, never the
//! value; a driver keeps the last good secret and reports it once as
//! [`Event::SecretUnreadable`](seekpass_oauth::Event::SecretUnreadable).

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seekpass_oauth::{pasted_character, ClientSecret, Credentials};
use zeroize::Zeroizing;

/// How often a file or an environment variable is read again: a change is seen within this.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How long a command may run before it is killed and the read counts as failed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a secret file or a command's output may hold (a secret is tens of bytes).
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// A user function that returns the secret, or why it could not.
type ReadFn = dyn Fn() -> Result<String, String> + Send + Sync;

/// Where the client secret is read from. Cloning shares the source.
#[derive(Clone)]
pub struct SecretSource {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Env(String),
    File(PathBuf),
    Command {
        program: OsString,
        args: Vec<OsString>,
        timeout: Duration,
    },
    Fn(Arc<ReadFn>),
}

impl SecretSource {
    /// The environment variable `name`, read again every [`CHECK_INTERVAL`].
    #[must_use]
    pub fn env(name: impl Into<String>) -> SecretSource {
        SecretSource {
            kind: Kind::Env(name.into()),
        }
    }

    /// The file at `path` (symbolic links followed), read again every [`CHECK_INTERVAL`]: the
    /// Docker and Compose secrets in `/run/secrets`, a Kubernetes secret volume.
    #[must_use]
    pub fn file(path: impl Into<PathBuf>) -> SecretSource {
        SecretSource {
            kind: Kind::File(path.into()),
        }
    }

    /// What `program` prints on its standard output, run with `args` and no shell (no quoting,
    /// globbing or expansion; `program` is looked up on `PATH`), standard input closed, within
    /// [`COMMAND_TIMEOUT`]: `op read op://vault/item/field`, `vault kv get -field=secret …`. Run
    /// again only after `invalid_client`. A failure reports the exit status and the first line
    /// of standard error, with the secret cut out of it.
    #[must_use]
    pub fn command<I, A>(program: impl Into<OsString>, args: I) -> SecretSource
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        SecretSource {
            kind: Kind::Command {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
                timeout: COMMAND_TIMEOUT,
            },
        }
    }

    /// For a command: kill it and count the read as failed after `timeout` instead of
    /// [`COMMAND_TIMEOUT`]. No effect on other sources.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> SecretSource {
        if let Kind::Command { timeout: t, .. } = &mut self.kind {
            *t = timeout;
        }
        self
    }

    /// Whatever `read` returns (its error is reported as given: keep the secret out of it).
    /// Called again only after `invalid_client`, on a thread that may block.
    #[must_use]
    pub fn from_fn(
        read: impl Fn() -> Result<String, String> + Send + Sync + 'static,
    ) -> SecretSource {
        SecretSource {
            kind: Kind::Fn(Arc::new(read)),
        }
    }

    /// Whether the source is read again every [`CHECK_INTERVAL`] (a file or a variable), not
    /// only after `invalid_client`.
    #[must_use]
    pub fn is_watched(&self) -> bool {
        matches!(self.kind, Kind::Env(_) | Kind::File(_))
    }

    /// Reads the secret now (a command runs; this may block for its timeout).
    ///
    /// # Errors
    ///
    /// The source could not be read, or its value breaks a rule of the module docs.
    pub fn read(&self) -> Result<ClientSecret, SecretSourceError> {
        let raw = match &self.kind {
            Kind::Env(name) => std::env::var_os(name)
                .ok_or_else(|| self.error(SecretSourceErrorKind::Missing, "is not set".into()))
                .map(|v| Zeroizing::new(v.into_encoded_bytes()))?,
            Kind::File(path) => {
                read_file(path).map_err(|(kind, detail)| self.error(kind, detail))?
            }
            Kind::Command {
                program,
                args,
                timeout,
            } => run(program, args, *timeout).map_err(|(kind, detail)| self.error(kind, detail))?,
            Kind::Fn(read) => Zeroizing::new(
                read()
                    .map_err(|detail| {
                        self.error(SecretSourceErrorKind::Failed, format!("failed: {detail}"))
                    })?
                    .into_bytes(),
            ),
        };
        take_value(raw).map_err(|(kind, detail)| self.error(kind, detail))
    }

    /// Credentials of `client_id` and the secret read now, for the configuration a driver
    /// starts with.
    ///
    /// # Errors
    ///
    /// As [`SecretSource::read`].
    pub fn credentials(
        &self,
        client_id: impl Into<String>,
    ) -> Result<Credentials, SecretSourceError> {
        let secret = self.read()?;
        Ok(Credentials::new(client_id, secret.expose_secret()))
    }

    /// What the source is, for messages: `file /run/secrets/x`, `environment variable X`,
    /// `command op`, `function`. Never a value.
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Env(name) => format!("environment variable {name}"),
            Kind::File(path) => format!("file {}", path.display()),
            Kind::Command { program, .. } => format!("command {}", program.to_string_lossy()),
            Kind::Fn(_) => "function".into(),
        }
    }

    fn error(&self, kind: SecretSourceErrorKind, detail: String) -> SecretSourceError {
        SecretSourceError {
            source: self.describe(),
            kind,
            detail,
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretSource")
            .field(&self.describe())
            .finish()
    }
}

/// Why a secret source gave no secret. Never holds the value, nor a file's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretSourceError {
    /// The source, as [`SecretSource::describe`] names it.
    pub source: String,
    /// What went wrong.
    pub kind: SecretSourceErrorKind,
    /// What went wrong, in words: an I/O error, an exit status and the first line of standard
    /// error, or the rule the value breaks.
    pub detail: String,
}

/// What went wrong with a secret source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSourceErrorKind {
    /// The variable is not set, or the file does not exist (a secret volume being swapped, a
    /// secret not mounted).
    Missing,
    /// The file could not be read (permissions, a directory, an I/O error).
    Unreadable,
    /// The command could not be started or exited unsuccessfully, or the function failed.
    Failed,
    /// The command outlasted its timeout and was killed.
    TimedOut,
    /// The value is empty, too large, not UTF-8, or carries a character a secret is not issued
    /// with (whitespace at an end, a control character).
    Malformed,
}

impl fmt::Display for SecretSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the client secret from {} {}", self.source, self.detail)
    }
}

impl std::error::Error for SecretSourceError {}

type Failure = (SecretSourceErrorKind, String);

fn read_file(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let file = std::fs::File::open(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            SecretSourceErrorKind::Missing
        } else {
            SecretSourceErrorKind::Unreadable
        };
        (kind, format!("could not be opened: {e}"))
    })?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_BYTES.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| {
            (
                SecretSourceErrorKind::Unreadable,
                format!("could not be read: {e}"),
            )
        })?;
    Ok(bytes)
}

/// Runs the command, kills it past `timeout`; its standard output.
fn run(
    program: &OsString,
    args: &[OsString],
    timeout: Duration,
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            (
                SecretSourceErrorKind::Failed,
                format!("could not be started: {e}"),
            )
        })?;
    // Each pipe drained on a thread of its own, so a chatty command cannot block on a full pipe;
    // a grandchild that keeps a pipe open cannot hold the read past its timeout either.
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err((
                    SecretSourceErrorKind::TimedOut,
                    format!("did not finish within {timeout:?} and was killed"),
                ));
            }
            Err(e) => {
                let _ = child.kill();
                return Err((
                    SecretSourceErrorKind::Failed,
                    format!("could not be waited for: {e}"),
                ));
            }
        }
    };
    let grace = Duration::from_millis(200);
    let stdout = out.recv_timeout(grace).ok().map(Zeroizing::new);
    if status.success() {
        return Ok(stdout.unwrap_or_default());
    }
    // Standard error is quoted only with the whole standard output in hand to cut out of it.
    let quoted = match (&stdout, err.recv_timeout(grace)) {
        (Some(stdout), Ok(stderr)) => first_line(&Zeroizing::new(stderr), stdout),
        _ => String::new(),
    };
    Err((
        SecretSourceErrorKind::Failed,
        format!("failed ({status}){quoted}"),
    ))
}

/// Reads `pipe` to its end (at most [`MAX_SECRET_BYTES`] and one more) on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (send, receive) = mpsc::channel();
    if let Some(pipe) = pipe {
        let spawned = std::thread::Builder::new()
            .name("seekpass-oauth secret command".into())
            .spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe
                    .take(MAX_SECRET_BYTES.saturating_add(1))
                    .read_to_end(&mut bytes);
                let _ = send.send(bytes);
            });
        // No thread: nothing is read, and the command's output counts as empty.
        drop(spawned);
    }
    receive
}

/// `: ` and the first line of standard error (at most 200 characters), with anything the
/// command printed on standard output cut out of it; empty if there is none.
fn first_line(stderr: &[u8], stdout: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let mut line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned();
    // Cut out first, then shorten: a secret across the cut leaves no part of it behind.
    let printed = String::from_utf8_lossy(stdout);
    for part in printed.split_whitespace() {
        line = line.replace(part, "[redacted]");
    }
    let line: String = line.chars().take(200).collect();
    if line.is_empty() {
        line
    } else {
        format!(": {line}")
    }
}

/// The value of `raw` by the module's rules.
fn take_value(mut raw: Zeroizing<Vec<u8>>) -> Result<ClientSecret, Failure> {
    let malformed = |detail: &str| (SecretSourceErrorKind::Malformed, detail.to_owned());
    if u64::try_from(raw.len()).unwrap_or(u64::MAX) > MAX_SECRET_BYTES {
        return Err(malformed("holds more than 64 KiB, which is no secret"));
    }
    if raw.last() == Some(&b'\n') {
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
    }
    let value = std::str::from_utf8(&raw).map_err(|_| malformed("is not UTF-8 text"))?;
    if value.is_empty() {
        return Err(malformed("is empty"));
    }
    if let Some((at, character)) = pasted_character(value) {
        return Err(malformed(&format!(
            "{at} {character}, which an issued secret never does; remove it"
        )));
    }
    Ok(ClientSecret::new(value))
}

#[cfg(test)]
mod tests;
