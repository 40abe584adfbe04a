//! Values that must never be printed: the client secret and access tokens.
//!
//! Both print as `[redacted]` through `Debug` and `Display`; the text is reachable only through an
//! explicitly named `expose_secret` method, so a leak is visible in code review.

use core::fmt;

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
}
