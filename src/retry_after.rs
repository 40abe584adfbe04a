//! The `Retry-After` header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.

use core::time::Duration;
use std::time::UNIX_EPOCH;

use http::header::{DATE, RETRY_AFTER};
use http::HeaderMap;

use crate::time::Time;

/// How long the server asked us to wait, if it said so in a form we can use.
///
/// An HTTP-date is measured against the response's own `Date` header when it has one (so the
/// caller's clock does not matter), else against `now` when the caller's clock is the wall clock
/// (`now_unix`). Without either it is ignored. Dates in the past mean "no wait".
pub(crate) fn retry_after(headers: &HeaderMap, now_unix: Option<Time>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "a very long time": the cap applies later.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .or_else(|| {
            now_unix.map(|t| {
                UNIX_EPOCH
                    .checked_add(Duration::from_millis(t.as_millis()))
                    .unwrap_or(UNIX_EPOCH)
            })
        })?;
    Some(at.duration_since(reference).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn delta_seconds() {
        let h = headers(&[("retry-after", "120")]);
        assert_eq!(retry_after(&h, None), Some(Duration::from_secs(120)));
        let h = headers(&[("retry-after", " 0 ")]);
        assert_eq!(retry_after(&h, None), Some(Duration::ZERO));
        let h = headers(&[("retry-after", "99999999999999999999999")]);
        assert_eq!(retry_after(&h, None), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn garbage_is_ignored() {
        for v in ["-5", "1.5", "soon", "", "12abc"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            assert_eq!(retry_after(&h, Some(Time::from_secs(1))), None, "{v:?}");
        }
        assert_eq!(retry_after(&HeaderMap::new(), None), None);
    }

    #[test]
    fn http_date_against_the_response_date() {
        let h = headers(&[
            ("retry-after", "Fri, 31 Dec 1999 23:59:59 GMT"),
            ("date", "Fri, 31 Dec 1999 23:58:59 GMT"),
        ]);
        assert_eq!(retry_after(&h, None), Some(Duration::from_secs(60)));
    }

    #[test]
    fn http_date_in_obsolete_forms() {
        let rfc850 = headers(&[
            ("retry-after", "Friday, 31-Dec-99 23:59:59 GMT"),
            ("date", "Fri, 31 Dec 1999 23:59:29 GMT"),
        ]);
        assert_eq!(retry_after(&rfc850, None), Some(Duration::from_secs(30)));
        let asctime = headers(&[
            ("retry-after", "Fri Dec 31 23:59:59 1999"),
            ("date", "Fri, 31 Dec 1999 23:59:49 GMT"),
        ]);
        assert_eq!(retry_after(&asctime, None), Some(Duration::from_secs(10)));
    }

    #[test]
    fn http_date_against_a_wall_clock_now() {
        let h = headers(&[("retry-after", "Thu, 01 Jan 1970 00:02:00 GMT")]);
        assert_eq!(
            retry_after(&h, Some(Time::from_secs(90))),
            Some(Duration::from_secs(30))
        );
        // Without a Date header or a wall clock there is nothing to measure against.
        assert_eq!(retry_after(&h, None), None);
        // A date already past means no wait.
        assert_eq!(
            retry_after(&h, Some(Time::from_secs(1000))),
            Some(Duration::ZERO)
        );
    }
}
