//! Making server-supplied text safe to show: bounded, free of control characters, and without
//! the client secret or an access token the server may have echoed.

/// The most characters of server text kept in an error.
pub(crate) const EXCERPT_CHARS: usize = 200;

const REDACTED: &str = "[redacted]";

/// The secrets to strip from server text.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Strips `secret` as given and as it looks form-urlencoded (how it was sent in the body).
    pub(crate) fn new(secret: &str) -> Redactor {
        let mut r = Redactor::default();
        r.add(secret);
        let encoded: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        r.add(&encoded);
        r
    }

    /// Also strips `secret`.
    pub(crate) fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// Whether `text` contains one of the secrets.
    pub(crate) fn contains_secret(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with secrets replaced, control characters turned into spaces, and cut to
    /// [`EXCERPT_CHARS`] characters (with `…` when cut).
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut text = text.to_owned();
        // Longest first, so a secret that contains another is replaced whole.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| core::cmp::Reverse(s.len()));
        for s in secrets {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), REDACTED);
            }
        }
        let mut out = String::with_capacity(text.len().min(EXCERPT_CHARS + 3));
        for (i, c) in text.chars().enumerate() {
            if i == EXCERPT_CHARS {
                out.push('…');
                break;
            }
            out.push(if c.is_control() { ' ' } else { c });
        }
        out
    }

    /// [`Redactor::clean`] of a body, or `None` for a body with no visible text.
    pub(crate) fn excerpt(&self, body: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(self.clean(trimmed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_secret_raw_and_form_encoded() {
        let r = Redactor::new("s+e/c=r:e%t &x");
        let cleaned =
            r.clean("bad secret s+e/c=r:e%t &x or s%2Be%2Fc%3Dr%3Ae%25t+%26x in the echo");
        assert_eq!(cleaned, "bad secret [redacted] or [redacted] in the echo");
    }

    #[test]
    fn strips_added_tokens_and_control_characters() {
        let mut r = Redactor::new("secret");
        r.add("tok");
        r.add("");
        assert_eq!(r.clean("a\r\nb\ttok\x1b[31m"), "a  b [redacted] [31m");
    }

    #[test]
    fn longer_secrets_win_over_their_substrings() {
        let mut r = Redactor::new("abc");
        r.add("abcdef");
        assert_eq!(r.clean("xabcdefx"), "x[redacted]x");
    }

    #[test]
    fn bounds_the_excerpt() {
        let r = Redactor::new("secret");
        let long = "é".repeat(1000);
        let cut = r.clean(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(r.excerpt(b"  \r\n "), None);
        assert_eq!(r.excerpt(b"\xff<html>"), Some("\u{fffd}<html>".into()));
    }
}
