//! The terminal in UI mode: raw, alternate screen, hidden cursor; restored on every way out (drop, panic).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal, TerminalOptions, Viewport};

use super::record::{Screen, SharedCast};

/// Owns the terminal while the UI runs; dropping it gives the terminal back as it was.
pub struct Tui {
    terminal: Terminal<CrosstermBackend<Screen>>,
    /// Drawing only into a recording: the real terminal is not touched.
    offscreen: bool,
    recording: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Tui {
    /// `viewport` pins the drawing area (`--viewport COLSxROWS`) so recordings have a fixed geometry.
    /// With `cast`, everything written to the terminal is also recorded.
    pub fn enter(viewport: Option<(u16, u16)>, cast: Option<SharedCast>) -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut screen = Screen::new(cast);
        let recording = screen.recording.clone();
        execute!(screen, EnterAlternateScreen, Hide)?;
        ON_ALTERNATE_SCREEN.store(true, Ordering::SeqCst);
        let viewport = match viewport {
            Some((w, h)) => Viewport::Fixed(Rect::new(0, 0, w, h)),
            None => Viewport::Fullscreen,
        };
        let terminal = Terminal::with_options(CrosstermBackend::new(screen), TerminalOptions { viewport });
        match terminal {
            Ok(terminal) => Ok(Self {
                terminal,
                offscreen: false,
                recording,
            }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Draws at `width` x `height` into the recording only (`--record` with no terminal).
    pub fn offscreen(width: u16, height: u16, cast: SharedCast) -> io::Result<Self> {
        let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
        let screen = Screen::offscreen(cast);
        let recording = screen.recording.clone();
        let terminal = Terminal::with_options(CrosstermBackend::new(screen), TerminalOptions { viewport })?;
        Ok(Self {
            terminal,
            offscreen: true,
            recording,
        })
    }

    /// One frame, wrapped in a synchronized update so terminals (and recordings) never show half a frame.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> io::Result<()> {
        execute!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        self.terminal.draw(render)?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate)?;
        self.terminal.backend_mut().flush()
    }

    /// The drawing area (the help's keys scroll by what fits in it).
    pub fn area(&mut self) -> Rect {
        self.terminal.get_frame().area()
    }

    /// After a resize: forget what is on screen so the next frame is drawn in full.
    pub fn reset(&mut self) -> io::Result<()> {
        self.terminal.autoresize()?;
        self.terminal.clear()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // The recording keeps the last frame: leaving the alternate screen is not recorded.
        let _ = self.terminal.backend_mut().flush();
        self.recording.store(false, Ordering::SeqCst);
        if !self.offscreen {
            restore();
        }
    }
}

/// Whether the UI is on the alternate screen (set on entering, taken by the first [`restore`]).
static ON_ALTERNATE_SCREEN: AtomicBool = AtomicBool::new(false);

/// Leaves raw mode and the alternate screen; safe to call more than once.
///
/// The alternate screen is cleared before it is left: a terminal resized while on it may keep part of it.
/// tmux restores only the rows the shell's screen had when the UI started (`screen_alternate_off` in tmux's
/// `screen.c` shrinks to the saved size with reflow, copies the saved rows back, then grows again), so a run
/// started at 60x15 and enlarged to 120x40 would leave its last frame under the summary. Cleared only once,
/// and only while on the alternate screen: clearing the shell's own screen would erase what it showed.
pub fn restore() {
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    if ON_ALTERNATE_SCREEN.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, Clear(ClearType::All));
    }
    let _ = execute!(out, LeaveAlternateScreen, Show);
}

/// A panic on the UI's thread (drawing, a pane) restores the terminal before its message is printed, so the
/// message is readable. A panic in a task on another thread (a request handler, an app) ends only that task:
/// the UI stays up, so the panic goes to the log (`--log-file`) instead of being printed behind the UI.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore();
            previous(info);
        } else {
            tracing::error!("a task panicked: {info}");
        }
    }));
}
