//! The panes: order logs, the sidecar's resiliency log, circuit breakers, held orders and faults. Each is
//! given a rectangle and fits its text into it (see `fit`): parts of lower value fold away first, and nothing
//! is cut inside a word.

mod breakers;
mod faults;
mod held;
mod log;

pub use breakers::breakers;
pub use faults::faults;
pub use held::held;
pub use log::log;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::theme::Theme;

fn secs(d: std::time::Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title)
}

/// Draws `lines` in `area` (inside `block` if given), counting any line too wide for it (see `fit::check`).
pub fn lines_in(frame: &mut Frame, lines: Vec<Line<'static>>, area: Rect, block: Option<Block<'static>>) {
    let inner = block.as_ref().map_or(area, |b| b.inner(area));
    super::fit::check(&lines, inner.width);
    let paragraph = Paragraph::new(lines);
    frame.render_widget(
        match block {
            Some(b) => paragraph.block(b),
            None => paragraph,
        },
        area,
    );
}
