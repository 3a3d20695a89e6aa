//! Writing a report to stdout, where the reader may be gone (`| head`): not an error worth a panic. Below
//! every command that prints one (`cli`, `validate`), so they need not name each other.

/// Writes to stdout; a reader that went away is ignored.
pub fn print_quietly(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
