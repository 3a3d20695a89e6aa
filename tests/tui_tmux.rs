//! The real binary in its full-screen UI, driven as a person would: tmux runs it, `send-keys` types and
//! `capture-pane` reads the screen. With short-duration resources: orders pass, `f` stops order-processor, the
//! breaker goes OPEN and through HALF-OPEN (retry interval = breaker timeout, as in the quickstart), `c` clears, it closes and orders resume, `q` quits, the terminal
//! is back and the summary printed.

use crate::common;

use std::process::Command;

use common::tmux::{Session, tmux};

const FAST_POLICY: &str = "kind: Resiliency\nmetadata: {name: fast}\nscopes: [checkout]\nspec:\n  policies:\n    retries: {r: {duration: 300ms}}\n    circuitBreakers: {cb: {maxRequests: 1, timeout: 300ms, trip: consecutiveFailures >= 3}}\n  targets:\n    apps:\n      order-processor: {retry: r, circuitBreaker: cb}\n";

/// Starts the binary's UI in a 100x30 tmux session with the fast policy and `extra` arguments.
fn start(tag: &str, extra: &str) -> Session {
    start_env(tag, "", extra)
}

/// [`start`] with environment assignments (`NAME=value …`) for the program.
fn start_env(tag: &str, env: &str, extra: &str) -> Session {
    start_sized(tag, (100, 30), env, extra)
}

/// [`start_env`] in a window of `cols` x `rows`.
fn start_sized(tag: &str, (cols, rows): (u16, u16), env: &str, extra: &str) -> Session {
    let dir = common::temp_dir(&format!("tmux-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("resiliency.yaml"), FAST_POLICY).unwrap();
    let port = common::free_port;
    let command = format!(
        "{env} {} scenario service-invoke --resources-path {} --dapr-http-port checkout={} --dapr-http-port order-processor={} --app-port order-processor={} --metrics-port checkout={} --metrics-port order-processor={} --order-interval 100ms {extra}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_resilience-tui"),
        dir.display(),
        port(),
        port(),
        port(),
        port(),
        port()
    );
    Session::start(&format!("rtui-{tag}-{}", std::process::id()), cols, rows, &command)
}

#[test]
fn a_person_at_the_keyboard() {
    let log = common::temp_dir("log").join("run.log");
    let s = start("keys", &format!("--log-file {}", log.display()));

    s.wait_for("orders passing in the UI", |sc| {
        sc.contains("Order passed: {\"orderId\":3}") && sc.contains("CLOSED")
    });
    s.keys("f");
    s.wait_for("the fault", |sc| sc.contains("INJECTED"));
    s.wait_for("the breaker to open", |sc| {
        sc.contains("CLOSED -> OPEN after 3 consecutive failures")
    });
    s.wait_for("the story line to say it in plain words", |sc| {
        sc.contains("Breaker OPEN: calls fail fast.")
    });
    s.wait_for("a half-open probe", |sc| {
        sc.contains('\u{25c6}') && sc.contains("HALF-OPEN -> OPEN (the probe failed)")
    });
    let during = s.screen();
    assert!(
        during.contains("order ") && during.contains(" waits "),
        "the retries pane shows the blocked order:\n{during}"
    );
    s.keys("c");
    s.wait_for("the breaker to close", |sc| {
        sc.contains("HALF-OPEN -> CLOSED (the probe succeeded)")
    });
    s.wait_for("the Recovered line", |sc| sc.contains("Recovered processing operation"));
    s.keys("q");
    let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(
        end.contains("== SUMMARY ==") && end.contains("lost 0"),
        "the summary below the restored terminal:\n{end}"
    );
    assert!(
        !end.contains("circuit breakers"),
        "the UI is gone (alternate screen left):\n{end}"
    );
}

/// A scripted, recorded run: the `.cast` file is asciicast v2 with the pinned geometry, the UI's output, and
/// markers at the fault's inject and clear and at every breaker transition.
#[test]
fn a_scripted_recording() {
    let cast = common::temp_dir("cast").join("demo.cast");
    let args = format!(
        "--viewport 100x30 --record {} --fault-at 300ms --clear-at 1500ms --duration 2500ms",
        cast.display()
    );
    let s = start("record", &args);
    let end = s.wait_for("the scripted run to end", |sc| sc.contains("EXIT="));
    assert!(end.contains("EXIT=0"), "{end}");
    let text = std::fs::read_to_string(&cast).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
    let header = &lines[0];
    assert_eq!(
        (
            header["version"].as_u64(),
            header["width"].as_u64(),
            header["height"].as_u64()
        ),
        (Some(2), Some(100), Some(30))
    );
    assert!(header["timestamp"].as_u64().unwrap() > 1_600_000_000);
    let mut last = 0.0;
    for event in &lines[1..] {
        let t = event[0].as_f64().expect("time");
        assert!(t >= last, "event times never go back: {event}");
        last = t;
        assert!(matches!(event[1].as_str(), Some("o" | "m")), "{event}");
        assert!(event[2].is_string(), "{event}");
    }
    let output: String = lines[1..]
        .iter()
        .filter(|e| e[1] == "o")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(
        output.contains("circuit breakers") && output.contains("Order passed"),
        "the UI's frames are recorded"
    );
    let markers: Vec<&str> = lines[1..]
        .iter()
        .filter(|e| e[1] == "m")
        .map(|e| e[2].as_str().unwrap())
        .collect();
    assert!(
        markers.iter().any(|m| m.starts_with("injected: stop order-processor")),
        "{markers:?}"
    );
    assert!(
        markers
            .iter()
            .any(|m| m.starts_with("cleared: order-processor and its sidecar listen again")),
        "{markers:?}"
    );
    assert!(
        markers.contains(&"order-processor:orders: closed -> open"),
        "{markers:?}"
    );
    assert!(
        markers.contains(&"order-processor:orders: half-open -> closed"),
        "{markers:?}"
    );
}

impl Session {
    /// The pid of the program the session's shell runs.
    fn program_pid(&self) -> String {
        let out = Command::new(tmux())
            .args(["display-message", "-p", "-t", &self.0, "#{pane_pid}"])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        let pid = String::from_utf8_lossy(&children.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(!pid.is_empty(), "no program under the session's shell {shell}");
        pid
    }
}

/// SIGTERM and SIGHUP end the UI like `q`: the fault we injected is cleared, the terminal is restored and
/// the summary printed.
#[test]
fn signals_restore_the_terminal() {
    for signal in [nix::sys::signal::Signal::SIGTERM, nix::sys::signal::Signal::SIGHUP] {
        let s = start(&format!("{signal}"), "");
        s.wait_for("orders passing", |sc| sc.contains("Order passed: {\"orderId\":2}"));
        s.keys("f");
        s.wait_for("the fault", |sc| sc.contains("INJECTED"));
        let pid = s.program_pid();
        let pid = nix::unistd::Pid::from_raw(pid.trim().parse().unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
        assert!(end.contains("EXIT=0"), "{signal}: {end}");
        assert!(end.contains("== SUMMARY =="), "{signal}: {end}");
        assert!(
            !end.contains("circuit breakers") && !end.contains("could not be cleared"),
            "{signal}: {end}"
        );
    }
}

/// A bug in a pane (a panic while drawing): the terminal is restored, the fault we injected is cleared, the
/// summary is printed, and the error says what happened.
#[test]
fn a_panic_in_a_pane_still_clears_and_summarizes() {
    let s = start_env("panic", "RESILIENCE_TUI_TEST_PANIC_IN_PANE=1", "--fault-at 300ms");
    let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
    assert!(end.contains("EXIT=1"), "{end}");
    assert!(end.contains("a pane failed to draw"), "{end}");
    assert!(end.contains("== SUMMARY =="), "{end}");
    assert!(end.contains("the faults it injected were cleared"), "{end}");
    assert!(
        !end.contains("could not be cleared") && !end.contains("circuit breakers"),
        "{end}"
    );
}

/// Ctrl-C in the UI (raw mode: it arrives as a key, not a signal) ends the run like `q`.
#[test]
fn ctrl_c_ends_like_q() {
    let s = start("ctrlc", "");
    s.wait_for("orders passing", |sc| sc.contains("Order passed: {\"orderId\":2}"));
    s.keys("f");
    s.wait_for("the fault", |sc| sc.contains("INJECTED"));
    s.keys("C-c");
    let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
    assert!(end.contains("EXIT=0"), "{end}");
    assert!(end.contains("== SUMMARY =="), "{end}");
    assert!(
        !end.contains("circuit breakers") && !end.contains("could not be cleared"),
        "{end}"
    );
}

/// Too small a window shows only what to do; keys other than q and ? do nothing there (a fault injected
/// unseen would surprise), and growing the window again redraws the whole UI.
#[test]
fn too_small_ignores_keys_and_resizing_restores() {
    let s = start("small", "");
    s.wait_for("the UI", |sc| sc.contains("circuit breakers"));
    let resize = |w: &str, h: &str| {
        let ok = Command::new(tmux())
            .args(["resize-window", "-t", &s.0, "-x", w, "-y", h])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux resize-window");
    };
    resize("60", "20");
    s.wait_for("the too-small screen", |sc| sc.contains("needs at least 80x24"));
    s.keys("f");
    resize("100", "30");
    let screen = s.wait_for("the whole UI again", |sc| {
        sc.contains("circuit breakers") && sc.contains("faults")
    });
    assert!(!screen.contains("needs at least"), "{screen}");
    assert!(
        screen.contains("stop-order-processor: off"),
        "f did nothing while the window was too small:\n{screen}"
    );
    s.keys("q");
    s.wait_for("the exit", |sc| sc.contains("EXIT=0"));
}

/// Started too small, then enlarged (the UI appears), then q: the shell's screen comes back with only the
/// summary on it. tmux restores only the rows the screen had at the start, so a frame left on the alternate
/// screen would show through under the summary.
#[test]
fn started_too_small_then_enlarged_leaves_only_the_summary() {
    let s = start_sized("small-start", (60, 15), "", "");
    s.wait_for("the too-small screen", |sc| sc.contains("needs at least 80x24"));
    let ok = Command::new(tmux())
        .args(["resize-window", "-t", &s.0, "-x", "120", "-y", "40"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "tmux resize-window");
    s.wait_for("the UI", |sc| {
        sc.contains("circuit breakers") && sc.contains("Order passed")
    });
    s.keys("q");
    let end = s.wait_for("the exit", |sc| sc.contains("EXIT="));
    assert!(end.contains("EXIT=0"), "{end}");
    let shown: Vec<&str> = end.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    let (exit, summary) = shown.split_last().unwrap();
    assert_eq!(*exit, "EXIT=0", "{end}");
    assert!(!summary.is_empty(), "{end}");
    assert!(
        summary.iter().all(|l| l.starts_with("== SUMMARY == ")),
        "only the summary, each line whole, no frame under it:\n{end}"
    );
}

/// The help at 80x24, as a teacher at a projector meets it: `?` opens it on the lesson (state-management, whose
/// four faults' explanations do not fit one screen) and says it scrolls; End goes to its last row, PgUp back
/// until the last row of "What to watch" is on screen whole (as the help wraps it), Home to the top, down one
/// row, and `?` closes it.
#[test]
fn the_help_scrolls_at_80x24() {
    let scenario = resilience_tui::scenario::find("state-management")
        .unwrap()
        .load()
        .unwrap();
    let model = resilience_tui::tui::model::Model::new(&scenario);
    let map = resilience_tui::tui::keymap::keymap(&scenario.faults);
    let theme = resilience_tui::tui::theme::Theme::plain();
    let paras = resilience_tui::tui::help::paras(&model, &map, &scenario.summary, theme);
    // The box is 78 columns at 80: 74 of text inside its border and margins.
    let rows: Vec<String> = resilience_tui::tui::overlay::rows(&paras, 74)
        .iter()
        .map(|r| r.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let last_word = scenario
        .faults
        .last()
        .unwrap()
        .explain
        .split_whitespace()
        .last()
        .unwrap();
    let last_watched = rows
        .iter()
        .rfind(|r| r.trim_end().ends_with(last_word))
        .unwrap()
        .trim_end()
        .to_string();

    let port = common::free_port;
    let command = format!(
        "{} scenario state-management --state-store memory --dapr-http-port order-processor={} --metrics-port order-processor={}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_resilience-tui"),
        port(),
        port()
    );
    let s = Session::start(&format!("rtui-help-{}", std::process::id()), 80, 24, &command);
    s.wait_for("the UI", |sc| sc.contains("faults"));
    s.keys("?");
    let top = s.wait_for("the help on the lesson", |sc| {
        sc.contains("\u{2502} Resiliency: service-to-component") && sc.contains("\u{2193} more \u{b7} 1-20 of ")
    });
    assert!(
        !top.contains(&last_watched),
        "the end of What to watch is below:\n{top}"
    );
    s.keys("End");
    s.wait_for("the help's last row", |sc| {
        sc.contains("\u{2191} end") && sc.contains("End       to the end")
    });
    let mut found = false;
    for _ in 0..rows.len() {
        if s.screen().contains(&last_watched) {
            found = true;
            break;
        }
        let before = rows_shown(&s.screen());
        s.keys("PPage");
        s.wait_for("a page up", |sc| rows_shown(sc) != before);
    }
    assert!(
        found,
        "the last row of What to watch, whole: {last_watched:?}\n{}",
        s.screen()
    );
    s.keys("Home");
    s.wait_for("the top again", |sc| sc.contains("\u{2193} more \u{b7} 1-20 of "));
    s.keys("Down");
    s.wait_for("one row down", |sc| {
        sc.contains("\u{2191}\u{2193} more \u{b7} 2-21 of ")
    });
    s.keys("?");
    let closed = s.wait_for("the help closed", |sc| !sc.contains("more \u{b7}"));
    assert!(closed.contains("circuit breakers"), "{closed}");
    s.keys("q");
    s.wait_for("the exit", |sc| sc.contains("EXIT=0"));
}

/// Which rows of the help are on screen, as its bottom border says (`20-39`).
fn rows_shown(screen: &str) -> Option<String> {
    let line = screen
        .lines()
        .find(|l| l.contains(" more \u{b7} ") || l.contains(" end \u{b7} "))?;
    let (_, after) = line.split_once(" \u{b7} ")?;
    Some(after.split(" of ").next()?.to_string())
}
