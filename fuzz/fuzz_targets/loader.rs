//! Arbitrary bytes as Dapr resource files: load (one or two files, split at the first NUL), render every
//! diagnostic, and build each sidecar's engine from what loaded, as the program does. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    resilience_tui::resources::fuzz::load_everything(data);
});
