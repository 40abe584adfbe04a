//! Client credentials and how they are presented to the token endpoint (RFC 6749 §2.3.1).

use core::fmt;

use crate::secret::ClientSecret;

/// A `client_id` and its `client_secret`, issued per environment (staging and production differ).
///
/// `Debug` shows the id and redacts the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    client_id: String,
    client_secret: ClientSecret,
}

impl Credentials {
    /// Credentials from an id and a secret. Emptiness is checked when the configuration is built.
    #[must_use]
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Credentials {
        Credentials {
            client_id: client_id.into(),
            client_secret: ClientSecret::new(client_secret),
        }
    }

    /// The `client_id`.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The `client_secret`.
    #[must_use]
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

/// How the client authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body. What the SEEK Pass
    /// guide documents; the default.
    #[default]
    SecretPost,
    /// `client_secret_basic`: HTTP Basic with the id and secret form-urlencoded before base64, as
    /// RFC 6749 §2.3.1 requires. Doorkeeper does not decode them, so a secret with characters that
    /// encoding changes (`+ / = : % &`, space, non-ASCII) fails there: use
    /// [`ClientAuth::SecretBasicUnencoded`] or [`ClientAuth::SecretPost`] with such a server.
    SecretBasic,
    /// HTTP Basic with the raw id and secret, which is what Doorkeeper (SEEK Pass's server
    /// software) expects. The id must not contain `:`.
    SecretBasicUnencoded,
}

impl ClientAuth {
    /// The method's name: `client_secret_post`, `client_secret_basic` or
    /// `client_secret_basic_unencoded`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::SecretPost => "client_secret_post",
            ClientAuth::SecretBasic => "client_secret_basic",
            ClientAuth::SecretBasicUnencoded => "client_secret_basic_unencoded",
        }
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_id_and_hides_secret() {
        let c = Credentials::new("demo-client", "demo-secret");
        let shown = format!("{c:?}");
        assert!(shown.contains("demo-client"));
        assert!(!shown.contains("demo-secret"));
    }

    #[test]
    fn default_is_what_seek_pass_documents() {
        assert_eq!(ClientAuth::default(), ClientAuth::SecretPost);
        assert_eq!(ClientAuth::SecretBasic.to_string(), "client_secret_basic");
    }
}
