//! Turning a token endpoint's response into a token or a typed failure (RFC 6749 §5.1, §5.2).
//!
//! Lenient where real servers differ harmlessly (`expires_in` as a string, no `token_type`,
//! unknown fields, an empty `error` beside a token, a granted `scope` that is no string, a UTF-8
//! byte-order mark), strict where a mistake would be served to the API (the token's characters, a
//! non-bearer type, a non-empty `error` in a 2xx body). A body in a content coding (`gzip`, say:
//! every token request asks for `identity`) is refused with the coding named.

use core::fmt;
use core::time::Duration;
use std::borrow::Cow;

use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, Response, StatusCode};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::error::{ErrorCode, ResponseProblem, TokenError};
use crate::redact::Redactor;
use crate::secret::AccessToken;
use crate::token::ExpiresIn;

/// A successful token response, before the machine applies its timing policy.
#[derive(Clone, PartialEq)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: ExpiresIn,
    pub(crate) scope: GrantedScope,
    pub(crate) created_at: Option<u64>,
}

/// The `scope` member of a token response (RFC 6749 §5.1). It is information about the token,
/// so one that cannot be read does not cost the token: the requested scopes stand.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum GrantedScope {
    /// Absent or `null`: identical to the requested scope (RFC 6749 §5.1).
    Absent,
    /// A string, to be parsed as a space-separated list.
    Text(String),
    /// Some other JSON type (an array, a number, …), named.
    Unreadable(&'static str),
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Classifies `response`. `max_body` bounds what is parsed; `redactor` strips secrets from any
/// server text kept in the error, and so does `latest_token` (the token the machine holds).
pub(crate) fn classify<B: AsRef<[u8]>>(
    response: &Response<B>,
    max_body: usize,
    redactor: &Redactor,
    latest_token: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    let status = response.status();
    let headers = response.headers();
    let body = response.body().as_ref();
    if body.len() > max_body {
        return Err(TokenError::BodyTooLarge {
            status,
            limit: max_body,
        });
    }
    if let Some(coding) = content_coding(headers, body) {
        return Err(coded(status, headers, &coding, redactor));
    }
    let body = without_bom(body);
    let (parsed, duplicate) = match parse_object(body) {
        Ok(raw) => (Some(raw), None),
        Err(duplicate) => (None, duplicate),
    };
    // The common case first: a token, with no server text to make safe.
    if status.is_success() {
        if let Some(raw) = parsed.as_ref().filter(|r| r.error_code().is_none()) {
            if let Ok(token) = raw.to_token() {
                return Ok(token);
            }
        }
    }
    // From here on server text may be shown, so an access token it carried is redacted too.
    let mut redactor = redactor.with_token(latest_token);
    if let Some(Scalar::Str(token)) = parsed.as_ref().and_then(|p| p.access_token.as_ref()) {
        redactor.to_mut().add(token);
    }
    if duplicate.is_some() {
        // Every copy of a repeated access_token is a token to keep out of the excerpt.
        for token in every_access_token(body) {
            redactor.to_mut().add(&token);
        }
    }
    if let Some(raw) = &parsed {
        if let Some(code) = raw.error_code() {
            return Err(oauth_error(status, headers, code, raw, &redactor));
        }
    }
    if !status.is_success() {
        return Err(TokenError::Status {
            status,
            www_authenticate: header_text(headers, WWW_AUTHENTICATE, &redactor),
            excerpt: redactor.excerpt(body),
        });
    }
    let invalid = |problem| TokenError::InvalidResponse {
        status,
        problem,
        excerpt: redactor.excerpt(body),
    };
    let Some(raw) = parsed else {
        return Err(invalid(match duplicate {
            // A server that repeats a field will repeat it: nothing to retry soon.
            Some(field) => ResponseProblem::InvalidField {
                field,
                detail: "appears more than once in the JSON object".to_owned(),
            },
            None => ResponseProblem::NotJson,
        }));
    };
    raw.to_token()
        .map_err(|problem| invalid(redact_problem(problem, &redactor)))
}

/// Server text inside a problem, made safe like every other server text.
fn redact_problem(problem: ResponseProblem, redactor: &Redactor) -> ResponseProblem {
    match problem {
        ResponseProblem::UnsupportedTokenType(t) => {
            ResponseProblem::UnsupportedTokenType(redactor.clean(&t))
        }
        ResponseProblem::InvalidField { field, detail } => ResponseProblem::InvalidField {
            field,
            detail: redactor.clean(&detail),
        },
        other => other,
    }
}

/// The fields a token response is read for; a duplicate of one of them is named in the error.
const FIELDS: [&str; 8] = [
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "created_at",
    "error",
    "error_description",
    "error_uri",
];

/// The content coding a body is in, when it is in one: the `Content-Encoding` header's (any
/// value but `identity`), or `gzip`/`zstd` recognised by their magic numbers when a server sent
/// the coding unlabelled. Token requests send `Accept-Encoding: identity`, so a coded body is a
/// server or an intermediary ignoring it (RFC 9110 §12.5.3 lets it).
fn content_coding(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let mut codings = Vec::new();
    for value in headers.get_all(http::header::CONTENT_ENCODING) {
        for coding in String::from_utf8_lossy(value.as_bytes()).split(',') {
            let coding = coding.trim();
            if !coding.is_empty() && !coding.eq_ignore_ascii_case("identity") {
                codings.push(coding.to_ascii_lowercase());
            }
        }
    }
    if !codings.is_empty() {
        return Some(codings.join(", "));
    }
    match body {
        [0x1f, 0x8b, ..] => Some("gzip".to_owned()),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd".to_owned()),
        _ => None,
    }
}

/// The error for a body in a content coding: nothing of it is parsed or quoted.
fn coded(status: StatusCode, headers: &HeaderMap, coding: &str, redactor: &Redactor) -> TokenError {
    // Server text: bounded, without control characters or secrets.
    let coding = redactor.clean(coding);
    if status.is_success() {
        TokenError::InvalidResponse {
            status,
            problem: ResponseProblem::ContentCoded(coding),
            excerpt: None,
        }
    } else {
        TokenError::Status {
            status,
            www_authenticate: header_text(headers, WWW_AUTHENTICATE, redactor),
            excerpt: Some(format!("({coding}-coded, not shown)")),
        }
    }
}

/// `body` without a leading UTF-8 byte-order mark (RFC 8259 §8.1 lets a parser ignore one).
fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// The body as a JSON object. serde's derive would also read a JSON array positionally, which a
/// token response never is, so anything not starting with `{` is refused first. `Err` holds the
/// field a well-formed object repeats (`Some`), or `None` when the body is no JSON object.
fn parse_object(body: &[u8]) -> Result<RawResponse<'_>, Option<&'static str>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).ok_or(None)?;
    if *first != b'{' {
        return Err(None);
    }
    serde_json::from_slice(body).map_err(|e| duplicated_field(&e))
}

/// Every string value of an `access_token` key at the top level of a JSON object, repeats
/// included (serde's derive and `serde_json::Value` keep only one).
fn every_access_token(body: &[u8]) -> Vec<String> {
    struct Tokens(Vec<String>);
    impl<'de> Deserialize<'de> for Tokens {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tokens, D::Error> {
            deserializer.deserialize_map(Tokens(Vec::new()))
        }
    }
    impl<'de> Visitor<'de> for Tokens {
        type Value = Tokens;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Tokens, A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "access_token" {
                    if let Scalar::Str(token) = map.next_value::<Scalar<'de>>()? {
                        self.0.push(token.into_owned());
                    }
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(self)
        }
    }
    serde_json::from_slice::<Tokens>(body).map_or_else(|_| Vec::new(), |t| t.0)
}

/// The field serde's derive refused as repeated: its message is "duplicate field `name`".
fn duplicated_field(error: &serde_json::Error) -> Option<&'static str> {
    let message = error.to_string();
    let name = message
        .strip_prefix("duplicate field `")?
        .split('`')
        .next()?;
    FIELDS.iter().copied().find(|field| *field == name)
}

fn oauth_error(
    status: StatusCode,
    headers: &HeaderMap,
    code: &str,
    raw: &RawResponse<'_>,
    redactor: &Redactor,
) -> TokenError {
    let text = |field: &Option<Scalar<'_>>| match field {
        Some(Scalar::Str(s)) if !s.trim().is_empty() => Some(redactor.clean(s)),
        _ => None,
    };
    TokenError::OAuth {
        status,
        code: ErrorCode::from_wire(&redactor.clean(code)),
        description: text(&raw.error_description),
        uri: text(&raw.error_uri),
        www_authenticate: header_text(headers, WWW_AUTHENTICATE, redactor),
    }
}

fn header_text(
    headers: &HeaderMap,
    name: http::header::HeaderName,
    redactor: &Redactor,
) -> Option<String> {
    let value = headers.get(name)?;
    Some(redactor.clean(&String::from_utf8_lossy(value.as_bytes())))
}

/// A token that can be sent as `Authorization: Bearer <token>`: one or more visible ASCII
/// characters (`%x21-7E`), no space, control or non-ASCII byte. That is wider than RFC 6750
/// §2.1's `b64token`, because real providers issue tokens outside it (`v^1.1#i^1#…`) that every
/// header carries; what it refuses could split the header or change its meaning.
pub(crate) fn is_header_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The token response's fields, each accepted in any JSON type so a wrong type is reported
/// by field rather than as an unreadable body.
#[derive(Deserialize)]
struct RawResponse<'a> {
    #[serde(borrow, default)]
    access_token: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    token_type: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    expires_in: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    scope: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    created_at: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    error: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    error_description: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    error_uri: Option<Scalar<'a>>,
}

impl RawResponse<'_> {
    /// The OAuth `error` code, when there is one: a string with more than whitespace. An empty
    /// or `null` `error` beside a token is no error (some servers always send the member).
    fn error_code(&self) -> Option<&str> {
        match &self.error {
            Some(Scalar::Str(code)) if !code.trim().is_empty() => Some(code),
            _ => None,
        }
    }

    fn to_token(&self) -> Result<TokenResponse, ResponseProblem> {
        let access_token = match &self.access_token {
            None => return Err(ResponseProblem::MissingAccessToken),
            Some(Scalar::Str(t)) if is_header_token(t) => AccessToken::new(t.as_ref().to_owned()),
            Some(Scalar::Str(_)) => return Err(ResponseProblem::InvalidAccessToken),
            Some(other) => return Err(wrong_type("access_token", "a string", other)),
        };
        match &self.token_type {
            // Missing is accepted: it is the bug users of other clients report most after
            // string lifetimes, and the token is only ever sent as a bearer token.
            None => {}
            Some(Scalar::Str(t)) if t.eq_ignore_ascii_case("bearer") => {}
            Some(Scalar::Str(t)) => {
                let shown: String = t.chars().take(40).filter(|c| !c.is_control()).collect();
                return Err(ResponseProblem::UnsupportedTokenType(shown));
            }
            Some(other) => return Err(wrong_type("token_type", "a string", other)),
        }
        let expires_in = match &self.expires_in {
            None => ExpiresIn::Missing,
            Some(value) => parse_expires_in(value)?,
        };
        let scope = match &self.scope {
            None => GrantedScope::Absent,
            Some(Scalar::Str(s)) => GrantedScope::Text(s.as_ref().to_owned()),
            Some(other) => GrantedScope::Unreadable(other.kind()),
        };
        // `created_at` is informational (Doorkeeper's extension): kept when it is a sane
        // number, ignored otherwise.
        let created_at = match &self.created_at {
            Some(Scalar::Unsigned(n)) => Some(*n),
            Some(Scalar::Str(s)) => s.trim().parse().ok(),
            _ => None,
        };
        Ok(TokenResponse {
            access_token,
            expires_in,
            scope,
            created_at,
        })
    }
}

/// `expires_in` as a JSON number or a numeric string (RFC 6749 says number; many servers send a
/// string). Zero or negative: already expired. Fractions: kept. Huge: saturated (the machine
/// then caps it at its longest believed lifetime).
fn parse_expires_in(value: &Scalar<'_>) -> Result<ExpiresIn, ResponseProblem> {
    let seconds = match value {
        Scalar::Unsigned(n) => return positive(Duration::from_secs(*n)),
        Scalar::Negative => return Err(ResponseProblem::AlreadyExpired),
        Scalar::Float(f) => *f,
        Scalar::Str(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u64>() {
                return positive(Duration::from_secs(n));
            }
            match s.parse::<f64>() {
                // `f64::from_str` also takes "inf" and "NaN": the finiteness check refuses them.
                Ok(f) if f.is_finite() => f,
                _ => {
                    return Err(ResponseProblem::InvalidField {
                        field: "expires_in",
                        detail: "not a number of seconds".into(),
                    })
                }
            }
        }
        other => return Err(wrong_type("expires_in", "a number", other)),
    };
    if seconds <= 0.0 {
        return Err(ResponseProblem::AlreadyExpired);
    }
    positive(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

fn positive(d: Duration) -> Result<ExpiresIn, ResponseProblem> {
    if d.is_zero() {
        Err(ResponseProblem::AlreadyExpired)
    } else {
        Ok(ExpiresIn::Seconds(d))
    }
}

fn wrong_type(field: &'static str, expected: &str, got: &Scalar<'_>) -> ResponseProblem {
    ResponseProblem::InvalidField {
        field,
        detail: format!("expected {expected}, found {}", got.kind()),
    }
}

/// Any JSON value, reduced to what the token response needs.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Unsigned(u64),
    Negative,
    Float(f64),
    Other(&'static str),
}

impl Scalar<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "a string",
            Scalar::Unsigned(_) | Scalar::Negative | Scalar::Float(_) => "a number",
            Scalar::Other(kind) => kind,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Scalar::Unsigned(u),
            Err(_) => Scalar::Negative,
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other("a boolean"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

#[cfg(test)]
mod tests;
