//! A token as kept in the shared store: the JSON value written by the replica that fetched it and
//! read by the others.
//!
//! ```json
//! {"v":1,"client_id":"my-client","access_token":"…","scope":"write.education",
//!  "lifetime_ms":7200000,"lifetime_source":"expires_in","created_at":1795798685}
//! ```
//!
//! The remaining lifetime is not in the value: it travels as the key's expiry, so no wall clock
//! crosses hosts. The access token is as secret here as anywhere: the encoded bytes are a
//! [`StoredValue`], and a refused value's problem never quotes it.

use core::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::classify::is_header_token;
use crate::secret::AccessToken;
use crate::store::StoredValue;
use crate::time::duration_millis;
use crate::token::{LifetimeSource, Token};

#[derive(Serialize)]
struct Encoded<'a> {
    v: u32,
    client_id: &'a str,
    access_token: &'a str,
    scope: String,
    lifetime_ms: u64,
    lifetime_source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<u64>,
}

#[derive(Deserialize)]
struct Decoded {
    v: u32,
    client_id: String,
    access_token: WipedString,
    scope: Option<String>,
    lifetime_ms: u64,
    lifetime_source: String,
    created_at: Option<u64>,
}

/// The version of the stored value's format, part of every key.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// A string wiped when dropped, so a value refused halfway through decoding leaves no copy of
/// its token behind.
struct WipedString(String);

impl<'de> Deserialize<'de> for WipedString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WipedString, D::Error> {
        String::deserialize(d).map(WipedString)
    }
}

impl Drop for WipedString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A token read from the store, before the machine schedules it.
pub(crate) struct SharedToken {
    pub(crate) access_token: AccessToken,
    pub(crate) scope: Option<String>,
    pub(crate) lifetime: Duration,
    pub(crate) lifetime_source: LifetimeSource,
    pub(crate) created_at: Option<u64>,
}

fn source_name(source: LifetimeSource) -> &'static str {
    match source {
        LifetimeSource::ExpiresIn => "expires_in",
        LifetimeSource::Assumed => "assumed",
        LifetimeSource::Capped => "capped",
    }
}

/// The stored value of `token`, fetched for `client_id`.
pub(crate) fn encode(client_id: &str, token: &Token) -> StoredValue {
    let scope = token.scope.to_string();
    let encoded = Encoded {
        v: FORMAT_VERSION,
        client_id,
        access_token: token.access_token.expose_secret(),
        scope,
        lifetime_ms: duration_millis(token.lifetime),
        lifetime_source: source_name(token.lifetime_source),
        created_at: token.created_at,
    };
    // Sized up front (JSON escapes a byte into at most 6: a token may hold `"` or `\`), so
    // growing never leaves a copy of the token in a freed buffer.
    let room = client_id
        .len()
        .saturating_add(encoded.scope.len())
        .saturating_add(encoded.access_token.len())
        .saturating_mul(6)
        .saturating_add(192);
    let mut bytes = Vec::with_capacity(room);
    // Writing into a Vec cannot fail, and every field serialises.
    let _ = serde_json::to_writer(&mut bytes, &encoded);
    StoredValue::new(bytes)
}

/// Reads a stored value for `client_id`. The error says what is wrong without quoting the value.
pub(crate) fn decode(bytes: &[u8], client_id: &str) -> Result<SharedToken, String> {
    let decoded: Decoded = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a stored token ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    if decoded.v != FORMAT_VERSION {
        return Err(format!(
            "format version {} where {FORMAT_VERSION} was expected",
            decoded.v
        ));
    }
    if decoded.client_id != client_id {
        return Err("stored for another client id".to_owned());
    }
    if !is_header_token(&decoded.access_token.0) {
        return Err("its access_token cannot be sent in a header".to_owned());
    }
    if decoded.lifetime_ms == 0 {
        return Err("its lifetime is zero".to_owned());
    }
    let lifetime_source = match decoded.lifetime_source.as_str() {
        "expires_in" => LifetimeSource::ExpiresIn,
        "assumed" => LifetimeSource::Assumed,
        "capped" => LifetimeSource::Capped,
        _ => return Err("its lifetime_source is unknown".to_owned()),
    };
    let mut token = decoded.access_token;
    Ok(SharedToken {
        access_token: AccessToken::new(core::mem::take(&mut token.0)),
        scope: decoded.scope,
        lifetime: Duration::from_millis(decoded.lifetime_ms),
        lifetime_source,
        created_at: decoded.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TokenId;
    use crate::scope::Scopes;
    use crate::time::Time;

    fn token(text: &str) -> Token {
        Token {
            id: TokenId(3),
            access_token: AccessToken::new(text.to_owned()),
            authorization: http::HeaderValue::from_static("Bearer x"),
            scope: Scopes::parse("write.education read.digital_identity").unwrap(),
            lifetime: Duration::from_secs(7200),
            lifetime_source: LifetimeSource::ExpiresIn,
            requested_at: Time::ZERO,
            expires_at: Time::from_secs(7200),
            serve_until: Time::from_secs(7170),
            refresh_at: Time::from_secs(6000),
            created_at: Some(1_795_798_685),
            shared: true,
        }
    }

    /// The format is a contract between replicas running different versions: any change to it
    /// needs a new version (and so new keys).
    #[test]
    fn the_stored_value_is_exactly_the_v1_format() {
        let value = encode("my-client", &token("abc.DEF-123"));
        assert_eq!(
            std::str::from_utf8(value.as_bytes()).unwrap(),
            r#"{"v":1,"client_id":"my-client","access_token":"abc.DEF-123","scope":"write.education read.digital_identity","lifetime_ms":7200000,"lifetime_source":"expires_in","created_at":1795798685}"#
        );
        let decoded = decode(value.as_bytes(), "my-client").unwrap();
        assert_eq!(decoded.access_token.expose_secret(), "abc.DEF-123");
        assert_eq!(
            decoded.scope.as_deref(),
            Some("write.education read.digital_identity")
        );
        assert_eq!(decoded.lifetime, Duration::from_secs(7200));
        assert_eq!(decoded.lifetime_source, LifetimeSource::ExpiresIn);
        assert_eq!(decoded.created_at, Some(1_795_798_685));
    }

    #[test]
    fn every_lifetime_source_survives_the_trip() {
        for source in [
            LifetimeSource::ExpiresIn,
            LifetimeSource::Assumed,
            LifetimeSource::Capped,
        ] {
            let mut t = token("tok");
            t.lifetime_source = source;
            let value = encode("c", &t);
            assert_eq!(
                decode(value.as_bytes(), "c").unwrap().lifetime_source,
                source
            );
        }
    }

    #[test]
    fn values_it_cannot_use_are_refused_without_quoting_them() {
        let good = r#"{"v":1,"client_id":"c","access_token":"SECRET","scope":null,"lifetime_ms":1000,"lifetime_source":"expires_in","created_at":null}"#;
        assert!(decode(good.as_bytes(), "c").is_ok());
        let cases = [
            (good.replace(r#""v":1"#, r#""v":2"#), "format version 2"),
            (good.to_owned(), "another client id"),
            (
                good.replace("SECRET", "SECRET\\r\\nX: y"),
                "cannot be sent in a header",
            ),
            (good.replace(":1000,", ":0,"), "lifetime is zero"),
            (good.replace("expires_in", "guessed"), "lifetime_source"),
            (
                good.replace(r#""access_token""#, r#""token""#),
                "not a stored token",
            ),
            ("SECRET".to_owned(), "not a stored token"),
            (
                r#"{"v":1,"access_token":"SECRET","v":1}"#.to_owned(),
                "not a stored token",
            ),
        ];
        for (i, (value, expected)) in cases.iter().enumerate() {
            let client = if i == 1 { "other" } else { "c" };
            let problem = decode(value.as_bytes(), client).err().unwrap();
            assert!(problem.contains(expected), "{value}: {problem}");
            assert!(!problem.contains("SECRET"), "{problem}");
        }
    }
}
