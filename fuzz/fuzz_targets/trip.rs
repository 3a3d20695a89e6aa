//! Arbitrary text as a circuit breaker's `trip` expression: compile it and, when it compiles, evaluate it
//! against counts taken from the input. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    resilience_tui::resiliency::trip::fuzz::compile_and_evaluate(data);
});
