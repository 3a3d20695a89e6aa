//! Headless mode: one line per event on stdout, as text for people or JSONL for machines, then the summary.
//!
//! Text mode reads like the quickstart's terminals side by side: app output as `== APP - checkout == …`,
//! the sidecar's Dapr log lines with daprd's level prefix and elapsed seconds (`WARN[0005] …`), faults as
//! `== FAULT == …`. JSONL carries the same text in `msg`, plus `t`, `source`, `kind` and the event's fields.
//! Output goes through a writer thread (`writer.rs`), so a reader that does not read never stalls the run
//! nor grows its memory beyond the event bus's bound.

mod format;
mod logfmt;
mod writer;

pub use format::{SidecarLines, json_line, text_lines};

use crate::event::{Events, Stamped, StopReason};
use crate::lifecycle::{Control, Display};
use crate::summary::Ledger;
use writer::{Ended, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Jsonl,
}

/// How text output writes the sidecars' log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// logrus on a terminal: `WARN[0005] …`.
    Tty,
    /// logrus off a terminal, as daprd writes to a file: `time=… level=… msg=… app_id=… scope=…`.
    Logfmt,
}

/// The headless display.
pub struct Headless {
    pub output: Output,
    pub log_format: LogFormat,
}

impl Headless {
    fn render(&self, e: &Stamped, sidecar: SidecarLines) -> String {
        match self.output {
            Output::Text => text_lines(e, sidecar).into_iter().map(|l| l + "\n").collect(),
            Output::Jsonl => format!("{}\n", json_line(e)),
        }
    }

    fn summary(&self, ledger: &Ledger) -> String {
        match self.output {
            Output::Text => ledger.text(ledger.end()),
            Output::Jsonl => format!("{}\n", ledger.json(ledger.end())),
        }
    }
}

impl Display for Headless {
    async fn show(self, mut events: Events, control: Control) -> anyhow::Result<Ledger> {
        let writer = Writer::spawn(std::io::stdout())?;
        // Events carry their time since the run started, which is now, give or take the display's start.
        let sidecar = match self.log_format {
            LogFormat::Tty => SidecarLines::Tty,
            LogFormat::Logfmt => SidecarLines::Logfmt(std::time::SystemTime::now()),
        };
        let mut open = true;
        loop {
            // Room first: while stdout is blocked, events wait in the bus, which bounds them.
            let permit = match open {
                true => writer.tx.reserve().await.ok(),
                false => None,
            };
            if open && permit.is_none() {
                open = false;
                control.stop(StopReason::OutputClosed);
            }
            let Some(e) = events.recv().await else { break };
            let text = self.render(&e, sidecar);
            if let Some(permit) = permit.filter(|_| !text.is_empty()) {
                permit.send(text);
            }
        }
        let ledger = control.ledger();
        if open {
            let _ = writer.tx.send(self.summary(&ledger)).await;
        }
        match writer.finish().await? {
            Ended::Done | Ended::Closed => Ok(ledger),
        }
    }
}
