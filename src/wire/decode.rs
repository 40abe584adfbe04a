//! HTTP/1.1 response bytes → `http::Response<Vec<u8>>`, incrementally (RFC 9112 §6).
//!
//! Feed any slices, from one byte at a time to everything at once. The decoder keeps at most one
//! unfinished line (bounded by the header-section limit) and the body decoded so far (bounded by
//! the body limit), whatever it is fed.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Response, StatusCode, Version};

use super::decode_error::DecodeError;

/// Limits on what one response may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The status line and headers together (and, separately, the trailer section), in bytes.
    pub max_head: usize,
    /// How many header fields.
    pub max_headers: usize,
    /// The decoded body, in bytes: the same 64 KiB default as the token machine's.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 64 * 1024,
        }
    }
}

/// What a call to [`ResponseDecoder::feed`] produced.
#[derive(Debug)]
#[must_use = "a complete response carries how many bytes of the slice it used"]
pub enum Decoded {
    /// Every byte was taken; feed more (or call [`ResponseDecoder::finish`] if the peer
    /// closed).
    NeedMore,
    /// A whole response. `used` bytes of the slice just fed belong to it; the rest belong to
    /// whatever follows on a keep-alive connection. The decoder is ready for the next
    /// response.
    Complete {
        /// The response.
        response: Response<Vec<u8>>,
        /// How many bytes of the last slice were used.
        used: usize,
    },
}

/// The longest chunk-size line accepted (hex size plus extensions).
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

type Head = (StatusCode, Version, http::HeaderMap);

/// A finished line: bytes used from this feed, and the line without its line ending.
type Line<'b> = (usize, Cow<'b, [u8]>);

#[derive(Debug)]
enum Stage {
    Head,
    Body(Body),
}

/// An incremental HTTP/1.1 response decoder. One per connection; it resets itself after each
/// complete response.
///
/// ```
/// use seekpass_oauth::wire::{Decoded, ResponseDecoder};
///
/// let mut decoder = ResponseDecoder::new(Default::default());
/// let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
/// let (head, rest) = bytes.split_at(20);
/// assert!(matches!(decoder.feed(head).unwrap(), Decoded::NeedMore));
/// match decoder.feed(rest).unwrap() {
///     Decoded::Complete { response, used } => {
///         assert_eq!(response.body(), b"{}");
///         assert_eq!(used, rest.len());
///     }
///     Decoded::NeedMore => unreachable!(),
/// }
/// ```
#[derive(Debug)]
pub struct ResponseDecoder {
    limits: Limits,
    head_request: bool,
    stage: Stage,
    /// The unfinished head, chunk-size line or trailer section.
    line: Vec<u8>,
    head: Option<(StatusCode, Version, http::HeaderMap)>,
    body: Vec<u8>,
}

impl ResponseDecoder {
    /// A decoder for responses to requests with a body (any method but `HEAD`).
    #[must_use]
    pub fn new(limits: Limits) -> ResponseDecoder {
        ResponseDecoder {
            limits,
            head_request: false,
            stage: Stage::Head,
            line: Vec::new(),
            head: None,
            body: Vec::new(),
        }
    }

    /// A decoder for responses to `HEAD`, which never have a body (RFC 9112 §6.3).
    #[must_use]
    pub fn for_head_request(limits: Limits) -> ResponseDecoder {
        ResponseDecoder {
            head_request: true,
            ..ResponseDecoder::new(limits)
        }
    }

    /// Takes the next bytes from the connection.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Decoded, DecodeError> {
        let mut at = 0;
        while at < bytes.len() {
            let rest = bytes.get(at..).unwrap_or_default();
            let (used, done) = match &mut self.stage {
                Stage::Head => self.take_head(rest)?,
                Stage::Body(_) => self.take_body(rest)?,
            };
            at = at.saturating_add(used);
            if done {
                return Ok(Decoded::Complete {
                    response: self.complete()?,
                    used: at,
                });
            }
        }
        // A response whose head says it has no body is complete as soon as the head is.
        if matches!(self.stage, Stage::Body(Body::Length(0))) {
            return Ok(Decoded::Complete {
                response: self.complete()?,
                used: at,
            });
        }
        Ok(Decoded::NeedMore)
    }

    /// The peer closed the connection: completes a close-delimited body, or says what is
    /// missing.
    pub fn finish(&mut self) -> Result<Response<Vec<u8>>, DecodeError> {
        match &self.stage {
            // (A body-less response is complete as soon as its head is: `feed` returns it.)
            Stage::Body(Body::UntilClose) => self.complete(),
            Stage::Head if self.line.is_empty() => Err(DecodeError::ClosedBeforeResponse),
            _ => Err(DecodeError::Truncated),
        }
    }

    /// Accumulates the head; returns bytes used and whether a body-less response completed.
    fn take_head(&mut self, bytes: &[u8]) -> Result<(usize, bool), DecodeError> {
        // Fast path: the whole head is in this slice, parsed where it lies.
        if self.line.is_empty() {
            if let Some((used, head)) = self.parse_head(bytes)? {
                return self.head_done(used, head);
            }
        }
        // Otherwise buffer up to the end of the head (never beyond, so the body's bytes never
        // sit in the line buffer) and parse once it is all there.
        let start = self.line.len();
        let search_from = start.saturating_sub(3);
        let budget = self.limits.max_head.saturating_sub(start);
        let take = bytes.len().min(budget.saturating_add(1));
        self.line
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
        // The head ends at the first empty line: an LF followed by LF or CRLF (httparse
        // accepts bare LF line endings too, so the earliest of either form counts).
        // Empty lines before the status line are skipped, as httparse does (RFC 9112 §2.2).
        let lead = self
            .line
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let search_from = search_from.max(lead);
        let end = self.line.get(search_from..).and_then(|tail| {
            tail.iter().enumerate().find_map(|(i, b)| {
                let next = |k: usize| tail.get(i.saturating_add(k)).copied();
                match (b, next(1), next(2)) {
                    (b'\n', Some(b'\n'), _) => Some(i.saturating_add(2)),
                    (b'\n', Some(b'\r'), Some(b'\n')) => Some(i.saturating_add(3)),
                    _ => None,
                }
                .map(|e| e.saturating_add(search_from))
            })
        });
        let Some(end) = end else {
            if self.line.len() > self.limits.max_head {
                return Err(DecodeError::HeadTooLarge {
                    limit: self.limits.max_head,
                });
            }
            return Ok((take, false));
        };
        if end > self.limits.max_head {
            return Err(DecodeError::HeadTooLarge {
                limit: self.limits.max_head,
            });
        }
        let used = end.saturating_sub(start);
        self.line.truncate(end);
        let buffered = std::mem::take(&mut self.line);
        match self.parse_head(&buffered)? {
            Some((_, head)) => self.head_done(used, head),
            None => Err(DecodeError::MalformedHead("incomplete head".into())),
        }
    }

    /// A head has been parsed from `used` bytes: skip it if interim, else choose the framing.
    fn head_done(&mut self, used: usize, head: Head) -> Result<(usize, bool), DecodeError> {
        let (status, version, headers) = head;
        if status.is_informational() {
            if status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(DecodeError::UnexpectedUpgrade);
            }
            // Interim responses (100 Continue, 103 Early Hints) are skipped.
            return Ok((used, false));
        }
        let body = self.framing(status, version, &headers)?;
        if let Body::Length(length) = body {
            self.reserve_body(length);
        }
        self.head = Some((status, version, headers));
        self.stage = Stage::Body(body);
        Ok((used, false))
    }

    /// Parses a head from the start of `buf`: `None` if it is not all there yet.
    fn parse_head(&self, buf: &[u8]) -> Result<Option<(usize, Head)>, DecodeError> {
        let mut stack = [httparse::EMPTY_HEADER; 64];
        let mut heap = Vec::new();
        let slots = match stack.get_mut(..self.limits.max_headers) {
            Some(slots) => slots,
            None => {
                heap.resize(self.limits.max_headers, httparse::EMPTY_HEADER);
                &mut heap[..]
            }
        };
        let mut parsed = httparse::Response::new(slots);
        let used = match parsed.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(DecodeError::TooManyHeaders {
                    limit: self.limits.max_headers,
                })
            }
            Err(e) => return Err(DecodeError::MalformedHead(e.to_string())),
        };
        let code = parsed.code.unwrap_or_default();
        let status = StatusCode::from_u16(code)
            .map_err(|_| DecodeError::MalformedHead(format!("status code {code}")))?;
        let version = match parsed.version {
            Some(0) => Version::HTTP_10,
            _ => Version::HTTP_11,
        };
        if used > self.limits.max_head {
            return Err(DecodeError::HeadTooLarge {
                limit: self.limits.max_head,
            });
        }
        // One copy of the head; every header value is a view into it rather than its own
        // allocation. The copy lives as long as the response's headers and is bounded by
        // `max_head`.
        let shared = Bytes::copy_from_slice(buf.get(..used).unwrap_or_default());
        let base = buf.as_ptr() as usize;
        let mut headers = http::HeaderMap::with_capacity(parsed.headers.len());
        for h in parsed.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| DecodeError::MalformedHead(format!("header name {:?}", h.name)))?;
            // httparse hands out sub-slices of `buf`, so the offset is in range; a value that
            // were not (it cannot be) is copied instead.
            let start = (h.value.as_ptr() as usize).wrapping_sub(base);
            let in_head = start
                .checked_add(h.value.len())
                .filter(|end| *end <= shared.len())
                .map(|end| shared.slice(start..end));
            let value = match in_head {
                Some(view) => HeaderValue::from_maybe_shared(view),
                None => HeaderValue::from_bytes(h.value),
            }
            .map_err(|_| DecodeError::MalformedHead(format!("value of header {}", h.name)))?;
            headers.append(name, value);
        }
        Ok(Some((used, (status, version, headers))))
    }

    /// How the body is delimited (RFC 9112 §6.3).
    fn framing(
        &self,
        status: StatusCode,
        version: Version,
        headers: &http::HeaderMap,
    ) -> Result<Body, DecodeError> {
        if self.head_request
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            return Ok(Body::Length(0));
        }
        let has_length = headers.contains_key(CONTENT_LENGTH);
        if headers.contains_key(TRANSFER_ENCODING) {
            if has_length {
                return Err(DecodeError::ContentLengthAndTransferEncoding);
            }
            // The list elements of every Transfer-Encoding field, empty ones dropped
            // (RFC 9110 §5.6.1); only a lone `chunked` is accepted, and never on HTTP/1.0.
            let codings = || {
                headers
                    .get_all(TRANSFER_ENCODING)
                    .iter()
                    .flat_map(|v| v.as_bytes().split(|b| *b == b','))
                    .map(trim)
                    .filter(|c| !c.is_empty())
            };
            let mut all = codings();
            let only_chunked = matches!(
                (all.next(), all.next()),
                (Some(c), None) if c.eq_ignore_ascii_case(b"chunked")
            );
            if !only_chunked || version == Version::HTTP_10 {
                let named: Vec<String> = codings()
                    .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
                    .collect();
                return Err(DecodeError::UnsupportedTransferCoding(named.join(", ")));
            }
            return Ok(Body::Chunked(Chunk::Size));
        }
        if has_length {
            let mut length: Option<u64> = None;
            for value in headers.get_all(CONTENT_LENGTH) {
                for part in value.as_bytes().split(|b| *b == b',') {
                    let part = trim(part);
                    if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                        return Err(DecodeError::InvalidContentLength);
                    }
                    let n: u64 = std::str::from_utf8(part)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or(DecodeError::InvalidContentLength)?;
                    if length.is_some_and(|l| l != n) {
                        return Err(DecodeError::ConflictingContentLength);
                    }
                    length = Some(n);
                }
            }
            let length = length.unwrap_or_default();
            if length > self.limits.max_body as u64 {
                return Err(DecodeError::BodyTooLarge {
                    limit: self.limits.max_body,
                });
            }
            return Ok(Body::Length(length));
        }
        Ok(Body::UntilClose)
    }

    /// Takes body bytes; returns bytes used and whether the body completed.
    fn take_body(&mut self, bytes: &[u8]) -> Result<(usize, bool), DecodeError> {
        let Stage::Body(body) = &mut self.stage else {
            return Ok((0, false));
        };
        match body {
            Body::Length(remaining) => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.body
                    .extend_from_slice(bytes.get(..n).unwrap_or_default());
                *remaining = remaining.saturating_sub(n as u64);
                Ok((n, *remaining == 0))
            }
            Body::UntilClose => {
                if self.body.len().saturating_add(bytes.len()) > self.limits.max_body {
                    return Err(DecodeError::BodyTooLarge {
                        limit: self.limits.max_body,
                    });
                }
                self.body.extend_from_slice(bytes);
                Ok((bytes.len(), false))
            }
            Body::Chunked(chunk) => {
                let chunk = *chunk;
                self.take_chunked(chunk, bytes)
            }
        }
    }

    /// Makes room for `n` more body bytes at once; `n` is already checked against the limit.
    fn reserve_body(&mut self, n: u64) {
        let room = self.limits.max_body.saturating_sub(self.body.len());
        self.body
            .reserve(usize::try_from(n).unwrap_or(usize::MAX).min(room));
    }

    fn set_chunk(&mut self, next: Chunk) {
        self.stage = Stage::Body(Body::Chunked(next));
    }

    fn take_chunked(&mut self, chunk: Chunk, bytes: &[u8]) -> Result<(usize, bool), DecodeError> {
        match chunk {
            Chunk::Size => {
                let Some((used, line)) =
                    self.take_line(bytes, MAX_CHUNK_LINE, DecodeError::InvalidChunkSize)?
                else {
                    return Ok((bytes.len(), false));
                };
                let size = parse_chunk_size(&line)?;
                if (self.body.len() as u64).saturating_add(size) > self.limits.max_body as u64 {
                    return Err(DecodeError::BodyTooLarge {
                        limit: self.limits.max_body,
                    });
                }
                self.reserve_body(size);
                self.set_chunk(if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                });
                Ok((used, false))
            }
            Chunk::Data(remaining) => {
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.body
                    .extend_from_slice(bytes.get(..n).unwrap_or_default());
                let left = remaining.saturating_sub(n as u64);
                self.set_chunk(if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                });
                Ok((n, false))
            }
            Chunk::DataEnd => {
                let Some((used, line)) = self.take_line(bytes, 2, DecodeError::MalformedChunk)?
                else {
                    return Ok((bytes.len(), false));
                };
                if !line.is_empty() {
                    return Err(DecodeError::MalformedChunk);
                }
                self.set_chunk(Chunk::Size);
                Ok((used, false))
            }
            Chunk::Trailers => {
                // Trailer fields are read and dropped: nothing in a token response needs them.
                let limit = self.limits.max_head;
                let Some((used, line)) =
                    self.take_line(bytes, limit, DecodeError::HeadTooLarge { limit })?
                else {
                    return Ok((bytes.len(), false));
                };
                Ok((used, line.is_empty()))
            }
        }
    }

    /// Takes bytes up to and including the next LF. Returns the line without its CRLF (or
    /// LF), or `None` with every byte taken when the line is not finished yet.
    fn take_line<'b>(
        &mut self,
        bytes: &'b [u8],
        limit: usize,
        too_long: DecodeError,
    ) -> Result<Option<Line<'b>>, DecodeError> {
        match bytes.iter().position(|b| *b == b'\n') {
            Some(i) => {
                let used = i.saturating_add(1);
                let tail = bytes.get(..i).unwrap_or_default();
                let mut line = if self.line.is_empty() {
                    // The whole line is in this feed: read it where it lies.
                    Cow::Borrowed(tail)
                } else {
                    self.line.extend_from_slice(tail);
                    Cow::Owned(std::mem::take(&mut self.line))
                };
                if line.len() > limit.saturating_add(1) {
                    return Err(too_long);
                }
                if line.last() == Some(&b'\r') {
                    match &mut line {
                        Cow::Borrowed(text) => {
                            *text = text.get(..text.len().saturating_sub(1)).unwrap_or_default()
                        }
                        Cow::Owned(owned) => {
                            owned.pop();
                        }
                    }
                }
                Ok(Some((used, line)))
            }
            None => {
                self.line.extend_from_slice(bytes);
                if self.line.len() > limit.saturating_add(1) {
                    return Err(too_long);
                }
                Ok(None)
            }
        }
    }

    fn complete(&mut self) -> Result<Response<Vec<u8>>, DecodeError> {
        let (status, version, headers) = self.head.take().ok_or(DecodeError::Truncated)?;
        let mut response = Response::new(std::mem::take(&mut self.body));
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = headers;
        self.stage = Stage::Head;
        self.line.clear();
        Ok(response)
    }
}

/// `chunk-size [ chunk-ext ]`: hexadecimal, then optional `;name[=value]` extensions.
fn parse_chunk_size(line: &[u8]) -> Result<u64, DecodeError> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    let rest = trim(rest);
    if digits.is_empty() || digits.len() > 16 || !(rest.is_empty() || rest.first() == Some(&b';')) {
        return Err(DecodeError::InvalidChunkSize);
    }
    let text = std::str::from_utf8(digits).map_err(|_| DecodeError::InvalidChunkSize)?;
    u64::from_str_radix(text, 16).map_err(|_| DecodeError::InvalidChunkSize)
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e.saturating_add(1));
    bytes.get(start..end).unwrap_or_default()
}
