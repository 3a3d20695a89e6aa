//! `--record FILE.cast`: an asciicast v2 file of exactly what the UI writes to the terminal.
//!
//! The format (asciinema's): a JSON header line `{"version": 2, "width", "height", "timestamp", "title"}`,
//! then one JSON array per line: `[seconds, "o", "<output>"]` for terminal output and `[seconds, "m",
//! "<label>"]` for markers, which players show as chapter points. Output is recorded on every flush (ratatui
//! flushes once per frame), cut at a UTF-8 boundary so no character is split across events.

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

/// Writes a cast file.
pub struct CastWriter<W: Write> {
    out: W,
    start: Instant,
    pending: Vec<u8>,
}

impl CastWriter<BufWriter<File>> {
    pub fn create(path: &Path, width: u16, height: u16, title: &str) -> io::Result<Self> {
        let file = File::create(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot write the recording {}: {e}; check --record", path.display()),
            )
        })?;
        Self::new(BufWriter::new(file), width, height, title)
    }
}

impl<W: Write> CastWriter<W> {
    pub fn new(mut out: W, width: u16, height: u16, title: &str) -> io::Result<Self> {
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = json!({
            "version": 2, "width": width, "height": height, "timestamp": timestamp, "title": title,
            "env": { "TERM": "xterm-256color" },
        });
        writeln!(out, "{header}")?;
        Ok(Self {
            out,
            start: Instant::now(),
            pending: Vec::new(),
        })
    }

    fn seconds(&self) -> f64 {
        (self.start.elapsed().as_secs_f64() * 1e6).round() / 1e6
    }

    /// Terminal output, buffered until [`CastWriter::flush_output`].
    pub fn output(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Writes the buffered output as one `o` event (up to the last complete UTF-8 character).
    pub fn flush_output(&mut self) -> io::Result<()> {
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(), // an incomplete character at the end waits
            Err(_) => self.pending.len(),                         // invalid bytes: written replaced
        };
        if valid == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.pending[..valid]).into_owned();
        self.pending.drain(..valid);
        writeln!(self.out, "{}", json!([self.seconds(), "o", text]))?;
        self.out.flush()
    }

    /// A marker (`m` event) with a label.
    pub fn marker(&mut self, label: &str) -> io::Result<()> {
        writeln!(self.out, "{}", json!([self.seconds(), "m", label]))?;
        self.out.flush()
    }
}

pub type SharedCast = Arc<Mutex<CastWriter<BufWriter<File>>>>;

/// Ends a recording: below its last frame (kept on screen, rows `height`), the summary; then says where it
/// is, how long and how big.
pub fn finish(cast: &SharedCast, path: &Path, summary: &str, height: u16) -> String {
    let mut cast = cast.lock().unwrap_or_else(|p| p.into_inner());
    let text = format!("\x1b[{height};1H\r\n{}", summary.replace('\n', "\r\n"));
    cast.output(text.as_bytes());
    let seconds = cast.seconds();
    let written = cast.flush_output().and_then(|()| cast.out.flush());
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match written {
        Ok(()) => format!(
            "recorded {}: {seconds:.1} s, {} KB (play it: asciinema play {})",
            path.display(),
            size.div_ceil(1024),
            path.display()
        ),
        Err(e) => format!("warning: the recording {} is incomplete: {e}", path.display()),
    }
}

/// The terminal's output stream: stdout (none when drawing off-screen), and the recording when there is one.
pub struct Screen {
    stdout: Option<Stdout>,
    cast: Option<SharedCast>,
    /// Cleared to stop recording (what is written after that stays out of the cast).
    pub recording: Arc<std::sync::atomic::AtomicBool>,
}

impl Screen {
    pub fn new(cast: Option<SharedCast>) -> Self {
        Self {
            stdout: Some(io::stdout()),
            cast,
            recording: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    /// Only into the recording: for `--record` without a terminal.
    pub fn offscreen(cast: SharedCast) -> Self {
        Self {
            stdout: None,
            cast: Some(cast),
            recording: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        }
    }

    fn recording(&self) -> Option<&SharedCast> {
        self.cast
            .as_ref()
            .filter(|_| self.recording.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.stdout {
            Some(stdout) => stdout.write(buf)?,
            None => buf.len(),
        };
        if let Some(cast) = self.recording() {
            cast.lock().unwrap_or_else(|p| p.into_inner()).output(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(stdout) = &mut self.stdout {
            stdout.flush()?;
        }
        if let Some(cast) = self.recording() {
            cast.lock().unwrap_or_else(|p| p.into_inner()).flush_output()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_output_and_markers() {
        let mut cast = CastWriter::new(Vec::new(), 100, 30, "demo").unwrap();
        let box_char = "\u{2500}".as_bytes();
        cast.output(b"ab");
        cast.output(&box_char[..1]); // half a character: held back
        cast.flush_output().unwrap();
        cast.output(&box_char[1..]);
        cast.flush_output().unwrap();
        cast.marker("fault injected").unwrap();
        let text = String::from_utf8(cast.out).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            (
                lines[0]["version"].as_u64(),
                lines[0]["width"].as_u64(),
                lines[0]["height"].as_u64()
            ),
            (Some(2), Some(100), Some(30))
        );
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "ab");
        assert_eq!(lines[2][2], "\u{2500}");
        assert_eq!(
            (lines[3][1].as_str(), lines[3][2].as_str()),
            (Some("m"), Some("fault injected"))
        );
        assert!(lines[3][0].as_f64().unwrap() >= lines[1][0].as_f64().unwrap());
    }
}
