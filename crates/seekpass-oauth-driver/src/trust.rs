//! Which certificate authorities a TLS sender trusts, chosen the way curl, OpenSSL, Python and
//! Go choose them, so the client works wherever `curl` does:
//!
//! 1. `SSL_CERT_FILE` and `SSL_CERT_DIR` when either is set (a file of PEM certificates; a
//!    colon-separated list of directories), instead of the system store;
//! 2. otherwise the operating system's trust store, where IT installs a TLS-inspecting proxy's
//!    CA (`update-ca-certificates`);
//! 3. only when neither yields a certificate (a minimal container with no CA bundle), the
//!    compiled-in Mozilla roots, and [`Roots::source`] says so;
//! 4. plus every CA file given explicitly (`--cacert`, or the drivers' builder option).
//!
//! `rustls-native-certs` reads 1 and 2: it is what `rustls-platform-verifier` uses on Linux,
//! and a plain list of roots lets the explicit CA files be added to it and the fallback be a
//! deliberate choice, identically for ureq and reqwest.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
pub use rustls_pki_types::CertificateDer;

/// Where the roots came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootsSource {
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR`.
    Environment,
    /// The operating system's trust store.
    System,
    /// The compiled-in Mozilla roots: there was no trust store to read.
    Compiled,
}

/// The roots to trust.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Roots {
    /// The certificates.
    pub certs: Vec<CertificateDer<'static>>,
    /// Where the certificates other than the explicit CA files came from.
    pub source: RootsSource,
    /// Explicit CA certificates among them.
    pub explicit: usize,
}

/// An explicit CA file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for CaFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CA file {}: {} (it must hold PEM certificates, -----BEGIN CERTIFICATE-----)",
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for CaFileError {}

/// The roots: the environment's or the system's, or the compiled-in ones where there are none.
#[must_use]
pub fn default_roots() -> Roots {
    let from_env = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|p| !p.is_empty()));
    let native = rustls_native_certs::load_native_certs();
    let (certs, source) = if !native.certs.is_empty() {
        let source = if from_env {
            RootsSource::Environment
        } else {
            RootsSource::System
        };
        (native.certs, source)
    } else {
        let compiled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| c.clone().into_owned())
            .collect();
        (compiled, RootsSource::Compiled)
    };
    Roots {
        certs,
        source,
        explicit: 0,
    }
}

/// [`default_roots`] plus the certificates in `ca_files`.
///
/// # Errors
///
/// When a CA file cannot be read or holds no certificate: a file named explicitly must work.
pub fn roots(ca_files: &[PathBuf]) -> Result<Roots, CaFileError> {
    let mut roots = default_roots();
    for path in ca_files {
        let found = ca_file(path)?;
        roots.explicit = roots.explicit.saturating_add(found.len());
        roots.certs.extend(found);
    }
    Ok(roots)
}

/// The certificates in one PEM file.
///
/// # Errors
///
/// When it cannot be read or holds no certificate.
pub fn ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let error = |reason: String| CaFileError {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no certificate in it".to_owned()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_exist_and_hold_a_certificate() {
        let missing = ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
        let dir = std::env::temp_dir().join(format!("seekpass-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = ca_file(&empty).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        assert!(
            roots(&[empty]).is_err(),
            "an explicit file that does not work is an error"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn there_are_always_roots_to_trust() {
        let roots = roots(&[]).unwrap();
        assert!(!roots.certs.is_empty(), "{:?}", roots.source);
        assert_eq!(roots.explicit, 0);
    }
}
