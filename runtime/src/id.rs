//! Container ids: what runc accepts (`^[\w+.-]+$`, not `.` or `..`), so that an id is always a
//! safe single path component under the state root (runtime.md "Create": an id that is not
//! valid MUST generate an error).

/// The longest id: it is a file name (the state directory, the cgroup), NAME_MAX bytes.
pub const MAX_LEN: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum InvalidId {
    #[error(
        "invalid container id {0:?}: use letters, digits, '_', '+', '-' and '.' (not '.' or '..')"
    )]
    Chars(String),
    #[error("invalid container id: {0} characters long, at most {MAX_LEN} (it names the state directory)")]
    TooLong(usize),
}

/// Checks an id before it is used as a directory name.
pub fn validate(id: &str) -> Result<(), InvalidId> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.');
    if id.is_empty() || id == "." || id == ".." || !id.chars().all(ok_char) {
        return Err(InvalidId::Chars(id.to_string()));
    }
    if id.len() > MAX_LEN {
        return Err(InvalidId::TooLong(id.len()));
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
    fn rejects_ids_too_long_for_a_file_name() {
        assert!(validate(&"a".repeat(255)).is_ok());
        let e = validate(&"a".repeat(1024)).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid container id: 1024 characters long, at most 255 (it names the state directory)"
        );
    }

    #[test]
    fn rejects_paths_and_empty() {
        for id in ["", ".", "..", "a/b", "/a", "a b", "é", "a\0"] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
