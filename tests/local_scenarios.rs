//! A scenario named on the command line may come from `./scenarios` in the current folder: the real binary,
//! run in a temp folder, says which file replaced a built-in scenario, and refuses to run the `kind: command`
//! apps of a scenario it found by name (a cloned repository's commands never run unasked).

use crate::common;

use std::path::Path;
use std::process::Command;

fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_resilience-tui"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A local `service-invoke` whose order-processor is a command that would leave a file behind if it ran.
const WITH_A_COMMAND: &str = "name: service-invoke\ntitle: t\nsummary: s\nresources: resources\napps:\n  \
checkout: {kind: checkout, daprHttpPort: 3500, target: order-processor}\n  order-processor:\n    \
kind: command\n    command: [touch, the-command-ran]\n    appPort: 6001\n    daprHttpPort: 3501\n";

#[test]
fn a_scenario_found_by_name_does_not_run_its_commands() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scenarios/resources")).unwrap();
    std::fs::write(dir.path().join("scenarios/service-invoke.yaml"), WITH_A_COMMAND).unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        &["scenario", "service-invoke", "--headless", "--duration", "1s"],
    );
    assert_eq!(code, Some(1), "refused\n{stdout}\n{stderr}");
    let expected = "scenario `service-invoke` was found by name in ./scenarios/service-invoke.yaml (it replaces the \
                    built-in scenario of that name), and it runs commands (order-processor: `touch the-command-ran`); \
                    commands run only from a scenario named by its path: check the file, then run \
                    `resilience-tui scenario ./scenarios/service-invoke.yaml`, or add --allow-commands";
    assert!(stderr.contains(expected), "{stderr}");
    assert!(
        !dir.path().join("scenarios/the-command-ran").exists() && !dir.path().join("the-command-ran").exists(),
        "the command ran"
    );
    // A bare name never reads a file of that name in the current folder as the scenario.
    std::fs::write(dir.path().join("mine"), WITH_A_COMMAND).unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["scenario", "mine", "--headless"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no scenario `mine`"), "{stderr}");
}

#[test]
fn a_built_in_name_with_a_local_file_says_which_file_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    // `init` writes the built-in scenario out; in ./scenarios it replaces the built-in one.
    let (code, out, err) = run_in(dir.path(), &["init", "service-invoke", "scenarios"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let port = || common::free_port().to_string();
    let mut args = vec!["scenario", "service-invoke", "--headless", "--duration", "1s"];
    let ports = [
        format!("checkout={}", port()),
        format!("order-processor={}", port()),
        format!("order-processor={}", port()),
        format!("checkout={}", port()),
        format!("order-processor={}", port()),
    ];
    let flags = [
        "--dapr-http-port",
        "--dapr-http-port",
        "--app-port",
        "--metrics-port",
        "--metrics-port",
    ];
    for (flag, value) in flags.iter().zip(&ports) {
        args.extend([*flag, value.as_str()]);
    }
    let (code, stdout, stderr) = run_in(dir.path(), &args);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let said = "scenario `service-invoke` is ./scenarios/service-invoke.yaml, which replaces the built-in scenario of that name";
    assert!(stderr.contains(said), "on stderr, headless: {stderr}");
    assert!(stdout.contains(said), "in the run's own lines: {stdout}");
}
