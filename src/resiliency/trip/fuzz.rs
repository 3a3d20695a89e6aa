//! The code path the `trip` fuzz target drives, here so that the stable test suite replays the same corpus
//! through the same code (tests/fuzz_corpus_replay.rs).

use super::{Counts, TripExpr};

/// The input's first 20 bytes (when there are that many) are the five counts; the rest, as text, is the
/// expression. Compiles it, runs the loader's static checks, and evaluates it. Returns the evaluation.
pub fn compile_and_evaluate(data: &[u8]) -> Option<Result<bool, String>> {
    let (counts, source) = if data.len() >= 20 {
        let n = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let counts = Counts {
            requests: n(0),
            total_successes: n(4),
            total_failures: n(8),
            consecutive_successes: n(12),
            consecutive_failures: n(16),
        };
        (counts, &data[20..])
    } else {
        (Counts::default(), data)
    };
    let source = std::str::from_utf8(source).ok()?;
    let expr = TripExpr::compile(source).ok()?;
    let _ = (expr.unknown_variables(), expr.statically_non_bool(), expr.source());
    let verdict = expr.evaluate(&counts);
    // should_trip is evaluate with Dapr's rule that an error never trips.
    assert_eq!(expr.should_trip(&counts), matches!(verdict, Ok(true)));
    Some(verdict)
}
