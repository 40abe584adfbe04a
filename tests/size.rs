//! The machine's size, as the README states it (64-bit targets).

#[test]
#[cfg(target_pointer_width = "64")]
fn machine_size_is_stated_in_the_readme() {
    let size = std::mem::size_of::<seekpass_oauth::TokenClient>();
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&format!("`size_of::<TokenClient>()` is {size} bytes")),
        "README should state {size} bytes"
    );
}
