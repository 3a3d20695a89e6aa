//! The full-screen UI: the same scenario core as headless mode, shown live in panes.
//!
//! One `select!` loop takes, in priority order, key presses (so quitting always works), events from the
//! scenario (applied to the [`model::Model`] in bursts), a slow tick for clocks, and a render tick that draws
//! only when something changed, at most `--fps` times a second. Faults are injected and cleared in spawned
//! tasks, so the screen never waits for them.

pub mod keymap;
pub mod model;
mod panes;
pub mod record;
mod terminal;
pub mod theme;
pub mod view;

use futures_util::FutureExt as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

use crate::event::Stamped;
use crate::scenario::Scenario;
use crate::scenario::run::{self, RunOptions, Running};
use keymap::{Binding, Command};
use model::Model;
use theme::Theme;
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
}

/// Runs the scenario in the UI; on exit clears injected faults, restores the terminal and prints the summary.
pub async fn run(scenario: Scenario, opts: RunOptions, ui: TuiOptions) -> anyhow::Result<ExitCode> {
    opts.check_schedule()?;
    let explain: Vec<String> = scenario.faults.iter().map(|f| f.explain.clone()).collect();
    let keymap = keymap::keymap(&scenario.faults);
    let mut model = Model::new(&scenario);
    let cast = match &ui.record {
        Some(path) => {
            let (w, h) = match ui.viewport {
                Some(size) => size,
                None => crossterm::terminal::size()?,
            };
            let writer = record::CastWriter::create(path, w, h, &format!("resilience-tui: {}", scenario.title))?;
            Some(Arc::new(std::sync::Mutex::new(writer)))
        }
        None => None,
    };
    let (running, mut rx) = run::start(scenario, &opts).await?;
    let running = Arc::new(running);
    let timers = run::schedule(&running, &opts);
    let (result, warnings) = {
        let mut tui = terminal::Tui::enter(ui.viewport, cast.clone())?;
        let explain = explain.join("\n");
        let mut ui_loop = Loop {
            running: &running,
            model: &mut model,
            keymap: &keymap,
            explain: &explain,
            cast,
        };
        // A bug in a pane must not leave a fault behind: catch it here, clear, summarize, then report it.
        let outcome = std::panic::AssertUnwindSafe(ui_loop.run(&mut tui, &mut rx, ui.fps, opts.duration))
            .catch_unwind()
            .await;
        let result = outcome.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(anyhow::anyhow!(
                "the UI stopped on an internal error ({what}); the faults it injected were cleared and the summary is above; please report this"
            ))
        });
        tracing::info!(?result, "the UI loop ended");
        // Clear what we injected while the screen still shows it, with a bound on how long that may take.
        let warnings = tokio::time::timeout(Duration::from_secs(15), running.clear_faults())
            .await
            .unwrap_or_else(|_| vec!["warning: clearing the faults timed out".to_string()]);
        (result, warnings)
    };
    for t in timers {
        t.abort();
    }
    let end = running.bus.elapsed();
    if let Ok(running) = Arc::try_unwrap(running) {
        running.shutdown().await;
    }
    while let Ok(e) = rx.try_recv() {
        model.apply(&e);
    }
    print!("{}", model.ledger.text(end));
    for w in warnings {
        println!("{w}");
    }
    result?;
    Ok(if model.ledger.summary().lost > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

struct Loop<'a> {
    running: &'a Arc<Running>,
    model: &'a mut Model,
    keymap: &'a [Binding],
    explain: &'a str,
    cast: Option<record::SharedCast>,
}

impl Loop<'_> {
    async fn run(
        &mut self,
        tui: &mut terminal::Tui,
        rx: &mut UnboundedReceiver<Stamped>,
        fps: u32,
        duration: Option<Duration>,
    ) -> anyhow::Result<()> {
        let theme = Theme::from_env();
        let mut keys = EventStream::new();
        let mut render = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps.max(1))));
        render.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut view = View::new(self.model.orders.len() + 1);
        let mut frozen: Option<Model> = None;
        let mut dirty = true;
        let end = tokio::time::sleep(duration.unwrap_or(Duration::from_secs(100 * 365 * 24 * 3600)));
        tokio::pin!(end);
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        loop {
            tokio::select! {
                biased;
                key = keys.next() => match key {
                    Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                        if self.on_key(k, &mut view, &mut frozen) {
                            return Ok(());
                        }
                        dirty = true;
                    }
                    Some(Ok(TermEvent::Resize(..))) => {
                        tui.reset()?;
                        dirty = true;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                },
                _ = terminate.recv() => return Ok(()),
                _ = hangup.recv() => return Ok(()),
                _ = &mut end => return Ok(()),
                Some(e) = rx.recv() => {
                    let mut n = 1;
                    self.apply(&e);
                    while let Ok(e) = rx.try_recv() {
                        self.apply(&e);
                        n += 1;
                    }
                    if let Some(behind) = view.frozen_behind.as_mut() {
                        *behind += n;
                    }
                    dirty = true;
                }
                _ = tick.tick() => {
                    self.model.now = self.running.bus.elapsed();
                    dirty |= frozen.is_none();
                }
                _ = render.tick(), if dirty => {
                    let shown = frozen.as_ref().unwrap_or(&*self.model);
                    tui.draw(|f| view::draw(f, shown, &view, self.keymap, self.explain, theme))?;
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

    /// Handles one key press; true means quit.
    fn on_key(&mut self, key: KeyEvent, view: &mut View, frozen: &mut Option<Model>) -> bool {
        if let Some(text) = view.editing.as_mut() {
            match key.code {
                KeyCode::Enter => {
                    let filter = view.editing.take().filter(|t| !t.is_empty());
                    if let Some(slot) = view.filters.get_mut(view.focus) {
                        *slot = filter;
                    }
                }
                KeyCode::Esc => view.editing = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            }
            return false;
        }
        if view.help && matches!(key.code, KeyCode::Esc) {
            view.help = false;
            return false;
        }
        let logs = view.scroll.len();
        let command = keymap::dispatch(self.keymap, &key);
        tracing::debug!(?key, ?command, "key");
        match command {
            Some(Command::Quit) => return true,
            Some(Command::InjectFault(i)) => {
                if self.model.faults.get(i).is_some_and(|f| f.injected_since.is_none()) {
                    self.model.set_pending(i, "injecting");
                }
                if i < self.running.faults.len() {
                    let running = self.running.clone();
                    tokio::spawn(async move { running.faults[i].inject(&running.bus).await });
                }
            }
            Some(Command::ClearFaults) => {
                for i in 0..self.model.faults.len() {
                    if self.model.faults[i].injected_since.is_some() {
                        self.model.set_pending(i, "clearing");
                    }
                }
                let running = self.running.clone();
                tokio::spawn(async move {
                    for fault in &running.faults {
                        fault.clear(&running.bus).await;
                    }
                });
            }
            Some(Command::ToggleHelp) => view.help = !view.help,
            Some(Command::ToggleFreeze) => match frozen.take() {
                Some(_) => view.frozen_behind = None,
                None => {
                    *frozen = Some(self.model.clone());
                    view.frozen_behind = Some(0);
                }
            },
            Some(Command::StartFilter) => {
                view.editing = Some(view.filters.get(view.focus).cloned().flatten().unwrap_or_default())
            }
            Some(Command::FocusNext) => view.focus = (view.focus + 1) % logs,
            Some(Command::FocusPrev) => view.focus = (view.focus + logs - 1) % logs,
            Some(Command::Scroll(n)) => {
                if let Some(s) = view.scroll.get_mut(view.focus) {
                    *s = s.saturating_add_signed(n as isize);
                }
            }
            None => {}
        }
        false
    }
}
