//! Why response bytes were refused ([`DecodeError`]).

use core::fmt;

/// Why the bytes are not an acceptable HTTP/1.1 response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The status line or a header line is malformed.
    MalformedHead(String),
    /// The header section (or the trailer section) exceeds its limit.
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// More header fields than allowed.
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// Both `Content-Length` and `Transfer-Encoding`: a request-smuggling signature
    /// (RFC 9112 §6.3).
    ContentLengthAndTransferEncoding,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// A `Content-Length` that is not a decimal number, or too large to count.
    InvalidContentLength,
    /// A transfer coding other than `chunked` alone.
    UnsupportedTransferCoding(String),
    /// A chunk-size line that is not hexadecimal, too large, or too long.
    InvalidChunkSize,
    /// Chunk data not followed by CRLF.
    MalformedChunk,
    /// The body exceeds its limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The peer closed before the response was complete.
    Truncated,
    /// The peer closed before sending anything.
    ClosedBeforeResponse,
    /// A `101 Switching Protocols`, which a token request never asks for.
    UnexpectedUpgrade,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MalformedHead(why) => write!(f, "malformed response head: {why}"),
            DecodeError::HeadTooLarge { limit } => {
                write!(f, "response header section over {limit} bytes")
            }
            DecodeError::TooManyHeaders { limit } => {
                write!(f, "more than {limit} response header fields")
            }
            DecodeError::ContentLengthAndTransferEncoding => {
                f.write_str("response has both Content-Length and Transfer-Encoding")
            }
            DecodeError::ConflictingContentLength => {
                f.write_str("response has several different Content-Length values")
            }
            DecodeError::InvalidContentLength => {
                f.write_str("response Content-Length is not a valid length")
            }
            DecodeError::UnsupportedTransferCoding(coding) => {
                write!(
                    f,
                    "unsupported transfer coding {coding:?}; only chunked is accepted"
                )
            }
            DecodeError::InvalidChunkSize => f.write_str("invalid chunk size line"),
            DecodeError::MalformedChunk => f.write_str("chunk data not followed by CRLF"),
            DecodeError::BodyTooLarge { limit } => write!(f, "response body over {limit} bytes"),
            DecodeError::Truncated => {
                f.write_str("connection closed before the response was complete")
            }
            DecodeError::ClosedBeforeResponse => {
                f.write_str("connection closed before any response arrived")
            }
            DecodeError::UnexpectedUpgrade => f.write_str("unexpected 101 Switching Protocols"),
        }
    }
}

impl std::error::Error for DecodeError {}
