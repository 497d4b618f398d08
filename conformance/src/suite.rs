//! The suite as loaded: the catalogue and the cases, from what the binary carries or from
//! directories given on the command line (a user adds a case by adding a file).

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

/// Loads the suite; directories given replace what the binary carries.
pub fn load(cases: Option<&Path>, requirements: Option<&Path>) -> Result<Suite, Error> {
    let catalogue = match requirements {
        Some(dir) => Catalogue::load_dir(dir)?,
        None => embedded_catalogue()?,
    };
    let sources = match cases {
        Some(dir) => case::read_dir(dir)?,
        None => embedded_case_sources(),
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
