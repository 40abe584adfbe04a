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

use crate::classify::is_b64token;
use crate::secret::AccessToken;
use crate::share::FORMAT_VERSION;
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
    // Sized up front (JSON escapes a byte into at most 6), so growing never leaves a copy of the
    // token in a freed buffer. The token itself needs no escaping: it is a b64token.
    let room = client_id
        .len()
        .saturating_add(encoded.scope.len())
        .saturating_mul(6)
        .saturating_add(encoded.access_token.len())
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
    if !is_b64token(&decoded.access_token.0) {
        return Err("its access_token is not a bearer token (RFC 6750 b64token)".to_owned());
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
