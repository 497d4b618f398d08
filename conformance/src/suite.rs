//! The suite as loaded: the catalogue and the cases, from what the binary carries and from
//! directories given on the command line (a runtime author adds a case by adding a file).

use crate::case::{self, Case};
use crate::embedded;
use crate::requirements::{self, Catalogue};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Requirements(#[from] requirements::Error),
    #[error(transparent)]
    Case(#[from] case::Error),
}

/// The catalogue built into the binary.
pub fn embedded_catalogue() -> Result<Catalogue, requirements::Error> {
    Catalogue::from_texts(
        embedded::REQUIREMENTS
            .iter()
            .map(|(p, t)| (Path::new(*p), *t)),
    )
}

/// The cases built into the binary, as `(path, id, text)`.
pub fn embedded_case_sources() -> Vec<(PathBuf, String, String)> {
    embedded::CASES
        .iter()
        .map(|(p, t)| {
            let path = PathBuf::from(p);
            let id = path
                .strip_prefix("cases")
                .unwrap_or(&path)
                .with_extension("")
                .to_string_lossy()
                .into_owned();
            (path, id, t.to_string())
        })
        .collect()
}

pub struct Suite {
    pub catalogue: Catalogue,
    pub cases: Vec<Case>,
}

/// Loads the suite: the embedded cases plus those of `extra` (a runtime author's own cases,
/// which must not reuse an embedded case's id), against the embedded catalogue or the one in
/// `requirements`.
pub fn load(extra: Option<&Path>, requirements: Option<&Path>) -> Result<Suite, Error> {
    let mut sources = embedded_case_sources();
    if let Some(dir) = extra {
        for (path, id, text) in case::read_dir(dir)? {
            if sources.iter().any(|(_, known, _)| *known == id) {
                return Err(Error::Case(case::Error::Invalid {
                    path,
                    message: format!("case id {id:?} is one of the embedded cases: use another name (or --only-cases to replace them all)"),
                }));
            }
            sources.push((path, id, text));
        }
    }
    load_sources(sources, requirements)
}

/// Loads only the cases of `dir`, none of the embedded ones.
pub fn load_only(dir: &Path, requirements: Option<&Path>) -> Result<Suite, Error> {
    load_sources(case::read_dir(dir)?, requirements)
}

fn load_sources(
    sources: Vec<(PathBuf, String, String)>,
    requirements: Option<&Path>,
) -> Result<Suite, Error> {
    let catalogue = match requirements {
        Some(dir) => Catalogue::load_dir(dir)?,
        None => embedded_catalogue()?,
    };
    let cases = case::load_all(&sources, &catalogue)?;
    Ok(Suite { catalogue, cases })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_suite_loads_and_every_case_cites_known_requirements() {
        let suite = load(None, None).unwrap();
        assert!(suite.catalogue.requirements.len() > 300);
        assert!(!suite.cases.is_empty());
    }
}
