//! Container ids: what runc accepts (`^[\w+.-]+$`, not `.` or `..`), so that an id is always a
//! safe single path component under the state root (runtime.md "Create": an id that is not
//! valid MUST generate an error).

#[derive(Debug, thiserror::Error)]
#[error("invalid container id {0:?}: use letters, digits, '_', '+', '-' and '.' (not '.' or '..')")]
pub struct InvalidId(pub String);

/// Checks an id before it is used as a directory name.
pub fn validate(id: &str) -> Result<(), InvalidId> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if id.is_empty() || id == "." || id == ".." || !id.chars().all(ok_char) {
        return Err(InvalidId(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::validate;

    #[test]
    fn accepts_runc_charset() {
        for id in ["a", "abc-1.2_x+y", "A9", "..a", "a..b"] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_paths_and_empty() {
        for id in ["", ".", "..", "a/b", "/a", "a b", "é", "a\0"] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
