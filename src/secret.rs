//! Values that must never be printed: the client secret and access tokens.
//!
//! Both print as `[redacted]` through `Debug` and `Display`; the text is reachable only through an
//! explicitly named `expose_secret` method, so a leak is visible in code review. Both wipe their
//! text from memory when dropped, and so do the `Authorization` values built from them
//! ([`sensitive_header`]): the bytes are overwritten with zeros before the allocation is freed.

use core::fmt;

use bytes::Bytes;
use http::HeaderValue;
use zeroize::Zeroize;

const REDACTED: &str = "[redacted]";

/// The OAuth client secret issued with a `client_id`.
///
/// ```
/// use seekpass_oauth::ClientSecret;
///
/// let secret = ClientSecret::new("demo-secret");
/// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
/// assert_eq!(secret.expose_secret(), "demo-secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret. Emptiness is checked when the configuration is built.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    /// The secret's text, for building requests.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// An OAuth access token: opaque, never inspected or verified by this crate.
///
/// Send it with [`Token::authorization`](crate::Token::authorization), which is already marked
/// sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub(crate) fn new(token: String) -> AccessToken {
        AccessToken(token)
    }

    /// The token's text.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

macro_rules! redacted_fmt {
    ($ty:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({REDACTED})", stringify!($ty))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    };
}

redacted_fmt!(ClientSecret);
redacted_fmt!(AccessToken);

impl Drop for ClientSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for AccessToken {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A buffer that is wiped when dropped.
pub(crate) struct Wiped(pub(crate) Vec<u8>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A header value marked sensitive whose bytes are `value`'s own allocation, wiped when the
/// last clone of the header value is dropped. `None` if `value` is not a valid header value
/// (it is wiped then too).
pub(crate) fn sensitive_header(value: Vec<u8>) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_maybe_shared(Bytes::from_owner(Wiped(value))).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// A copy of `value` in an allocation of its own, marked sensitive and wiped when its last
/// clone is dropped.
///
/// Clones of one `HeaderValue` share a reference count, so threads that clone the same value
/// on every call contend for that count's cache line. A driver that serves many threads keeps
/// one copy per thread (or per group of threads) and clones that instead.
#[must_use]
pub fn sensitive_copy(value: &HeaderValue) -> HeaderValue {
    sensitive_header(value.as_bytes().to_vec()).unwrap_or_else(|| {
        // The bytes came from a valid header value, so this branch is never taken.
        let mut clone = value.clone();
        clone.set_sensitive(true);
        clone
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = ClientSecret::new("s3cr3t-value");
        let token = AccessToken::new("tok3n-value".into());
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:#?}"),
            format!("{token:?}"),
            format!("{token}"),
            format!("{token:#?}"),
        ] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(!shown.contains("tok3n"), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
        assert_eq!(secret.expose_secret(), "s3cr3t-value");
        assert_eq!(token.expose_secret(), "tok3n-value");
    }

    #[test]
    fn sensitive_headers_keep_their_bytes_and_refuse_invalid_ones() {
        let header = sensitive_header(b"Bearer abc".to_vec()).unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.as_bytes(), b"Bearer abc");
        assert!(sensitive_header(b"Bearer a\r\nb".to_vec()).is_none());
    }

    #[test]
    fn a_sensitive_copy_has_the_same_bytes_in_an_allocation_of_its_own() {
        let header = HeaderValue::from_static("Bearer abc");
        let copy = sensitive_copy(&header);
        assert!(copy.is_sensitive());
        assert_eq!(copy, header);
        assert_ne!(copy.as_bytes().as_ptr(), header.as_bytes().as_ptr());
    }
}
