//! A Python virtualenv under `target/`, with `packages` installed once from PyPI (reachable wherever this
//! project runs); a failed install fails the test with pip's output.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's python, creating `target/<name>` and installing `packages` the first time.
pub fn venv(name: &str, packages: &[&str]) -> PathBuf {
    // The tests share one process (tests/all.rs): two of them must not build one venv at once.
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(name);
    let python = dir.join("bin/python");
    let ready = dir.join(".installed");
    if ready.exists() {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("python3 runs");
    assert!(
        status.success(),
        "python3 -m venv failed; install python3 with venv support"
    );
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet"])
        .args(packages)
        .output()
        .expect("pip runs");
    assert!(
        out.status.success(),
        "pip install {packages:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&ready, packages.join("\n")).unwrap();
    python
}
