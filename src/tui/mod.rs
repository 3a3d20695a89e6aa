//! The full-screen UI: one display of the run lifecycle, showing the run live in panes.
//!
//! One `select!` loop takes, in priority order, key presses (so quitting always works), events from the
//! run (applied to the [`model::Model`] in bursts), a slow tick for clocks, and a render tick that draws
//! only when something changed, at most `--fps` times a second. Faults are injected and cleared in the
//! background, so the screen never waits for them. q asks the lifecycle to end the run; the loop keeps
//! drawing while the faults are cleared and ends when the event stream does.

pub mod fit;
pub mod help;
pub mod keymap;
pub mod model;
pub mod narrate;
pub mod overlay;
mod panes;
pub mod picker;
pub mod record;
pub mod story;
mod terminal;
pub mod theme;
pub mod update;
pub mod view;

use futures_util::FutureExt as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use ratatui::layout::Rect;
use tokio::time::MissedTickBehavior;

use crate::event::{Events, Stamped, StopReason};
use crate::lifecycle::{Control, Display};
use crate::scenario::Scenario;
use crate::summary::Ledger;
use keymap::Binding;
use model::Model;
use theme::Theme;
use update::Effect;
use view::View;

/// How the UI draws.
#[derive(Debug, Clone)]
pub struct TuiOptions {
    /// Most frames a second.
    pub fps: u32,
    /// Pin the drawing area (for recordings).
    pub viewport: Option<(u16, u16)>,
    /// Write an asciicast v2 recording here.
    pub record: Option<std::path::PathBuf>,
    /// No terminal: draw only into the recording, at the viewport (default 100x30), with no keys.
    pub offscreen: bool,
}

/// The drawing area of a recording made without a terminal, unless `--viewport` says otherwise.
pub const OFFSCREEN_VIEWPORT: (u16, u16) = (100, 30);

/// The UI for one scenario.
pub struct Tui {
    model: Model,
    keymap: Vec<Binding>,
    /// The scenario's summary: what the lesson is about, first in the help.
    lesson: String,
    options: TuiOptions,
    cast: Option<record::SharedCast>,
}

impl Tui {
    /// Prepares the UI (and the recording file, so a bad path fails before anything starts).
    pub fn new(scenario: &Scenario, options: TuiOptions) -> anyhow::Result<Self> {
        let cast = match &options.record {
            Some(path) => {
                let (w, h) = match (options.viewport, options.offscreen) {
                    (Some(size), _) => size,
                    (None, true) => OFFSCREEN_VIEWPORT,
                    (None, false) => crossterm::terminal::size()?,
                };
                let title = format!("resilience-tui: {}", scenario.title);
                let writer = record::CastWriter::create(path, w, h, &title)?;
                Some(Arc::new(std::sync::Mutex::new(writer)))
            }
            None => None,
        };
        Ok(Self {
            model: Model::new(scenario),
            keymap: keymap::keymap(&scenario.faults),
            lesson: scenario.summary.clone(),
            options,
            cast,
        })
    }
}

impl Display for Tui {
    async fn show(mut self, mut events: Events, control: Control) -> anyhow::Result<Ledger> {
        let result = self.show_until_the_end(&mut events, &control).await;
        if result.is_err() {
            control.stop(StopReason::DisplayFailed);
        }
        // The terminal is back; what the run still says goes into the summary.
        while let Some(e) = events.recv().await {
            self.model.apply(&e);
        }
        let ledger = control.ledger();
        let summary = ledger.text(ledger.end());
        let _ = write!(std::io::stdout(), "{summary}");
        if let (Some(cast), Some(path)) = (&self.cast, &self.options.record) {
            let height = self.options.viewport.map_or(OFFSCREEN_VIEWPORT.1, |(_, h)| h);
            let said = record::finish(cast, path, &summary, height);
            crate::lifecycle::eprintln_quietly(&said);
        }
        if cfg!(debug_assertions) && fit::clipped() > 0 {
            // Every pane fits its text; a line cut at a pane's edge is a layout bug (the tmux tests look for this).
            crate::lifecycle::eprintln_quietly(&format!(
                "layout bug: {} lines were drawn wider than their pane",
                fit::clipped()
            ));
        }
        result.map(|()| ledger)
    }
}

impl Tui {
    /// Draws until the event stream ends; the terminal is restored on return, on an error and on a panic.
    async fn show_until_the_end(&mut self, events: &mut Events, control: &Control) -> anyhow::Result<()> {
        let mut terminal = match (&self.cast, self.options.offscreen) {
            (Some(cast), true) => {
                let (w, h) = self.options.viewport.unwrap_or(OFFSCREEN_VIEWPORT);
                terminal::Tui::offscreen(w, h, cast.clone())?
            }
            _ => terminal::Tui::enter(self.options.viewport, self.cast.clone())?,
        };
        let keys = (!self.options.offscreen).then(EventStream::new);
        let mut ui_loop = Loop {
            control,
            model: &mut self.model,
            keymap: &self.keymap,
            lesson: &self.lesson,
            cast: self.cast.clone(),
        };
        // A bug in a pane must not leave a fault behind: catch it here; the lifecycle clears and summarizes.
        let outcome = std::panic::AssertUnwindSafe(ui_loop.run(&mut terminal, events, keys, self.options.fps))
            .catch_unwind()
            .await;
        tracing::info!(ok = outcome.as_ref().is_ok_and(Result::is_ok), "the UI loop ended");
        outcome.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(anyhow::anyhow!(
                "the UI stopped on an internal error ({what}); the faults it injected were cleared and the summary is above; please report this"
            ))
        })
    }
}

struct Loop<'a> {
    control: &'a Control,
    model: &'a mut Model,
    keymap: &'a [Binding],
    lesson: &'a str,
    cast: Option<record::SharedCast>,
}

impl Loop<'_> {
    async fn run(
        &mut self,
        tui: &mut terminal::Tui,
        events: &mut Events,
        keys: Option<EventStream>,
        fps: u32,
    ) -> anyhow::Result<()> {
        let theme = Theme::from_env();
        // Off-screen (a recording with no terminal) there are no keys; the run ends on its own.
        let mut keys_open = keys.is_some();
        let mut keys = keys;
        let mut render = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps.max(1))));
        render.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut view = View::new(self.model.orders.len() + 1);
        view.panic_in_pane = std::env::var_os("RESILIENCE_TUI_TEST_PANIC_IN_PANE").is_some();
        let mut frozen: Option<Model> = None;
        let mut dirty = true;
        loop {
            tokio::select! {
                biased;
                key = next_key(&mut keys), if keys_open => match key {
                    Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                        let area = tui.area();
                        self.on_key(k, &mut view, &mut frozen, area);
                        dirty = true;
                    }
                    Some(Ok(TermEvent::Resize(..))) => {
                        tui.reset()?;
                        dirty = true;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    // No more keys (the terminal went away): end the run.
                    None => {
                        keys_open = false;
                        self.control.stop(StopReason::Quit);
                    }
                },
                e = events.recv() => {
                    let Some(e) = e else {
                        // The run has ended: show its last state once more.
                        let shown = frozen.as_ref().unwrap_or(&*self.model);
                        tui.draw(|f| view::draw(f, shown, &view, self.keymap, self.lesson, theme))?;
                        return Ok(());
                    };
                    let mut n = 1;
                    self.apply(&e);
                    while let Some(e) = events.try_recv() {
                        self.apply(&e);
                        n += 1;
                    }
                    if let Some(behind) = view.frozen_behind.as_mut() {
                        *behind += n;
                    }
                    dirty = true;
                }
                _ = tick.tick() => {
                    self.model.now = self.control.elapsed();
                    dirty |= frozen.is_none();
                }
                _ = render.tick(), if dirty => {
                    let shown = frozen.as_ref().unwrap_or(&*self.model);
                    tui.draw(|f| view::draw(f, shown, &view, self.keymap, self.lesson, theme))?;
                    dirty = false;
                }
            }
        }
    }

    /// Applies an event to the model, and marks the recording at faults and breaker transitions.
    fn apply(&mut self, e: &Stamped) {
        self.model.apply(e);
        let label = match &e.event {
            crate::event::Event::Fault(_) => e.event.text(),
            crate::event::Event::Resiliency {
                event: crate::resiliency::ResiliencyEvent::BreakerStateChanged { breaker, from, to, .. },
                ..
            } => Some(format!("{breaker}: {from} -> {to}")),
            _ => None,
        };
        if let (Some(label), Some(cast)) = (label, &self.cast) {
            let _ = cast.lock().unwrap_or_else(|p| p.into_inner()).marker(&label);
        }
    }

    /// Handles one key press: [`update::update`] says what it does; the run is asked here.
    fn on_key(&mut self, key: KeyEvent, view: &mut View, frozen: &mut Option<Model>, area: Rect) {
        let cx = update::Context {
            keymap: self.keymap,
            lesson: self.lesson,
            area,
            stopping: self.control.is_stopping(),
        };
        match update::update(self.model, view, frozen, &cx, &key) {
            Some(Effect::Inject(i)) => self.control.inject(i),
            Some(Effect::Clear(i)) => self.control.clear(i),
            Some(Effect::ClearFaults) => self.control.clear_faults(),
            Some(Effect::AdjustLatency(longer)) => self.control.adjust_latency(longer),
            Some(Effect::Quit) => self.control.stop(StopReason::Quit),
            None => {}
        }
    }
}

/// The next key event; never, off-screen (where there is no terminal to read).
async fn next_key(keys: &mut Option<EventStream>) -> Option<std::io::Result<TermEvent>> {
    match keys {
        Some(keys) => keys.next().await,
        None => std::future::pending().await,
    }
}
