//! Token endpoint answers, shaped like Doorkeeper's (see `tests/fixtures/doorkeeper/`).

use seekpass_oauth::http::Response;

/// A Doorkeeper-shaped success body: `token`, Bearer, `expires_in` seconds, scope
/// `write.education`, `created_at`.
#[must_use]
pub fn token(token: &str, expires_in: u64) -> String {
    format!(
        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in},"scope":"write.education","created_at":1795798685}}"#
    )
}

/// A JSON answer with `status` and `body`.
///
/// # Panics
///
/// When `status` is no HTTP status (100–999).
#[must_use]
pub fn response(status: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.as_bytes().to_vec())
        .expect("a valid status")
}

/// A minimal 200 success carrying `token`, living `expires_in` seconds: no scope, no
/// `created_at`, no headers.
#[must_use]
pub fn minimal(token: &str, expires_in: u64) -> Response<Vec<u8>> {
    let body =
        format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#);
    Response::new(body.into_bytes())
}
