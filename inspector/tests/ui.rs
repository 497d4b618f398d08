//! Whole screens of the TUI on recorded snapshots, drawn with ratatui's TestBackend and pinned
//! with insta: the views, the help, the filter, follow and the host toggle, driven by the same
//! key events a user sends.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::{Collector, Roots};
use ocitop::ui::app::{App, Cmd, Msg};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;
use std::path::PathBuf;
use std::time::Duration;

/// The time the screens are drawn at, seconds since the epoch.
const NOW: u64 = 1_796_300_000;

fn app(scenario: &str) -> App {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/recorded")
        .join(scenario);
    let mut s = Collector::new(Roots {
        proc: dir.join("proc"),
        cgroup: dir.join("cgroup"),
        state: dir.join("state"),
    })
    .snapshot()
    .unwrap();
    for c in &mut s.containers {
        if let Some(d) = &c.state_dir {
            c.state_dir = Some(d[d.find("/state/").unwrap_or(0)..].to_string());
        }
    }
    // A fixed "now" (a few days after these trees were recorded), so that ages are too.
    s.host.taken_at = NOW;
    let mut app = App::new(Duration::from_secs(1));
    app.update(Msg::Snapshot(Ok(Box::new(s)), Duration::from_millis(3)));
    app
}

fn keys(app: &mut App, keys: &str) -> Option<Cmd> {
    let mut last = None;
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\t' => KeyCode::Tab,
            c => KeyCode::Char(c),
        };
        last = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    last
}

fn screen(app: &mut App) -> String {
    let mut t = Terminal::new(TestBackend::new(150, 40)).unwrap();
    t.draw(|f| ocitop::ui::draw(f, app)).unwrap();
    t.backend().to_string()
}

#[test]
fn tree_view_with_shims_and_detail() {
    let mut a = app("containerd-podman");
    keys(&mut a, "jj");
    insta::assert_snapshot!("tree", screen(&mut a));
}

#[test]
fn help_comes_from_the_key_table() {
    let mut a = app("containerd-podman");
    keys(&mut a, "?");
    let s = screen(&mut a);
    for b in ocitop::ui::keymap::KEYS {
        assert!(s.contains(b.help), "help lacks {:?}", b.help);
    }
    insta::assert_snapshot!("help", s);
    keys(&mut a, "x");
    assert!(!a.help, "any key closes the help");
}

#[test]
fn filter_keeps_matches_and_ancestors() {
    let mut a = app("containerd-podman");
    keys(&mut a, "/1001\n");
    insta::assert_snapshot!("filter", screen(&mut a));
    keys(&mut a, "\x1b");
    assert!(a.filter.is_empty());
}

#[test]
fn namespaces_view() {
    let mut a = app("containerd-podman");
    keys(&mut a, "2");
    insta::assert_snapshot!("namespaces", screen(&mut a));
}

#[test]
fn cgroups_view() {
    let mut a = app("containerd-podman");
    keys(&mut a, "3G");
    insta::assert_snapshot!("cgroups", screen(&mut a));
}

#[test]
fn follow_a_container_and_show_the_host() {
    let mut a = app("containerd-podman");
    keys(&mut a, "jjjjf");
    assert_eq!(a.tree_opts.follow.as_deref(), Some("ctr-db"));
    insta::assert_snapshot!("follow", screen(&mut a));
    keys(&mut a, "fa");
    assert!(a.tree_opts.follow.is_none());
    assert!(a.tree_opts.show_host);
}

#[test]
fn nested_namespaces_and_stale_containers() {
    let mut a = app("nested-ns");
    keys(&mut a, "aG");
    insta::assert_snapshot!("nested_stale", screen(&mut a));
    keys(&mut a, "g");
    keys(&mut a, "jjjj");
    insta::assert_snapshot!("nested_entered", screen(&mut a));
}

#[test]
fn fold_pause_quit_and_mouse() {
    let mut a = app("containerd-podman");
    screen(&mut a);
    // Click the sixth list row (tabs line, border, header, then rows): ctr-db's shim.
    a.update(Msg::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 3 + 5,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(a.selected[0], 5);
    keys(&mut a, "k");
    assert_eq!(
        a.selected_item,
        Some(ocitop::model::tree::Item::Process(17606))
    );
    let before = a.row_count();
    keys(&mut a, "h");
    assert!(a.row_count() < before, "h folds the selected subtree");
    keys(&mut a, "l");
    assert_eq!(a.row_count(), before);
    assert_eq!(keys(&mut a, "p"), Some(Cmd::SetPaused(true)));
    assert!(screen(&mut a).contains("PAUSED"));
    assert_eq!(keys(&mut a, "q"), Some(Cmd::Quit));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(a.update(Msg::Key(ctrl_c)), Some(Cmd::Quit));
    // SIGTERM (15) and SIGHUP (1) end the view like quit, keeping the signal to die of.
    assert_eq!(a.update(Msg::Signal(15)), Some(Cmd::Terminate(15)));
    assert_eq!(a.update(Msg::Signal(1)), Some(Cmd::Terminate(1)));
}
