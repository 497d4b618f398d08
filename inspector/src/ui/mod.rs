//! The live TUI.
pub fn run(_roots: crate::collect::Roots, _interval: std::time::Duration) -> std::io::Result<()> {
    Ok(())
}
