//! Fetches a SEEK Pass partner API token, as the official guide's `curl` does, properly:
//! classified errors, back-off, redirects handled safely, and `--watch` to see refreshes.
//!
//! ```text
//! cargo run --example seekpass-token                       # embedded demo server, no setup
//! SEEK_PASS_URL=https://app.seekpass-staging.com CLIENT_ID=… CLIENT_SECRET=… \
//!     cargo run --example seekpass-token -- --scope write.education
//! cargo run --example seekpass-token -- --watch 30         # watch a demo token being refreshed
//! ```

mod common;

use std::process::ExitCode;

fn main() -> ExitCode {
    common::cli::run("seekpass-token", common::blocking::ureq_sender)
}
