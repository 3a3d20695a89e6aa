//! `bench sidecar`'s progress bar on stderr: the total planned time, the phase as its message.

use std::time::Duration;

use super::{BenchOptions, PATHS};

/// The progress bar: total planned time, the phase as its message.
pub(super) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(super) fn new(opts: &BenchOptions) -> Self {
        if !opts.progress {
            return Progress(None);
        }
        // The invocation paths, then the state API's two (Redis directly, the sidecar) at the fixed rate.
        let total = (opts.warmup + opts.duration + opts.saturate) * PATHS as u32 + (opts.warmup + opts.duration) * 2;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total.as_millis() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        let style = indicatif::ProgressStyle::with_template("{bar:40} {elapsed_precise}/{duration_precise} {msg}")
            .expect("a valid progress template");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    pub(super) fn phase(&self, what: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(what);
        }
    }

    pub(super) fn advance(&self, by: Duration) {
        if let Some(bar) = &self.0 {
            bar.inc(by.as_millis() as u64);
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
