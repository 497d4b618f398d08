//! runtime.md "Query State": the state of one container as JSON.

use super::Error;
use crate::state::Container;
use std::path::Path;

/// The state JSON (runtime.md "State"), indented as runc prints it.
pub fn state(root: &Path, id: &str) -> Result<String, Error> {
    crate::id::validate(id)?;
    let container = Container::load(root, id)?;
    serde_json::to_string_pretty(&container.public(container.status()))
        .map_err(|e| Error::Failed(e.to_string()))
}
