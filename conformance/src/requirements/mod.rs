//! The requirements catalogue: every normative sentence of the runtime spec, with a stable id.
//!
//! The catalogue is data (`conformance/requirements/<spec-file>.toml`), made from the spec text
//! by [`extract`] and merged with the previous catalogue by [`merge`] so that hand-edited
//! summaries survive a regeneration.
//!
//! Ids are `<file>/<section>/<hash>`: the spec file's stem, the section's anchor in kebab case,
//! and six hex digits of a hash of the normalized sentence. They are a pure function of the spec
//! text, so anyone regenerating from the same spec gets the same ids, and a sentence that the
//! spec rewords gets a new id, which flags every case citing the old one for review.

pub mod extract;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The spec files the catalogue covers, in the order reports list them.
pub const SPEC_FILES: [&str; 6] = [
    "runtime.md",
    "runtime-linux.md",
    "config.md",
    "config-linux.md",
    "features.md",
    "features-linux.md",
];

/// RFC 2119 keyword of a requirement, as the spec wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Keyword {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "MUST NOT")]
    MustNot,
    #[serde(rename = "REQUIRED")]
    Required,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    #[serde(rename = "RECOMMENDED")]
    Recommended,
    #[serde(rename = "NOT RECOMMENDED")]
    NotRecommended,
}

/// The two levels a runtime author gates on: absolute (MUST family) or advisory (SHOULD family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Must,
    Should,
}

impl Keyword {
    pub fn level(self) -> Level {
        match self {
            Keyword::Must | Keyword::MustNot | Keyword::Required => Level::Must,
            _ => Level::Should,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Must => "MUST",
            Keyword::MustNot => "MUST NOT",
            Keyword::Required => "REQUIRED",
            Keyword::Should => "SHOULD",
            Keyword::ShouldNot => "SHOULD NOT",
            Keyword::Recommended => "RECOMMENDED",
            Keyword::NotRecommended => "NOT RECOMMENDED",
        }
    }

    pub const ALL: [Keyword; 7] = [
        Keyword::Must,
        Keyword::MustNot,
        Keyword::Required,
        Keyword::Should,
        Keyword::ShouldNot,
        Keyword::Recommended,
        Keyword::NotRecommended,
    ];
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "must" => Ok(Level::Must),
            "should" => Ok(Level::Should),
            other => Err(format!("unknown level {other:?} (must or should)")),
        }
    }
}

/// One normative sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    pub id: String,
    /// Spec file, e.g. `config-linux.md`.
    pub file: String,
    /// Section title as written in the spec.
    pub section: String,
    /// HTML anchor of the section: `file#anchor` links to it.
    pub anchor: String,
    pub keyword: Keyword,
    /// The platform the sentence is about; only `linux` ones count for coverage.
    pub platform: String,
    /// One line in our words; hand edits are kept when `edited` is true.
    pub summary: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    /// The sentence, markdown stripped and whitespace collapsed (what the hash is over).
    pub text: String,
}

impl Requirement {
    pub fn level(&self) -> Level {
        self.keyword.level()
    }

    /// `config-linux.md#configLinuxNamespaces`: where a reader finds the sentence.
    pub fn reference(&self) -> String {
        format!("{}#{}", self.file, self.anchor)
    }

    pub fn applies_to_linux(&self) -> bool {
        self.platform == "linux"
    }
}

/// One catalogue file: the requirements of one spec file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CatalogueFile {
    /// Spec file the requirements were read from.
    pub source: String,
    #[serde(default, rename = "requirement")]
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: duplicate requirement id {id}")]
    Duplicate { path: PathBuf, id: String },
}

/// All requirements, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub requirements: BTreeMap<String, Requirement>,
}

impl Catalogue {
    /// Loads catalogue files given as `(path, text)`; the path is for error messages.
    pub fn from_texts<'a>(
        files: impl IntoIterator<Item = (&'a Path, &'a str)>,
    ) -> Result<Self, Error> {
        let mut requirements = BTreeMap::new();
        for (path, text) in files {
            let file: CatalogueFile = toml::from_str(text).map_err(|e| Error::Parse {
                path: path.to_owned(),
                line: crate::case::line_of(text, e.span()),
                message: e.message().to_owned(),
            })?;
            for r in file.requirements {
                if requirements.contains_key(&r.id) {
                    return Err(Error::Duplicate {
                        path: path.to_owned(),
                        id: r.id,
                    });
                }
                requirements.insert(r.id.clone(), r);
            }
        }
        Ok(Catalogue { requirements })
    }

    /// Loads every `*.toml` of a directory.
    pub fn load_dir(dir: &Path) -> Result<Self, Error> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| Error::Read {
                path: dir.to_owned(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let texts = paths
            .iter()
            .map(|p| Ok((p.clone(), read(p)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        Self::from_texts(texts.iter().map(|(p, t)| (p.as_path(), t.as_str())))
    }

    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.requirements.get(id)
    }

    /// Requirements that a Linux runtime is judged on.
    pub fn linux(&self) -> impl Iterator<Item = &Requirement> {
        self.requirements.values().filter(|r| r.applies_to_linux())
    }
}

/// What a regeneration changed, for the xtask's summary.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    pub added: Vec<String>,
    pub retired: Vec<String>,
    pub kept_edits: usize,
}

/// Merges freshly extracted requirements with the previous catalogue file: ids that still exist
/// keep a hand-edited summary (and `edited`); ids that vanished are reported as retired.
pub fn merge(previous: &CatalogueFile, fresh: CatalogueFile) -> (CatalogueFile, MergeOutcome) {
    let old: BTreeMap<&str, &Requirement> = previous
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut outcome = MergeOutcome::default();
    let mut out = fresh;
    for r in &mut out.requirements {
        match old.get(r.id.as_str()) {
            Some(prev) if prev.edited => {
                r.summary = prev.summary.clone();
                r.edited = true;
                outcome.kept_edits += 1;
            }
            Some(_) => {}
            None => outcome.added.push(r.id.clone()),
        }
    }
    let new_ids: std::collections::BTreeSet<&str> =
        out.requirements.iter().map(|r| r.id.as_str()).collect();
    outcome.retired = previous
        .requirements
        .iter()
        .filter(|r| !new_ids.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect();
    (out, outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(id: &str, summary: &str, edited: bool) -> Requirement {
        Requirement {
            id: id.into(),
            file: "runtime.md".into(),
            section: "Start".into(),
            anchor: "runtimeStart".into(),
            keyword: Keyword::Must,
            platform: "linux".into(),
            summary: summary.into(),
            edited,
            text: "x".into(),
        }
    }

    #[test]
    fn merge_keeps_hand_edits_and_reports_added_and_retired() {
        let previous = CatalogueFile {
            source: "runtime.md".into(),
            requirements: vec![
                req("runtime/start/aaaaaa", "mine", true),
                req("runtime/start/bbbbbb", "generated", false),
                req("runtime/start/cccccc", "gone", true),
            ],
        };
        let fresh = CatalogueFile {
            source: "runtime.md".into(),
            requirements: vec![
                req("runtime/start/aaaaaa", "new text", false),
                req("runtime/start/bbbbbb", "new generated", false),
                req("runtime/start/dddddd", "added", false),
            ],
        };
        let (out, outcome) = merge(&previous, fresh);
        assert_eq!(out.requirements[0].summary, "mine");
        assert!(out.requirements[0].edited);
        assert_eq!(out.requirements[1].summary, "new generated");
        assert_eq!(outcome.added, vec!["runtime/start/dddddd".to_string()]);
        assert_eq!(outcome.retired, vec!["runtime/start/cccccc".to_string()]);
        assert_eq!(outcome.kept_edits, 1);
    }

    #[test]
    fn catalogue_round_trips_through_toml_and_rejects_duplicates() {
        let file = CatalogueFile {
            source: "runtime.md".into(),
            requirements: vec![req("runtime/start/aaaaaa", "s", false)],
        };
        let text = toml::to_string(&file).unwrap();
        let cat = Catalogue::from_texts([(Path::new("a.toml"), text.as_str())]).unwrap();
        assert_eq!(cat.requirements.len(), 1);
        let err = Catalogue::from_texts([
            (Path::new("a.toml"), text.as_str()),
            (Path::new("b.toml"), text.as_str()),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("duplicate requirement id"));
    }
}
