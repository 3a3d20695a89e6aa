//! Which scenario a name or a path on the command line means, and whether its commands may run.

use std::path::{Path, PathBuf};

use super::{AppSpec, Scenario, Source, builtin};

/// Scenario files in `./scenarios` win over the built-in ones of the same name (and are said so at start).
const LOCAL_DIR: &str = "./scenarios";

/// A scenario found by [`find`], and how: that decides whether its commands may run.
#[derive(Debug, Clone)]
pub struct Found {
    pub source: Source,
    pub origin: Origin,
}

/// How a scenario was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The user gave the file's path: they chose that file, commands and all.
    Path,
    /// A name, found in `./scenarios`; `replaces_built_in` when a built-in scenario has that name and other text.
    LocalName {
        replaces_built_in: bool,
    },
    BuiltIn,
}

/// A path to a scenario file, or a name: `./scenarios/NAME.yaml`, else the built-in scenario NAME. Only an
/// argument that looks like a path (a `/`, or a `.yaml`/`.yml` ending) is read as one, so a bare name never
/// picks up a file of that name in the current folder.
pub fn find(name_or_path: &str) -> Option<Found> {
    let path = Path::new(name_or_path);
    let looks_like_path = name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.contains('/')
        || path.extension().is_some_and(|x| x == "yaml" || x == "yml");
    if looks_like_path {
        return path.is_file().then(|| Found {
            source: Source::File(path.to_path_buf()),
            origin: Origin::Path,
        });
    }
    let built_in = builtin::get(name_or_path);
    let local = Path::new(LOCAL_DIR).join(format!("{name_or_path}.yaml"));
    if local.is_file() {
        // A copy of the built-in's own text (this project's `scenarios/`, which the built-ins are compiled
        // from) replaces nothing worth saying.
        let same_text = |b: &builtin::BuiltIn| std::fs::read_to_string(&local).is_ok_and(|t| t == b.scenario);
        let origin = Origin::LocalName {
            replaces_built_in: built_in.is_some_and(|b| !same_text(b)),
        };
        return Some(Found {
            source: Source::File(local),
            origin,
        });
    }
    built_in.map(|b| Found {
        source: Source::BuiltIn(b),
        origin: Origin::BuiltIn,
    })
}

impl Found {
    pub fn load(&self) -> Result<Scenario, String> {
        self.source.load()
    }

    /// What to say at start when a file in `./scenarios` replaced the built-in scenario of its name.
    pub fn replacement(&self) -> Option<String> {
        match (&self.origin, &self.source) {
            (
                Origin::LocalName {
                    replaces_built_in: true,
                },
                Source::File(path),
            ) => Some(format!(
                "scenario `{}` is {}, which replaces the built-in scenario of that name",
                self.source.name(),
                path.display()
            )),
            _ => None,
        }
    }

    /// A scenario found by name in the current folder runs no commands unless `allow_commands`: running the
    /// tool inside a cloned repository must not run that repository's commands. One given by path, or a
    /// built-in one (which has none), runs them.
    pub fn check_commands(&self, scenario: &Scenario, allow_commands: bool) -> Result<(), String> {
        let Source::File(path) = &self.source else {
            return Ok(());
        };
        if allow_commands || !matches!(self.origin, Origin::LocalName { .. }) {
            return Ok(());
        }
        let commands: Vec<String> = scenario
            .apps
            .iter()
            .filter_map(|app| match app {
                AppSpec::Process { app_id, process, .. } => Some(format!("{app_id}: `{}`", process.command.join(" "))),
                _ => None,
            })
            .collect();
        if commands.is_empty() {
            return Ok(());
        }
        let replaces = match self.origin {
            Origin::LocalName {
                replaces_built_in: true,
            } => " (it replaces the built-in scenario of that name)",
            _ => "",
        };
        Err(format!(
            "scenario `{name}` was found by name in {file}{replaces}, and it runs commands ({commands}); \
             commands run only from a scenario named by its path: check the file, then run \
             `resilience-tui scenario {file}`, or add --allow-commands",
            name = self.source.name(),
            file = path.display(),
            commands = commands.join(", "),
        ))
    }
}

/// Every scenario, by name, in teaching order, with the files in `./scenarios`.
pub fn list() -> Vec<Source> {
    let mut local: Vec<PathBuf> = match std::fs::read_dir(LOCAL_DIR) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    local.sort();
    // The built-in ones in their teaching order (see `builtin::BUILT_IN`), each replaced in place by a file
    // of the same name in `./scenarios`, then the other files there, by name.
    let mut found: Vec<Source> = builtin::BUILT_IN
        .iter()
        .map(
            |b| match local.iter().position(|p| Source::File(p.clone()).name() == b.name) {
                Some(i) => Source::File(local.remove(i)),
                None => Source::BuiltIn(b),
            },
        )
        .collect();
    found.extend(local.into_iter().map(Source::File));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::process::ProcessSpec;

    fn with_a_command() -> Scenario {
        let process = ProcessSpec {
            app_id: "order-processor".into(),
            dir: PathBuf::from("."),
            command: vec!["python3".into(), "app.py".into()],
            env: Vec::new(),
        };
        Scenario {
            name: "service-invoke".into(),
            title: String::new(),
            summary: String::new(),
            resources: super::super::ResourcesSource::Dir(PathBuf::from("resources")),
            apps: vec![AppSpec::Process {
                app_id: "order-processor".into(),
                dapr_http_port: 3501,
                app_port: Some(6001),
                process,
            }],
            faults: Vec::new(),
            file: PathBuf::from("./scenarios/service-invoke.yaml"),
        }
    }

    fn found(origin: Origin) -> Found {
        Found {
            source: Source::File(PathBuf::from("./scenarios/service-invoke.yaml")),
            origin,
        }
    }

    #[test]
    fn commands_run_from_a_path_or_when_allowed_never_from_a_name_alone() {
        let scenario = with_a_command();
        let by_name = found(Origin::LocalName {
            replaces_built_in: true,
        });
        let refused = by_name.check_commands(&scenario, false).unwrap_err();
        assert!(
            refused.contains("order-processor: `python3 app.py`") && refused.contains("--allow-commands"),
            "{refused}"
        );
        assert_eq!(by_name.check_commands(&scenario, true), Ok(()));
        assert_eq!(found(Origin::Path).check_commands(&scenario, false), Ok(()));
        let plain = Scenario {
            apps: Vec::new(),
            ..scenario
        };
        assert_eq!(
            by_name.check_commands(&plain, false),
            Ok(()),
            "no command, nothing to refuse"
        );
    }

    #[test]
    fn only_a_local_file_that_replaces_a_built_in_is_announced() {
        let said = found(Origin::LocalName {
            replaces_built_in: true,
        })
        .replacement()
        .unwrap();
        assert!(
            said.contains("./scenarios/service-invoke.yaml, which replaces the built-in"),
            "{said}"
        );
        assert_eq!(
            found(Origin::LocalName {
                replaces_built_in: false
            })
            .replacement(),
            None
        );
        assert_eq!(found(Origin::Path).replacement(), None);
    }
}
