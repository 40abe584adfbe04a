//! Arbitrary bytes fed to the response decoder in arbitrary splits: no panic, bounded memory,
//! and the same answer for every split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seekpass_oauth::wire::{Decoded, Limits, ResponseDecoder};

fn run(data: &[u8], split: &[usize]) -> Result<(u16, Vec<u8>, usize), String> {
    let limits = Limits { max_head: 2048, max_headers: 16, max_body: 4096 };
    let mut decoder = ResponseDecoder::new(limits);
    let mut at = 0;
    for &cut in split.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(at, data.len());
        match decoder.feed(&data[at..cut]) {
            Ok(Decoded::Complete { response, used }) => {
                assert!(response.body().len() <= limits.max_body);
                return Ok((response.status().as_u16(), response.into_body(), at + used));
            }
            Ok(Decoded::NeedMore) => {}
            Err(e) => return Err(e.to_string()),
        }
        at = cut;
    }
    match decoder.finish() {
        Ok(r) => Ok((r.status().as_u16(), r.into_body(), data.len())),
        Err(e) => Err(e.to_string()),
    }
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (data, cuts) = input;
    let mut split: Vec<usize> = cuts.iter().map(|c| usize::from(*c) * data.len() / 256).collect();
    split.sort_unstable();
    let whole = run(&data, &[]);
    let pieces = run(&data, &split);
    let bytewise: Vec<usize> = (1..data.len()).collect();
    let single = run(&data, &bytewise);
    // An error may be noticed at a different moment (or as a different error) depending on the
    // split, but success must not depend on it, and must be the same success.
    assert_eq!(whole.is_ok(), pieces.is_ok(), "{whole:?} vs {pieces:?}");
    assert_eq!(whole.is_ok(), single.is_ok(), "{whole:?} vs {single:?}");
    if let (Ok(a), Ok(b), Ok(c)) = (&whole, &pieces, &single) {
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
});
