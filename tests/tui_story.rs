//! The quickstart's story told on a projector-sized terminal, at its own pace: the real binary with the
//! quickstart's resources (retry every 5s, the breaker opens after 5 consecutive failures and stays open 5s)
//! under tmux at 80x24 and at 100x30. `f`, about 30 s, `c`, `q`, as a teacher would; the screen must tell the
//! story in plain words (the story line), name the held order, show the half-open probes as marks in the
//! breaker's strip, keep the sidecar log's last 4 lines on screen, and never draw a line wider than its pane.

use crate::common;

use common::tmux::Session;

/// The story line is the screen's second row.
fn story(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or_default()
}

/// The rows inside the sidecar log pane, without borders, trailing blanks dropped.
fn sidecar_rows(screen: &str) -> Vec<String> {
    let rows: Vec<&str> = screen.lines().collect();
    let Some(top) = rows.iter().position(|r| r.contains("sidecar resiliency log")) else {
        return Vec::new();
    };
    rows[top + 1..]
        .iter()
        .take_while(|r| !r.starts_with('└'))
        .map(|r| {
            r.trim_start_matches('│')
                .trim_end()
                .trim_end_matches('│')
                .trim_end()
                .to_string()
        })
        .filter(|r| !r.is_empty())
        .collect()
}

fn the_story_at(cols: u16, rows: u16) {
    let port = common::free_port;
    let command = format!(
        "{} scenario service-invoke --dapr-http-port checkout={} --dapr-http-port order-processor={} --app-port order-processor={} --metrics-port checkout={} --metrics-port order-processor={}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_resilience-tui"),
        port(),
        port(),
        port(),
        port(),
        port()
    );
    let s = Session::start(
        &format!("rtui-story-{cols}-{}", std::process::id()),
        cols,
        rows,
        &command,
    );
    s.wait_for("orders flowing and the story line naming the policy in force", |sc| {
        sc.contains("Order passed: {\"orderId\":2}")
            && story(sc).contains("Policy: retry retryForever + breaker simpleCB")
    });
    s.keys("f");
    let held = s.wait_up_to(20, "the held order named", |sc| {
        story(sc).contains("waits in a retry") && sc.contains("waits") && sc.contains("next try in")
    });
    assert!(held.contains("INJECTED"), "{held}");
    let open = s.wait_up_to(40, "the breaker open, in plain words", |sc| {
        story(sc).starts_with(" Breaker OPEN: calls fail fast.") && sc.contains("CLOSED -> OPEN")
    });
    assert!(
        open.contains("probe in") || open.contains("probe on the next call"),
        "{open}"
    );
    let probe = s.wait_up_to(20, "a half-open probe marked in the strip", |sc| {
        sc.contains('\u{25c6}') && sc.contains("changed state from half-open to open")
    });
    assert!(
        probe.contains("(reset on state change)"),
        "why the counts are zero:\n{probe}"
    );
    s.keys("c");
    let expected = [
        "fault cleared: stop-order-processor",
        "changed state from open to half-open",
        "changed state from half-open to closed",
        "Recovered processing operation",
    ];
    let last4 = |sc: &str| -> Vec<String> { sidecar_rows(sc).into_iter().rev().take(4).rev().collect() };
    let in_order = |sc: &str| {
        let rows = last4(sc);
        rows.len() == 4 && rows.iter().zip(expected).all(|(row, text)| row.contains(text))
    };
    // Waited for as a whole: a capture can catch a frame half drawn on a loaded machine.
    let what = "the held order delivered with its wait and attempts, and the sidecar log's last 4 lines in order";
    s.wait_up_to(20, what, |sc| {
        story(sc).contains("delivered after") && story(sc).contains("attempts. Nothing lost.") && in_order(sc)
    });
    s.keys("q");
    let exit = s.wait_for("the exit", |sc| sc.contains("EXIT="));
    assert!(exit.contains("EXIT=0"), "{exit}");
    assert!(
        !exit.contains("layout bug"),
        "no line was drawn wider than its pane (cut mid-word):\n{exit}"
    );
}

#[test]
fn the_story_at_80x24() {
    the_story_at(80, 24);
}

#[test]
fn the_story_at_100x30() {
    the_story_at(100, 30);
}
