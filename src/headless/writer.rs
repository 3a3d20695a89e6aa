//! Standard output, written on a thread of its own so a slow or blocked reader never stalls the run: the
//! display hands it whole events' text through a bounded channel and, when the channel is full, stops
//! reading events (the event bus then drops routine ones). A closed stdout (`| head`) ends the writer
//! quietly; the display notices that its channel closed.

use std::io::{self, Write};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

/// Events' text waiting for the writer.
const QUEUED: usize = 256;

/// How the writer ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Everything was written.
    Done,
    /// The reader went away (EPIPE): nothing more could be written, which is not an error.
    Closed,
}

pub struct Writer {
    pub tx: mpsc::Sender<String>,
    thread: JoinHandle<io::Result<Ended>>,
}

impl Writer {
    /// Starts the writer thread on `out`.
    pub fn spawn<W: Write + Send + 'static>(out: W) -> io::Result<Writer> {
        let (tx, rx) = mpsc::channel(QUEUED);
        let thread = std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || write_all(out, rx))?;
        Ok(Writer { tx, thread })
    }

    /// Waits for everything sent to be written (on a blocking thread, so the runtime keeps going).
    pub async fn finish(self) -> io::Result<Ended> {
        drop(self.tx);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("the stdout writer panicked"))?
    }
}

fn write_all<W: Write>(out: W, mut rx: mpsc::Receiver<String>) -> io::Result<Ended> {
    let mut out = io::BufWriter::new(out);
    let closed = |e: io::Error| match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(Ended::Closed),
        _ => Err(e),
    };
    while let Some(text) = rx.blocking_recv() {
        if let Err(e) = out.write_all(text.as_bytes()) {
            return closed(e);
        }
        // Flush when nothing else is waiting, so lines appear as they happen without a write per line.
        if rx.is_empty()
            && let Err(e) = out.flush()
        {
            return closed(e);
        }
    }
    out.flush().map_or_else(closed, |()| Ok(Ended::Done))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that has gone away.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[tokio::test]
    async fn a_closed_output_ends_the_writer_quietly_and_closes_its_channel() {
        let writer = Writer::spawn(Closed).unwrap();
        writer.tx.send("a line\n".into()).await.unwrap();
        // The writer thread ends at the first write; then nothing more can be sent.
        let tx = writer.tx.clone();
        tx.closed().await;
        assert!(tx.send("more\n".into()).await.is_err());
        drop(tx);
        assert_eq!(writer.finish().await.unwrap(), Ended::Closed);
    }

    #[tokio::test]
    async fn everything_sent_is_written_in_order() {
        let (file, path) = tempfile::NamedTempFile::new().unwrap().into_parts();
        let writer = Writer::spawn(file).unwrap();
        for i in 0..1000 {
            writer.tx.send(format!("{i}\n")).await.unwrap();
        }
        assert_eq!(writer.finish().await.unwrap(), Ended::Done);
        let text = std::fs::read_to_string(&path).unwrap();
        let expected: String = (0..1000).map(|i| format!("{i}\n")).collect();
        assert_eq!(text, expected);
    }
}
