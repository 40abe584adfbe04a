//! Client credentials and how they are presented to the token endpoint (RFC 6749 §2.3.1).

use core::fmt;

use crate::error::ConfigError;
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

/// A character a credential was pasted with: whitespace at either end (a trailing `\n` from
/// `echo` or a file, `\r\n` from a Windows editor, a space or a no-break space copied from a web
/// page) or a control character anywhere. Issued ids and secrets never carry them, and a server
/// compares them byte for byte, so sending them fails as `invalid_client` with nothing to say
/// why. Refused rather than trimmed, so the caller learns which variable to fix; the value is
/// never quoted. `(where, what)`: `"starts with"`, `"ends with"` or `"contains"`, and the
/// character's name. The check the configuration applies, for a credential read elsewhere (a
/// driver's secret file or command).
#[must_use]
pub fn pasted_character(value: &str) -> Option<(&'static str, &'static str)> {
    let invisible = |c: &char| c.is_whitespace() || matches!(c, '\u{feff}' | '\u{200b}');
    if let Some(c) = value.chars().next_back().filter(invisible) {
        return Some(("ends with", character_name(c)));
    }
    if let Some(c) = value.chars().next().filter(invisible) {
        return Some(("starts with", character_name(c)));
    }
    let c = value.chars().find(|c| c.is_control())?;
    Some(("contains", character_name(c)))
}

fn character_name(c: char) -> &'static str {
    match c {
        '\n' => "a line feed (\\n)",
        '\r' => "a carriage return (\\r)",
        '\t' => "a tab",
        ' ' => "a space",
        '\u{a0}' => "a no-break space (U+00A0)",
        '\u{feff}' => "a byte-order mark (U+FEFF)",
        '\u{200b}' => "a zero-width space (U+200B)",
        c if c.is_control() => "a control character",
        _ => "a whitespace character",
    }
}

impl Credentials {
    /// The first pasted character either credential carries, named with the environment variable
    /// it is read from.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let fields = [
            ("CLIENT_ID", self.client_id.as_str()),
            ("CLIENT_SECRET", self.client_secret.expose_secret()),
        ];
        for (name, value) in fields {
            if let Some((at, character)) = pasted_character(value) {
                return Err(ConfigError::PastedCharacter {
                    name,
                    at,
                    character,
                });
            }
        }
        Ok(())
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
    fn pasted_characters_are_named_with_where_they_sit() {
        let cases = [
            ("secret\n", Some(("ends with", "a line feed (\\n)"))),
            ("secret\r\n", Some(("ends with", "a line feed (\\n)"))),
            ("secret\r", Some(("ends with", "a carriage return (\\r)"))),
            ("secret ", Some(("ends with", "a space"))),
            ("secret\t", Some(("ends with", "a tab"))),
            (
                "secret\u{a0}",
                Some(("ends with", "a no-break space (U+00A0)")),
            ),
            (
                "secret\u{2003}",
                Some(("ends with", "a whitespace character")),
            ),
            (
                "\u{feff}secret",
                Some(("starts with", "a byte-order mark (U+FEFF)")),
            ),
            (
                "\u{200b}secret",
                Some(("starts with", "a zero-width space (U+200B)")),
            ),
            (" secret", Some(("starts with", "a space"))),
            ("sec\nret", Some(("contains", "a line feed (\\n)"))),
            ("sec\u{7}ret", Some(("contains", "a control character"))),
            ("sec ret", None),
            ("s3cr3t-_.~+/=", None),
            ("sécret", None),
        ];
        for (value, expected) in cases {
            assert_eq!(pasted_character(value), expected, "{value:?}");
        }
    }

    #[test]
    fn the_error_names_the_variable_and_the_character_never_the_value() {
        let e = Credentials::new("demo-client", "Sx7-secret\r\n")
            .check()
            .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(
            shown.contains("CLIENT_SECRET ends with a line feed"),
            "{shown}"
        );
        assert!(!shown.contains("Sx7"), "{shown}");
        let e = Credentials::new(" demo-client", "s").check().unwrap_err();
        assert!(
            e.to_string().starts_with("CLIENT_ID starts with a space"),
            "{e}"
        );
        assert!(!e.to_string().contains("demo-client"), "{e}");
        assert!(Credentials::new("demo-client", "demo-secret")
            .check()
            .is_ok());
    }

    #[test]
    fn default_is_what_seek_pass_documents() {
        assert_eq!(ClientAuth::default(), ClientAuth::SecretPost);
        assert_eq!(ClientAuth::SecretBasic.to_string(), "client_secret_basic");
    }
}
