//! Secret rotation on both sides: a token endpoint whose accepted client secrets change, and the
//! ways a secret file changes under a running process (write-then-rename; the Kubernetes
//! volume's `..data` symlink swap, as the kubelet's atomic writer does it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use seekpass_oauth::{ConfigBuilder, Credentials, Endpoint};

/// A token endpoint (any path) that issues a token, `token-N` (two hours unless started with
/// another lifetime), to client `id` with an accepted secret, and answers `401 invalid_client` to
/// any other, or `503` to every request while it is down; it records the secret of each request,
/// in order.
pub struct SecretServer {
    base: String,
    accepted: Arc<Mutex<Vec<String>>>,
    sent: Arc<Mutex<Vec<String>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl SecretServer {
    /// Accepting `secret` alone.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn start(secret: &str) -> SecretServer {
        SecretServer::with_lifetime(secret, 7200)
    }

    /// Accepting `secret` alone, issuing tokens of `expires_in` seconds.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn with_lifetime(secret: &str, expires_in: u64) -> SecretServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        let accepted = Arc::new(Mutex::new(vec![secret.to_owned()]));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (accept, record, out) = (Arc::clone(&accepted), Arc::clone(&sent), Arc::clone(&down));
        let issued = AtomicUsize::new(0);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let secret = read_secret(&mut stream).unwrap_or_default();
                record.lock().unwrap().push(secret.clone());
                let (status, body) = if out.load(Ordering::SeqCst) {
                    ("503 Service Unavailable", "{}".to_owned())
                } else if accept.lock().unwrap().contains(&secret) {
                    let n = issued.fetch_add(1, Ordering::SeqCst).saturating_add(1);
                    (
                        "200 OK",
                        format!(
                            r#"{{"access_token":"token-{n}","token_type":"Bearer","expires_in":{expires_in}}}"#
                        ),
                    )
                } else {
                    (
                        "401 Unauthorized",
                        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#
                            .to_owned(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        SecretServer {
            base,
            accepted,
            sent,
            down,
        }
    }

    /// While `down`, every request is answered `503 Service Unavailable` (an outage).
    pub fn down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// A configuration for this server: client `id` with `credentials`' secret.
    ///
    /// # Panics
    ///
    /// Never for a server this module started.
    pub fn config(&self, credentials: Credentials) -> ConfigBuilder {
        let endpoint = Endpoint::token_url(&format!("{}/oauth/token", self.base)).expect("a URL");
        seekpass_oauth::Config::builder(endpoint, credentials)
    }

    /// From now on only these secrets are accepted (the server's side of a rotation).
    pub fn accept(&self, secrets: &[&str]) {
        *self.accepted.lock().unwrap() = secrets.iter().map(|s| (*s).to_owned()).collect();
    }

    /// The secret each request carried, in order.
    #[must_use]
    pub fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

/// The `client_secret` of the form body on `stream`.
fn read_secret(stream: &mut std::net::TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0_u64;
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 0 && line.trim() != "" {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
        line.clear();
    }
    let mut body = Vec::new();
    reader.take(length).read_to_end(&mut body).ok()?;
    form_urlencoded::parse(&body)
        .find(|(k, _)| k == "client_secret")
        .map(|(_, v)| v.into_owned())
}

/// Replaces the file at `path` with `contents` as editors and secret agents do: written beside
/// it, then renamed over it (a new inode; a reader never sees half a file).
///
/// # Panics
///
/// When the directory cannot be written.
pub fn write_by_rename(path: &Path, contents: &str) {
    let beside = path.with_extension("tmp");
    std::fs::write(&beside, contents).unwrap();
    std::fs::rename(&beside, path).unwrap();
}

/// A directory of its own for a test's files, removed when dropped.
///
/// # Panics
///
/// When the system's temporary directory cannot be written.
#[must_use]
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A directory laid out as a Kubernetes secret volume: `name` is a symbolic link to
/// `..data/name`, `..data` a symbolic link to a timestamped directory holding the values; an
/// update writes a new timestamped directory and renames a new `..data` link over the old one.
#[cfg(unix)]
pub struct KubeSecret {
    dir: PathBuf,
    name: String,
    version: usize,
}

#[cfg(unix)]
impl KubeSecret {
    /// The volume in `dir` with `name` holding `value`.
    ///
    /// # Panics
    ///
    /// When `dir` cannot be written.
    #[must_use]
    pub fn new(dir: &Path, name: &str, value: &str) -> KubeSecret {
        let mut secret = KubeSecret {
            dir: dir.to_owned(),
            name: name.to_owned(),
            version: 0,
        };
        secret.update(value);
        std::os::unix::fs::symlink(format!("..data/{name}"), dir.join(name)).unwrap();
        secret
    }

    /// The path a pod reads: `dir/name`.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// Swaps in `value` as the kubelet does: a new timestamped directory, a new `..data_tmp` link
    /// to it, renamed over `..data`, and the old directory removed.
    ///
    /// # Panics
    ///
    /// When the directory cannot be written.
    pub fn update(&mut self, value: &str) {
        let old = format!("..2026_12_01_{:04}", self.version);
        self.version = self.version.saturating_add(1);
        let new = format!("..2026_12_01_{:04}", self.version);
        std::fs::create_dir(self.dir.join(&new)).unwrap();
        std::fs::write(self.dir.join(&new).join(&self.name), value).unwrap();
        let tmp = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(&new, &tmp).unwrap();
        std::fs::rename(&tmp, self.dir.join("..data")).unwrap();
        let _ = std::fs::remove_dir_all(self.dir.join(old));
    }
}
