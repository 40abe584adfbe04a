//! A Redis of a test's own, from `interop/redis/server.sh`: for the tests that stop it, restart
//! it or give it TLS, where the shared `REDIS_URL` of `.ci/run` will not do.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Redis in `dir`, started and stopped through `interop/redis/server.sh` and stopped when
/// dropped. The script's output is always captured, never inherited by the test's output:
/// `start` prints the URL, and the store's password is in it.
#[derive(Debug)]
pub struct OwnRedis {
    script: PathBuf,
    dir: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
}

impl OwnRedis {
    /// A Redis that will listen in plain TCP, its files in `dir`. Nothing is started yet.
    pub fn new(dir: &Path) -> OwnRedis {
        OwnRedis {
            script: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/redis/server.sh"),
            dir: dir.to_owned(),
            env: Vec::new(),
        }
    }

    /// A Redis that will listen with TLS only, its certificate signed by `ca`, its files in
    /// `dir`. Nothing is started yet.
    ///
    /// # Errors
    ///
    /// When the certificate's files cannot be written.
    #[cfg(feature = "tls")]
    pub fn with_tls(dir: &Path, ca: &crate::tls::PrivateCa) -> std::io::Result<OwnRedis> {
        let (cert, key) = ca.server_files(dir)?;
        let mut redis = OwnRedis::new(dir);
        redis.env = vec![
            ("TLS_CERT", cert),
            ("TLS_KEY", key),
            ("TLS_CA", ca.pem_file().to_owned()),
        ];
        Ok(redis)
    }

    /// Starts it, on `port` or a free one: its URL (`redis://` or `rediss://`, with the ACL
    /// user and password). Panics, with the script's error output, when it does not start.
    pub fn start(&self, port: Option<u16>) -> String {
        let mut command = self.command("start");
        command.args(port.map(|port| port.to_string()));
        run(command)
    }

    /// Stops it. Panics, with the script's error output, when that fails.
    pub fn stop(&self) {
        run(self.command("stop"));
    }

    /// `server.sh ACTION DIR`, with the TLS files' variables.
    fn command(&self, action: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .arg(&self.script)
            .arg(action)
            .arg(&self.dir)
            .envs(self.env.iter().map(|(name, path)| (name, path)));
        command
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // Not `stop`: a panic while unwinding would abort the test run.
        let _ = self.command("stop").output();
    }
}

/// Runs `command` with its output captured: what it printed, trimmed.
fn run(mut command: Command) -> String {
    let out = command.output().expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{command:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
