//! The machine's size, as docs/performance.md states it (64-bit targets).

#[test]
#[cfg(target_pointer_width = "64")]
fn machine_size_is_stated_in_the_performance_docs() {
    let size = std::mem::size_of::<seekpass_oauth::TokenClient>();
    let docs = include_str!("../docs/performance.md");
    assert!(
        docs.contains(&format!("`size_of::<TokenClient>()` is {size} bytes")),
        "docs/performance.md should state {size} bytes"
    );
}
