//! HTTP/1.1 on the wire, for callers with a byte stream and no HTTP client (a TLS stream on a
//! constrained device, a runtime without hyper). Still no I/O: the encoder turns the machine's
//! request into bytes for you to write, the decoder turns the bytes you read back into an
//! `http::Response`.
//!
//! Built on `httparse` for the response head; bodies delimited by `Content-Length`, by
//! `Transfer-Encoding: chunked` (what Doorkeeper on Puma sends) or by the peer closing.

mod decode;
mod decode_error;
mod encode;

pub use decode::{Decoded, Limits, ResponseDecoder};
pub use decode_error::DecodeError;
pub use encode::{encode_request, Connection, EncodeError};
