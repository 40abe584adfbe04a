//! Making server-supplied text safe to show: bounded, free of control characters, and without
//! the client secret or an access token the server may have echoed.

/// The most characters of server text kept in an error.
pub(crate) const EXCERPT_CHARS: usize = 200;

use std::borrow::Cow;

use zeroize::Zeroizing;

const REDACTED: &str = "[redacted]";

/// The secrets to strip from server text. Its copies of them are wiped when it is dropped.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<Zeroizing<String>>,
    /// How many of `secrets` (from the front) are the configured secret's own forms.
    own: usize,
}

impl Redactor {
    /// Strips `secret` as given and as it looks form-urlencoded (how it was sent in the body).
    pub(crate) fn new(secret: &str) -> Redactor {
        let mut r = Redactor::default();
        r.add(secret);
        let encoded =
            Zeroizing::new(form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>());
        r.add(&encoded);
        r.own = r.secrets.len();
        r
    }

    /// The redactor for a new configured secret that still strips the one it replaces: an
    /// answer (or a late echo) can carry the old secret while a rotation settles.
    pub(crate) fn rotated(&self, secret: &str) -> Redactor {
        let mut next = Redactor::new(secret);
        let own = next.own;
        for old in self.secrets.iter().take(self.own) {
            next.add(old);
        }
        next.own = own;
        next
    }

    /// This redactor, also stripping `token` (the latest one issued, which a server must not
    /// be able to make the machine print). Borrowed when there is no token: error paths only
    /// pay for the copy.
    pub(crate) fn with_token<'a>(&'a self, token: Option<&str>) -> Cow<'a, Redactor> {
        match token {
            Some(token) => {
                let mut r = self.clone();
                r.add(token);
                Cow::Owned(r)
            }
            None => Cow::Borrowed(self),
        }
    }

    fn all(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|s| s.as_str())
    }

    /// Also strips `secret`.
    pub(crate) fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s.as_str() == secret) {
            self.secrets.push(Zeroizing::new(secret.to_owned()));
        }
    }

    /// Whether `text` contains one of the secrets.
    pub(crate) fn contains_secret(&self, text: &str) -> bool {
        self.all().any(|s| text.contains(s))
    }

    /// `text` with secrets replaced, control characters turned into spaces, and cut to
    /// [`EXCERPT_CHARS`] characters (with `…` when cut).
    pub(crate) fn clean(&self, text: &str) -> String {
        // Copies that may hold an echoed secret are wiped when replaced or done with.
        let mut text = Zeroizing::new(text.to_owned());
        // Longest first, so a secret that contains another is replaced whole.
        let mut secrets: Vec<&str> = self.all().collect();
        secrets.sort_by_key(|s| core::cmp::Reverse(s.len()));
        for s in secrets {
            if text.contains(s) {
                text = Zeroizing::new(text.replace(s, REDACTED));
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

/// `url` with its user information and its query replaced by `[redacted]`, for errors, events
/// and `Debug`: a password in `user:password@` or a signed parameter in a query is never shown.
/// Written for text that may not parse as a URL (it is often shown because it did not):
/// everything before the last `@` counts as user information, so a password with an unescaped
/// `/` is hidden too, and with a `?` or `#` before that `@` (a password holding one, or an `@`
/// in a query) nothing after the scheme is shown.
///
/// ```
/// assert_eq!(
///     seekpass_oauth::shown_url("http://user:pass@proxy.corp:3128/?sig=abc"),
///     "http://[redacted]@proxy.corp:3128/?[redacted]"
/// );
/// ```
#[must_use]
pub fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", after_scheme(rest)),
        None => after_scheme(url),
    }
}

/// `text` with every `scheme://…` in it (up to whitespace or a quote) passed through
/// [`shown_url`]: a transport's message can quote a proxy's or a store's URL.
pub(crate) fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, after)) = rest.split_once("://") {
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(after.len());
        let (url, remaining) = after.split_at(end);
        out.push_str(before);
        out.push_str("://");
        out.push_str(&after_scheme(url));
        rest = remaining;
    }
    out.push_str(rest);
    out
}

fn after_scheme(rest: &str) -> String {
    // Everything before the last `@` is user information, even past a `/`, `?` or `#`: a
    // password may hold any of them unescaped (a URL pasted into an environment variable).
    let (user, rest) = match rest.rsplit_once('@') {
        // Before it a `?` or `#`: the `@` may as well be in a query or fragment, and what
        // follows it too: nothing is shown.
        Some((before, _)) if before.contains(['?', '#']) => return REDACTED.to_owned(),
        Some((_, host)) => (true, host),
        None => (false, rest),
    };
    let (head, tail) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
    let mut out = String::with_capacity(rest.len().saturating_add(REDACTED.len()));
    if user {
        out.push_str(REDACTED);
        out.push('@');
    }
    out.push_str(head);
    match tail.strip_prefix('?') {
        Some(_) => {
            out.push('?');
            out.push_str(REDACTED);
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_user_information_and_query() {
        let cases = [
            (
                "https://id:SECRET@host.example/p",
                "https://[redacted]@host.example/p",
            ),
            (
                "https://id:SE/CR@ET@host.example",
                "https://[redacted]@host.example",
            ),
            ("id:SECRET@host.example", "[redacted]@host.example"),
            (
                "redis://:SECRET@127.0.0.1:6379/0",
                "redis://[redacted]@127.0.0.1:6379/0",
            ),
            (
                "https://h.example/t?sig=SECRET#f",
                "https://h.example/t?[redacted]",
            ),
            (
                "https://h.example/t#SECRET?x",
                "https://h.example/t#SECRET?x",
            ),
            (
                "https://h.example:8443/token.json",
                "https://h.example:8443/token.json",
            ),
            ("not a url", "not a url"),
            ("http://user:pa#SECRET@proxy:3128", "http://[redacted]"),
            ("http://user:pa?SECRET@proxy:3128", "http://[redacted]"),
            (
                "http://user:pa/SECRET@proxy:3128/",
                "http://[redacted]@proxy:3128/",
            ),
            (
                "https://h.example/t?e=a@SECRET.example",
                "https://[redacted]",
            ),
        ];
        for (url, shown) in cases {
            assert_eq!(shown_url(url), shown, "{url}");
        }
        let text =
            "proxy http://u:SECRET@proxy:3128 refused; then \"https://h/?k=SECRET\" and ftp://x";
        assert_eq!(
            scrub_urls(text),
            "proxy http://[redacted]@proxy:3128 refused; then \"https://h/?[redacted]\" and ftp://x"
        );
        assert_eq!(scrub_urls("no url here"), "no url here");
    }

    #[test]
    fn a_rotation_still_strips_the_previous_secret_but_not_the_one_before() {
        let first = Redactor::new("first-secret");
        let second = first.rotated("second-secret");
        let third = second.rotated("third-secret");
        let text = "first-secret second-secret third-secret";
        assert_eq!(
            second.clean(text),
            "[redacted] [redacted] third-secret",
            "the previous secret is still stripped"
        );
        assert_eq!(third.clean(text), "first-secret [redacted] [redacted]");
    }

    #[test]
    fn with_token_adds_it_to_a_copy_only() {
        let r = Redactor::new("s3");
        assert!(matches!(r.with_token(None), Cow::Borrowed(_)));
        let with = r.with_token(Some("tok-one"));
        assert_eq!(with.clean("x tok-one s3"), "x [redacted] [redacted]");
        assert_eq!(r.clean("x tok-one s3"), "x tok-one [redacted]");
    }

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
