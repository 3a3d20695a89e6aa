//! The built-in scenarios and their Dapr resources, compiled into the binary so it works anywhere: an
//! installed binary has no source tree next to it. `./scenarios`, a scenario path and `--resources-path`
//! still win (see `find`). A test checks this table against `scenarios/` and `resources/` on disk.

/// One built-in scenario: its scenario file and the files of its resources folder.
#[derive(Debug, PartialEq, Eq)]
pub struct BuiltIn {
    pub name: &'static str,
    /// The scenario file's text, as in `scenarios/<name>.yaml`.
    pub scenario: &'static str,
    /// The folder under `resources/` the scenario file names.
    pub resources_dir: &'static str,
    /// (file name, text) of every file in that folder.
    pub resources: &'static [(&'static str, &'static str)],
}

macro_rules! file {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path))
    };
}

/// Every built-in scenario, in the order `scenarios` lists them and `init` writes them: the two quickstarts
/// first (they are Dapr's own, and the first run should be one), then the lessons in teaching order. Each
/// lesson takes what the one before showed as known: no policy at all (what Dapr's built-in retries cover),
/// then a timeout (slow becomes a failure), which status codes are retried, how exponential backoff spreads
/// retries out, which default policy applies when no target is named, and last why a breaker matters under
/// load.
pub const BUILT_IN: &[BuiltIn] = &[
    BuiltIn {
        name: "service-invoke",
        scenario: file!("scenarios/service-invoke.yaml"),
        resources_dir: "service-invoke",
        resources: &[("resiliency.yaml", file!("resources/service-invoke/resiliency.yaml"))],
    },
    BuiltIn {
        name: "state-management",
        scenario: file!("scenarios/state-management.yaml"),
        resources_dir: "state-management",
        resources: &[
            ("resiliency.yaml", file!("resources/state-management/resiliency.yaml")),
            ("statestore.yaml", file!("resources/state-management/statestore.yaml")),
        ],
    },
    BuiltIn {
        name: "no-resiliency",
        scenario: file!("scenarios/no-resiliency.yaml"),
        resources_dir: "no-resiliency",
        resources: &[("config.yaml", file!("resources/no-resiliency/config.yaml"))],
    },
    BuiltIn {
        name: "timeouts",
        scenario: file!("scenarios/timeouts.yaml"),
        resources_dir: "timeouts",
        resources: &[("resiliency.yaml", file!("resources/timeouts/resiliency.yaml"))],
    },
    BuiltIn {
        name: "status-codes",
        scenario: file!("scenarios/status-codes.yaml"),
        resources_dir: "status-codes",
        resources: &[("resiliency.yaml", file!("resources/status-codes/resiliency.yaml"))],
    },
    BuiltIn {
        name: "exponential-backoff",
        scenario: file!("scenarios/exponential-backoff.yaml"),
        resources_dir: "exponential-backoff",
        resources: &[(
            "resiliency.yaml",
            file!("resources/exponential-backoff/resiliency.yaml"),
        )],
    },
    BuiltIn {
        name: "defaults",
        scenario: file!("scenarios/defaults.yaml"),
        resources_dir: "defaults",
        resources: &[("resiliency.yaml", file!("resources/defaults/resiliency.yaml"))],
    },
    BuiltIn {
        name: "why-breakers",
        scenario: file!("scenarios/why-breakers.yaml"),
        resources_dir: "why-breakers",
        resources: &[
            (
                "retry-and-breaker.yaml",
                file!("resources/why-breakers/retry-and-breaker.yaml"),
            ),
            ("retry-only.yaml", file!("resources/why-breakers/retry-only.yaml")),
        ],
    },
];

pub fn get(name: &str) -> Option<&'static BuiltIn> {
    BUILT_IN.iter().find(|b| b.name == name)
}

impl BuiltIn {
    /// How the scenario file names its resources folder (relative to `scenarios/`).
    pub fn resources_field(&self) -> String {
        format!("../resources/{}", self.resources_dir)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_scenario_and_resource_file_on_disk_is_built_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut scenarios: Vec<String> = BUILT_IN.iter().map(|b| format!("{}.yaml", b.name)).collect();
        scenarios.sort();
        assert_eq!(files_in(&root.join("scenarios")), scenarios);
        for b in BUILT_IN {
            let names: Vec<&str> = b.resources.iter().map(|(n, _)| *n).collect();
            assert_eq!(
                files_in(&root.join("resources").join(b.resources_dir)),
                names,
                "{}",
                b.name
            );
            let field = format!("resources: {}\n", b.resources_field());
            assert!(
                b.scenario.contains(&field),
                "{} names its resources as `{field}`",
                b.name
            );
        }
    }
}
