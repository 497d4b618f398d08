//! Whole screens of the TUI on recorded snapshots, drawn with ratatui's TestBackend and pinned
//! with insta: the views, the help, the filter, follow and the host toggle, driven by the same
//! key events a user sends.

#![allow(clippy::unwrap_used)] // tests may unwrap

use ocitop::collect::{Collector, Roots};
use ocitop::model::tree::Item;
use ocitop::ui::app::{App, Cmd, Dialog, Msg};
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
    screen_of(app, 150, 40)
}

fn screen_of(app: &mut App, width: u16, height: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| ocitop::ui::draw(f, app)).unwrap();
    t.backend().to_string()
}

/// Selects the tree row of `pid` as a click would.
fn select(a: &mut App, item: Item) {
    let i = a.tree_rows().iter().position(|r| r.item == item).unwrap();
    keys(a, "g");
    for _ in 0..i {
        keys(a, "j");
    }
    assert_eq!(a.selected_item, Some(item));
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

#[test]
fn engines_side_by_side() {
    let mut a = app("engines");
    insta::assert_snapshot!("engines_tree", screen(&mut a));
    keys(&mut a, "2");
    let ns = screen(&mut a);
    assert!(ns.contains("pod ocitop-shop"), "lsns names the pod:\n{ns}");
    insta::assert_snapshot!("engines_namespaces", ns);
}

#[test]
fn an_exec_session_names_its_container() {
    let mut a = app("engines");
    select(&mut a, Item::Process(8707));
    let s = screen(&mut a);
    assert!(s.contains("exec session of container ocitop-web"), "{s}");
    select(&mut a, Item::Process(22391));
    assert!(screen(&mut a).contains("exec session in container ocitop-dk-web"));
}

#[test]
fn a_narrow_terminal_still_reads() {
    let mut a = app("engines");
    let s = screen_of(&mut a, 60, 15);
    // Every pid on screen whole, at the start of its row.
    let rows = a.tree_rows();
    let (off, height) = (a.offset[0], usize::from(a.list_area.height));
    for r in rows.iter().skip(off).take(height) {
        if let Item::Process(pid) = r.item {
            assert!(s.contains(&format!("│{pid} ")), "pid {pid} cut:\n{s}");
        }
    }
    insta::assert_snapshot!("narrow_tree", s);
    keys(&mut a, "G");
    let s = screen_of(&mut a, 60, 15);
    assert!(s.contains("│13099 "), "{s}");
    // The help scrolls: the last key shows only after scrolling.
    keys(&mut a, "?");
    let top = screen_of(&mut a, 60, 15);
    assert!(top.contains("move up") && !top.contains("quit"), "{top}");
    insta::assert_snapshot!("narrow_help", top);
    keys(&mut a, "G");
    let bottom = screen_of(&mut a, 60, 15);
    assert!(
        bottom.contains("quit") && !bottom.contains("move up"),
        "{bottom}"
    );
    assert!(a.help, "scrolling keeps the help open");
    keys(&mut a, "\x1b");
    assert!(!a.help);
    // The cgroup bars stay in their columns.
    keys(&mut a, "3j");
    let cg = screen_of(&mut a, 60, 15);
    assert!(cg.lines().all(|l| l.chars().count() <= 62));
    insta::assert_snapshot!("narrow_cgroups", cg);
    // With limits, bars: each inside its column (the pod's cgroup: memory 2.2G of 2.5G).
    let mut k = app("kata-vm");
    keys(&mut k, "3G");
    let cg = screen_of(&mut k, 60, 15);
    let row = cg
        .lines()
        .find(|l| l.contains("pod9d8c"))
        .unwrap_or_else(|| panic!("{cg}"));
    let header = cg.lines().find(|l| l.contains("PROCS")).unwrap();
    let col = |l: &str, what: &str| l.find(what).unwrap();
    assert!(
        col(row, "2.2G") < col(header, "PIDS"),
        "memory in its column:\n{cg}"
    );
    assert!(col(row, "19/max") >= col(header, "PIDS"), "{cg}");
    insta::assert_snapshot!("narrow_cgroup_bars", cg);
}

#[test]
fn enter_folds_and_a_folded_row_is_marked() {
    let mut a = app("engines");
    select(&mut a, Item::Pod(0));
    let before = a.row_count();
    keys(&mut a, "\n");
    assert!(a.row_count() < before);
    let s = screen_of(&mut a, 60, 15);
    assert!(s.contains("[+] pod ocitop-shop"), "{s}");
    keys(&mut a, "\n");
    assert_eq!(a.row_count(), before);
    // A process row too.
    select(&mut a, Item::Process(12285));
    keys(&mut a, "\n");
    assert!(screen(&mut a).contains("[+] /bin/sh -c sleep 100001"));
}

#[test]
fn sort_by_memory_start_time_and_back() {
    let mut a = app("engines");
    let s = a.snapshot.clone().unwrap();
    let siblings = |a: &App, parent: u32| -> Vec<u32> {
        a.tree_rows()
            .iter()
            .filter_map(|r| match r.item {
                Item::Process(p) if s.process(p).unwrap().ppid == parent => Some(p),
                _ => None,
            })
            .collect()
    };
    let rss = |p: &u32| s.process(*p).unwrap().rss_kib.unwrap();
    let start = |p: &u32| s.process(*p).unwrap().start_ticks;
    keys(&mut a, "M");
    let by_mem = siblings(&a, 5332);
    assert_eq!(by_mem.len(), 4);
    assert!(
        by_mem.windows(2).all(|w| rss(&w[0]) >= rss(&w[1])),
        "{by_mem:?}"
    );
    assert!(screen(&mut a).contains("by memory"));
    keys(&mut a, "A");
    let by_start = siblings(&a, 5332);
    assert!(
        by_start.windows(2).all(|w| start(&w[0]) <= start(&w[1])),
        "{by_start:?}"
    );
    keys(&mut a, "I");
    let reversed = siblings(&a, 5332);
    assert_eq!(reversed, by_start.iter().rev().copied().collect::<Vec<_>>());
    keys(&mut a, "N");
    assert_eq!(siblings(&a, 5332), [5352, 12285, 12940, 12968]);
}

#[test]
fn signals_ask_first_naming_what_they_go_to() {
    let mut a = app("engines");
    select(&mut a, Item::Process(12968));
    keys(&mut a, "x");
    let Some(Dialog::PickSignal { target, .. }) = &a.dialog else {
        panic!("no dialog: {:?}", a.dialog);
    };
    assert_eq!(
        target.label,
        "process 12968 (/bin/sleep 100021) in container nginx"
    );
    insta::assert_snapshot!("signal_pick", screen(&mut a));
    keys(&mut a, "j\n");
    let s = screen(&mut a);
    assert!(
        s.contains("Send SIGKILL to process 12968 (/bin/sleep 100021)"),
        "{s}"
    );
    let start = a
        .snapshot
        .as_ref()
        .unwrap()
        .process(12968)
        .unwrap()
        .start_ticks;
    assert_eq!(
        keys(&mut a, "y"),
        Some(Cmd::Signal {
            pid: 12968,
            start_ticks: start,
            signal: 9
        })
    );
    assert!(a.dialog.is_none());
    // Any other key backs out.
    keys(&mut a, "x\nn");
    assert!(a.dialog.is_none());
    assert_eq!(a.notice.as_deref(), Some("nothing sent"));
    // A container: its init, with the pid namespace's rule for TERM.
    select(&mut a, Item::Process(12311));
    keys(&mut a, "X\n");
    let s = screen(&mut a);
    assert!(
        s.contains("Send SIGTERM to container nginx (runc k8s.io/nginx, init 12285"),
        "{s}"
    );
    assert!(s.contains("pid_namespaces(7)"), "{s}");
    insta::assert_snapshot!("signal_confirm_container", s);
    keys(&mut a, "\x1b");
    // No host process to signal: a container in a VM.
    let mut k = app("kata-vm");
    let api = k
        .tree_rows()
        .into_iter()
        .find(|r| matches!(r.item, Item::Container(_)))
        .unwrap();
    select(&mut k, api.item);
    keys(&mut k, "X");
    assert!(k.dialog.is_none());
    assert!(k
        .notice
        .as_deref()
        .unwrap()
        .contains("no process on this host"));
}

#[test]
fn a_kata_vm_sandbox() {
    let mut a = app("kata-vm");
    insta::assert_snapshot!("kata_vm", screen(&mut a));
}
