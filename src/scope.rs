//! OAuth scopes (RFC 6749 §3.3).
//!
//! A [`Scope`] is one validated scope token; [`Scopes`] is the ordered, duplicate-free list sent as
//! the `scope` parameter, joined with single spaces. SEEK Pass gives one scope per credential type;
//! several scopes give one token usable for a batch submission.

use core::fmt;
use std::borrow::Cow;

use crate::error::ConfigError;

/// One scope token: one or more of `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3), that is printable
/// ASCII except space, `"` and `\`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope(Cow<'static, str>);

impl Scope {
    /// `write.education`: submit education credentials.
    pub const WRITE_EDUCATION: Scope = Scope(Cow::Borrowed("write.education"));
    /// `write.english_proficiency`: submit English-test results.
    pub const WRITE_ENGLISH_PROFICIENCY: Scope = Scope(Cow::Borrowed("write.english_proficiency"));
    /// `write.microcredential`: submit microcredentials.
    pub const WRITE_MICROCREDENTIAL: Scope = Scope(Cow::Borrowed("write.microcredential"));
    /// `write.digital_identity`: submit digital-identity credentials.
    pub const WRITE_DIGITAL_IDENTITY: Scope = Scope(Cow::Borrowed("write.digital_identity"));
    /// `read.digital_identity`: the identity-verification flow.
    pub const READ_DIGITAL_IDENTITY: Scope = Scope(Cow::Borrowed("read.digital_identity"));

    /// The five scopes SEEK Pass documents.
    pub const KNOWN: [Scope; 5] = [
        Scope::WRITE_EDUCATION,
        Scope::WRITE_ENGLISH_PROFICIENCY,
        Scope::WRITE_MICROCREDENTIAL,
        Scope::WRITE_DIGITAL_IDENTITY,
        Scope::READ_DIGITAL_IDENTITY,
    ];

    /// A custom scope, validated against RFC 6749 §3.3.
    ///
    /// ```
    /// use seekpass_oauth::Scope;
    ///
    /// assert_eq!(Scope::new("write.education").unwrap(), Scope::WRITE_EDUCATION);
    /// let err = Scope::new("write education").unwrap_err();
    /// assert!(err.to_string().contains("\"write education\""));
    /// ```
    pub fn new(scope: impl Into<Cow<'static, str>>) -> Result<Scope, ConfigError> {
        let scope = scope.into();
        match invalid_scope_reason(&scope) {
            None => Ok(Scope(scope)),
            Some(reason) => Err(ConfigError::InvalidScope {
                scope: scope.into_owned(),
                reason,
            }),
        }
    }

    /// The scope's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `s` is not a scope token, if it is not.
fn invalid_scope_reason(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("a scope cannot be empty");
    }
    s.chars().find_map(|c| match c {
        '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E' => None,
        ' ' => Some("a scope cannot contain a space; pass several scopes separately"),
        '"' => Some("a scope cannot contain a double quote"),
        '\\' => Some("a scope cannot contain a backslash"),
        c if c.is_ascii_control() => Some("a scope cannot contain control characters"),
        _ => Some("a scope must be printable ASCII"),
    })
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<&str> for Scope {
    type Error = ConfigError;
    fn try_from(s: &str) -> Result<Scope, ConfigError> {
        Scope::new(s.to_owned())
    }
}

impl TryFrom<String> for Scope {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Scope, ConfigError> {
        Scope::new(s)
    }
}

/// An ordered list of distinct scopes: the caller's order is kept and duplicates are dropped.
/// Empty means "no `scope` parameter": the server's default applies.
///
/// ```
/// use seekpass_oauth::{Scope, Scopes};
///
/// let scopes: Scopes = [Scope::WRITE_MICROCREDENTIAL, Scope::WRITE_EDUCATION, Scope::WRITE_MICROCREDENTIAL]
///     .into_iter()
///     .collect();
/// assert_eq!(scopes.to_string(), "write.microcredential write.education");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// No scope.
    #[must_use]
    pub const fn new() -> Scopes {
        Scopes(Vec::new())
    }

    /// Parses a space-separated list, such as `--scope "write.education write.microcredential"`
    /// or a server's `scope` field. Runs of spaces are one separator.
    pub fn parse(list: &str) -> Result<Scopes, ConfigError> {
        let mut scopes = Scopes::new();
        for s in list.split(' ').filter(|s| !s.is_empty()) {
            // SEEK Pass's own scopes are shared constants: a granted scope costs no allocation.
            let known = Scope::KNOWN.iter().find(|k| k.as_str() == s);
            scopes.push(match known {
                Some(k) => k.clone(),
                None => Scope::new(s.to_owned())?,
            });
        }
        Ok(scopes)
    }

    /// Adds `scope` at the end unless it is already present.
    pub fn push(&mut self, scope: Scope) {
        if !self.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Whether `scope` is in the list.
    #[must_use]
    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many scopes the list holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The scopes of `self` that `other` lacks, in order.
    #[must_use]
    pub fn missing_from(&self, other: &Scopes) -> Scopes {
        Scopes(
            self.0
                .iter()
                .filter(|s| !other.contains(s))
                .cloned()
                .collect(),
        )
    }

    /// The same set of scopes, whatever the order.
    #[must_use]
    pub fn same_set(&self, other: &Scopes) -> bool {
        self.len() == other.len() && self.iter().all(|s| other.contains(s))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl fmt::Display for Scopes {
    /// The `scope` parameter: scopes joined with one space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Scopes {
        let mut scopes = Scopes::new();
        for s in iter {
            scopes.push(s);
        }
        scopes
    }
}

impl Extend<Scope> for Scopes {
    fn extend<I: IntoIterator<Item = Scope>>(&mut self, iter: I) {
        for s in iter {
            self.push(s);
        }
    }
}

impl From<Scope> for Scopes {
    fn from(scope: Scope) -> Scopes {
        Scopes(vec![scope])
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a Scope;
    type IntoIter = core::slice::Iter<'a, Scope>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_scopes_are_valid_scope_tokens() {
        for s in Scope::KNOWN {
            assert_eq!(Scope::new(s.as_str().to_owned()).unwrap(), s);
        }
    }

    #[test]
    fn rfc6749_scope_token_grammar() {
        // Every allowed byte on its own, and the edges of each range.
        for b in (0x21u8..=0x7E).filter(|b| *b != b'"' && *b != b'\\') {
            let s = String::from(char::from(b));
            assert!(Scope::new(s.clone()).is_ok(), "{s:?} should be allowed");
        }
        for bad in [
            "",
            " ",
            "a b",
            "a\"b",
            "a\\b",
            "a\tb",
            "a\nb",
            "\x7F",
            "\x00",
            "é",
            "write.educatión",
        ] {
            let err = Scope::new(bad.to_owned()).unwrap_err();
            match &err {
                ConfigError::InvalidScope { scope, .. } => assert_eq!(scope, bad),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn errors_name_the_bad_scope_and_say_why() {
        let err = Scope::new("write education").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"write education\""), "{text}");
        assert!(text.contains("space"), "{text}");
    }

    #[test]
    fn keeps_order_and_drops_duplicates() {
        let scopes = Scopes::parse("b a  b c a").unwrap();
        assert_eq!(scopes.to_string(), "b a c");
        assert_eq!(scopes.len(), 3);
    }

    #[test]
    fn empty_list_is_allowed() {
        let scopes = Scopes::parse("   ").unwrap();
        assert!(scopes.is_empty());
        assert_eq!(scopes.to_string(), "");
    }

    #[test]
    fn parsing_shares_the_known_scopes() {
        let parsed = Scopes::parse("write.education custom.scope").unwrap();
        let members: Vec<&Scope> = parsed.iter().collect();
        assert!(matches!(members[0].0, Cow::Borrowed(_)));
        assert_eq!(members[0], &Scope::WRITE_EDUCATION);
        assert!(matches!(members[1].0, Cow::Owned(_)));
        assert_eq!(members[1].as_str(), "custom.scope");
    }

    #[test]
    fn parse_rejects_a_bad_member() {
        assert!(Scopes::parse("write.education bad\"scope").is_err());
    }

    #[test]
    fn set_helpers() {
        let a = Scopes::parse("x y z").unwrap();
        let b = Scopes::parse("z x").unwrap();
        assert_eq!(a.missing_from(&b).to_string(), "y");
        assert!(!a.same_set(&b));
        assert!(b.same_set(&Scopes::parse("x z").unwrap()));
        // Same length, different members.
        assert!(!b.same_set(&Scopes::parse("x w").unwrap()));

        let x = Scope::new("x").unwrap();
        let one = Scopes::from(x.clone());
        assert_eq!(one.to_string(), "x");
        let collected: Scopes = [x.clone(), Scope::new("q").unwrap(), x.clone()]
            .into_iter()
            .collect();
        assert_eq!(collected.to_string(), "x q");
        let listed: Vec<String> = (&collected).into_iter().map(|s| s.to_string()).collect();
        assert_eq!(listed, ["x", "q"]);
        assert_eq!(collected.iter().count(), 2);
        assert_eq!(format!("{x}"), "x");
    }

    #[test]
    fn each_kind_of_bad_character_has_its_own_reason() {
        let reason = |s: &str| match Scope::new(s.to_owned()) {
            Err(ConfigError::InvalidScope { reason, .. }) => reason,
            other => panic!("{s:?}: {other:?}"),
        };
        assert!(reason("a b").contains("space"));
        assert!(reason("a\"b").contains("double quote"));
        assert!(reason("a\\b").contains("backslash"));
        assert!(reason("a\tb").contains("control characters"));
        assert!(reason("a\x7Fb").contains("control characters"));
        assert!(reason("é").contains("printable ASCII"));
    }
}
