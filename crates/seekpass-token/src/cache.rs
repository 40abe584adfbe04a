//! Where the command shares its token: Redis (`--share redis://…`), a directory
//! (`--share file://DIR`), or by default its cache directory, so runs in a row reuse one token.

use std::path::PathBuf;

use crate::options::Options;

/// The store the command shares its token through.
#[derive(Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Redis or Valkey at this URL.
    Redis(String),
    /// Files in this directory ([`FileStore`](seekpass_oauth_blocking::FileStore)).
    Files(PathBuf),
    /// No store: the run fetches its own token.
    Alone,
}

/// The store for these options: `--share` (or `SEEK_PASS_SHARE`, already in `options.share`),
/// else the user's cache directory (`$XDG_CACHE_HOME/seekpass-token`, `~/.cache/seekpass-token`;
/// the platform's cache directory elsewhere) unless `--no-cache` is given or the embedded demo
/// server answers (a new one each run, so nothing cached could be used again).
pub fn sharing(options: &Options, demo: bool) -> Sharing {
    match options.share.as_deref() {
        Some(url) => match url.strip_prefix("file://") {
            Some(dir) => Sharing::Files(PathBuf::from(dir)),
            None => Sharing::Redis(url.to_owned()),
        },
        None if options.no_cache || demo => Sharing::Alone,
        None => dirs::cache_dir().map_or(Sharing::Alone, |dir| {
            Sharing::Files(dir.join("seekpass-token"))
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

    use super::*;

    #[test]
    fn share_wins_then_the_cache_unless_told_or_in_the_demo() {
        let mut options = Options::default();
        assert!(
            matches!(sharing(&options, false), Sharing::Files(dir) if dir.ends_with("seekpass-token"))
        );
        assert_eq!(sharing(&options, true), Sharing::Alone);
        options.no_cache = true;
        assert_eq!(sharing(&options, false), Sharing::Alone);
        options.share = Some("file:///run/user/1000/seekpass".into());
        assert_eq!(
            sharing(&options, true),
            Sharing::Files("/run/user/1000/seekpass".into())
        );
        options.share = Some("redis://127.0.0.1:6379".into());
        assert_eq!(
            sharing(&options, false),
            Sharing::Redis("redis://127.0.0.1:6379".into())
        );
    }
}
