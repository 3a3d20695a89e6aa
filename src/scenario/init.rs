//! `resilience-tui init`: writes built-in scenarios and their Dapr resources into a folder a learner can edit
//! and run (`resilience-tui scenario DIR/service-invoke.yaml`).

use std::path::{Path, PathBuf};

use super::builtin::{self, BuiltIn};

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("no built-in scenario `{0}`; the built-in scenarios are: {1}")]
    Unknown(String, String),
    #[error("{} already exists; edit it, remove it, or pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// The files `init` writes for these scenarios (all when `name` is `None`), relative to the folder.
pub fn files(name: Option<&str>) -> Result<Vec<(PathBuf, String)>, InitError> {
    let chosen: Vec<&BuiltIn> = match name {
        None => builtin::BUILT_IN.iter().collect(),
        Some(n) => vec![builtin::get(n).ok_or_else(|| {
            let names: Vec<&str> = builtin::BUILT_IN.iter().map(|b| b.name).collect();
            InitError::Unknown(n.to_string(), names.join(", "))
        })?],
    };
    let mut out = Vec::new();
    for b in chosen {
        // The scenario file sits next to its `resources/` folder here, not in `scenarios/`.
        let field = |dir: &str| format!("resources: {dir}\n");
        let local = format!("resources/{}", b.resources_dir);
        let scenario = b.scenario.replacen(&field(&b.resources_field()), &field(&local), 1);
        out.push((PathBuf::from(format!("{}.yaml", b.name)), scenario));
        for (file, text) in b.resources {
            out.push((Path::new(&local).join(file), text.to_string()));
        }
    }
    Ok(out)
}

/// Writes the files under `dir`; refuses to overwrite any unless `force`. Returns the paths written.
pub fn write(name: Option<&str>, dir: &Path, force: bool) -> Result<Vec<PathBuf>, InitError> {
    let files = files(name)?;
    if !force && let Some((path, _)) = files.iter().find(|(p, _)| dir.join(p).exists()) {
        return Err(InitError::Exists(dir.join(path)));
    }
    let mut written = Vec::new();
    for (path, text) in files {
        let path = dir.join(path);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| InitError::Write {
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_scenario_loads_with_its_written_resources() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(Some("state-management"), dir.path(), false).unwrap();
        assert_eq!(written.len(), 3, "{written:?}");
        let scenario = super::super::load(&dir.path().join("state-management.yaml")).unwrap();
        let resources = scenario.resources.load().unwrap();
        assert!(!resources.has_errors(), "{}", resources.render_diagnostics());
        assert_eq!(scenario.resources.path(), dir.path().join("resources/state-management"));
        assert_eq!(resources.components.len(), 1);
        let again = write(Some("state-management"), dir.path(), false).unwrap_err();
        assert!(again.to_string().contains("--force"), "{again}");
        assert!(
            write(None, dir.path(), true).unwrap().len() > 3,
            "force overwrites, all writes every one"
        );
        assert!(matches!(
            write(Some("nope"), dir.path(), false),
            Err(InitError::Unknown(..))
        ));
    }
}
