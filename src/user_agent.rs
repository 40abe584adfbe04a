//! The `User-Agent` every token request carries (RFC 9110 §10.1.5): the partner's own products
//! first, if any, then `seekpass-oauth/<version>`. A token endpoint's operators tell partners'
//! integrations apart by it.

use http::HeaderValue;

use crate::error::ConfigError;

/// This crate's product token, always the last in the header.
pub const PRODUCT: &str = concat!("seekpass-oauth/", env!("CARGO_PKG_VERSION"));

/// The products named before [`PRODUCT`], most significant first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UserAgent {
    /// Each as given, already checked by [`check_product`] when built.
    before: Vec<String>,
}

impl UserAgent {
    /// Puts `product` first.
    pub(crate) fn prepend(&mut self, product: String) {
        self.before.insert(0, product);
    }

    /// Refuses a product that would not read as RFC 9110 `User-Agent` syntax.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        self.before.iter().try_for_each(|p| check_product(p))
    }

    /// The header's text.
    pub(crate) fn value(&self) -> String {
        let mut value = String::new();
        for product in &self.before {
            value.push_str(product);
            value.push(' ');
        }
        value.push_str(PRODUCT);
        value
    }

    /// The header value; `PRODUCT` alone if the text is not one (never, once checked).
    pub(crate) fn header(&self) -> HeaderValue {
        HeaderValue::try_from(self.value()).unwrap_or_else(|_| HeaderValue::from_static(PRODUCT))
    }
}

/// `product *( RWS ( product / comment ) )` with `product = token [ "/" token ]` and a comment in
/// parentheses (RFC 9110 §10.1.5, §5.6.2, §5.6.5): what one call of
/// [`ConfigBuilder::user_agent_product`](crate::ConfigBuilder::user_agent_product) may add.
fn check_product(text: &str) -> Result<(), ConfigError> {
    let refuse = |reason: &'static str| {
        Err(ConfigError::InvalidUserAgent {
            product: text.to_owned(),
            reason,
        })
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut products = 0usize;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b' ' | b'\t') if i > 0 => i = i.saturating_add(1),
            Some(b'(') if products > 0 => match comment_end(bytes, i) {
                Some(end) => i = end,
                None => return refuse("a comment is not closed, or holds a control character"),
            },
            Some(_) => {
                let name = token_end(bytes, i);
                if name == i {
                    return refuse(SYNTAX);
                }
                i = name;
                if bytes.get(i) == Some(&b'/') {
                    let version = token_end(bytes, i.saturating_add(1));
                    if version == i.saturating_add(1) {
                        return refuse("a `/` must be followed by a version token");
                    }
                    i = version;
                }
                products = products.saturating_add(1);
                if !matches!(bytes.get(i), None | Some(b' ' | b'\t')) {
                    return refuse(SYNTAX);
                }
            }
            None => break,
        }
    }
    if products == 0 {
        return refuse("it names no product");
    }
    if bytes.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return refuse("it ends with whitespace");
    }
    Ok(())
}

/// What a product looks like, for the error.
const SYNTAX: &str = "a product is a token (ASCII letters, digits and !#$%&'*+-.^_`|~) with an \
     optional `/version`, separated from the next product or comment by a space";

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Where the run of token characters from `start` ends.
fn token_end(bytes: &[u8], start: usize) -> usize {
    let run = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| is_tchar(**b))
        .count();
    start.saturating_add(run)
}

/// Just past the comment opening at `start`, nested comments and quoted pairs included (RFC 9110
/// §5.6.5); `None` if it never closes or holds a control character.
fn comment_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'(' => depth = depth.saturating_add(1),
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i.checked_add(1);
                }
            }
            b'\\' => {
                i = i.checked_add(1)?;
                if !bytes
                    .get(i)
                    .is_some_and(|q| *q == b'\t' || (b' '..=b'~').contains(q))
                {
                    return None;
                }
            }
            b'\t' | b' '..=b'~' => {}
            _ => return None,
        }
        i = i.checked_add(1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_comments_as_rfc_9110_writes_them_are_taken() {
        for good in [
            "Acme",
            "AcmeSIS/4.2.1",
            "acme-sis/2026.11 (ops@acme.example)",
            "Acme/1 (Linux; x86_64) Worker/7",
            "Acme/1 (nested (comment) \\) ok)",
            "a!#$%&'*+-.^_`|~/1",
        ] {
            assert_eq!(check_product(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (bad, reason) in [
            ("", "it names no product"),
            ("   ", "a product is a token"),
            (" Acme/1", "a product is a token"),
            ("Acme/1 ", "it ends with whitespace"),
            ("(comment only)", "a product is a token"),
            ("Acme/", "a `/` must be followed"),
            ("Acme/1/2", "separated from the next"),
            ("Acme 1.0;", "separated from the next"),
            ("Acme/1 (open", "not closed"),
            ("Acme/1 (bell\u{7})", "not closed"),
            ("Acme/1\r\nX-Injected: yes", "a product is a token"),
            ("Acmé/1", "a product is a token"),
            ("Acme/1,Other/2", "a product is a token"),
        ] {
            match check_product(bad) {
                Err(ConfigError::InvalidUserAgent { product, reason: r }) => {
                    assert_eq!(product, bad);
                    assert!(r.contains(reason), "{bad:?}: {r}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_crate_comes_last_and_each_product_added_goes_first() {
        let mut agent = UserAgent::default();
        assert_eq!(agent.value(), PRODUCT);
        agent.prepend("seekpass-token/9".into());
        agent.prepend("Acme/1 (ops@acme.example)".into());
        assert_eq!(
            agent.value(),
            format!("Acme/1 (ops@acme.example) seekpass-token/9 {PRODUCT}")
        );
        assert_eq!(agent.header().to_str().unwrap(), agent.value());
        assert!(PRODUCT.starts_with("seekpass-oauth/0."));
    }
}
