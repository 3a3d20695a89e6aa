//! Replays the committed fuzz corpora (fuzz/corpus/{loader,trip}) on the stable toolchain through exactly the
//! code the fuzz targets drive, so every input the fuzzers found interesting stays guarded in CI: none
//! panics, none hangs. (The fuzzers themselves ran with `-timeout=1` in release builds; here the bound only
//! catches a hang, since CI runs debug builds in parallel on 2 cores.)

use crate::common;

use std::path::Path;
use std::time::Duration;

const HANG: Duration = Duration::from_secs(10);

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn loader_corpus_loads_without_panic_or_hang() {
    let inputs = corpus("loader");
    assert!(inputs.len() >= 5, "the loader corpus is missing: {}", inputs.len());
    for (name, data) in &inputs {
        let input = data.clone();
        let rendered = common::finishes_within(HANG, name, move || {
            resilience_tui::resources::fuzz::load_everything(&input)
        });
        // The same input always reads the same way (no hash-order or address in the report).
        assert_eq!(
            rendered,
            resilience_tui::resources::fuzz::load_everything(data),
            "{name}"
        );
    }
}

#[test]
fn trip_corpus_compiles_and_evaluates_without_panic_or_hang() {
    let inputs = corpus("trip");
    assert!(inputs.len() >= 5, "the trip corpus is missing: {}", inputs.len());
    let mut evaluated = 0;
    for (name, data) in &inputs {
        let input = data.clone();
        let compiled = common::finishes_within(HANG, name, move || {
            resilience_tui::resiliency::trip::fuzz::compile_and_evaluate(&input).is_some()
        });
        evaluated += usize::from(compiled);
    }
    assert!(evaluated > 0, "no corpus input compiled");
}
