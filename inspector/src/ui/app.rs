//! The UI state and `update(msg)`: what is selected, which view, the filter, pause, follow,
//! folds, the sort, the help's scroll, and the signal dialog. Apart from the data:
//! snapshots arrive as messages and are only read here; a signal is sent by the caller
//! ([`Cmd::Signal`]) and its outcome comes back as [`Msg::Notice`].

use super::keymap::{self, Action};
use crate::collect::signal::{self, SIGNALS};
use crate::format;
use crate::model::cgtree;
use crate::model::tree::{self, Item, Key, Row, SortBy, TreeOptions};
use crate::model::{NsKind, Snapshot};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use std::time::{Duration, Instant};

/// The views, one tab each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Tree,
    Namespaces,
    Cgroups,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Tree, Tab::Namespaces, Tab::Cgroups];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Tree => "1 Tree",
            Tab::Namespaces => "2 Namespaces",
            Tab::Cgroups => "3 Cgroups",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|&t| t == self).unwrap_or(0)
    }
}

/// What reaches `update`.
#[derive(Debug)]
pub enum Msg {
    /// A new snapshot (or why none could be taken) and how long collecting took.
    Snapshot(Result<Box<Snapshot>, String>, Duration),
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// SIGTERM, SIGHUP, SIGINT or SIGQUIT arrived (signal(7)): end as on quit, so the terminal
    /// is restored, then die of that signal.
    Signal(i32),
    /// A line for the footer: what became of a signal sent.
    Notice(String),
}

/// What `update` asks the outside world to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Quit,
    /// End because of this signal: restore the terminal, then die of it.
    Terminate(i32),
    /// Stop or restart the collector.
    SetPaused(bool),
    /// Have the collector read every process on each refresh (the host's are shown), or
    /// only the containers' and shims'.
    WatchAll(bool),
    /// Send `signal` to `pid` if it is still the process that started at `start_ticks`
    /// (`collect::signal::send`), confirmed by the user.
    Signal {
        pid: u32,
        start_ticks: u64,
        signal: i32,
    },
}

/// Who a signal is for: a process, as the snapshot showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pid: u32,
    pub start_ticks: u64,
    /// What the dialogs call it: "process 1234 (sleep 100)", "container web (...)".
    pub label: String,
    /// A pid namespace's init: it only gets signals it handles, but KILL and STOP
    /// (pid_namespaces(7)).
    pub ns_init: bool,
}

/// A dialog over the view; it takes the keys while open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// Which signal to send (an index into `collect::signal::SIGNALS`).
    PickSignal { target: Target, selected: usize },
    /// The last word, naming the target.
    Confirm { target: Target, signal: i32 },
}

/// One namespace row of the namespaces view: (kind, inode).
pub type NsKey = (NsKind, u64);

/// The whole UI state.
pub struct App {
    pub snapshot: Option<Snapshot>,
    /// The snapshot before, for CPU rates, and when each arrived.
    pub previous: Option<(Snapshot, Instant)>,
    pub received: Option<Instant>,
    pub collect_time: Duration,
    pub error: Option<String>,
    pub tab: Tab,
    pub tree_opts: TreeOptions,
    pub show_empty_cgroups: bool,
    /// The filter text (also while it is being typed).
    pub filter: String,
    pub editing_filter: bool,
    pub help: bool,
    /// The first line of the help shown (it scrolls when the screen is short).
    pub help_offset: usize,
    pub dialog: Option<Dialog>,
    /// The outcome of the last signal, until the next key.
    pub notice: Option<String>,
    pub paused: bool,
    pub interval: Duration,
    /// Selected row per tab, and the first row shown.
    pub selected: [usize; 3],
    pub offset: [usize; 3],
    /// The selected row of the tree, and what it is across refreshes.
    pub selected_item: Option<Item>,
    pub selected_key: Option<Key>,
    pub selected_cgroup: Option<String>,
    pub selected_ns: Option<NsKey>,
    /// Where the list of the current view was drawn (for mouse clicks), set by the views.
    pub list_area: Rect,
}

impl App {
    pub fn new(interval: Duration) -> Self {
        App {
            snapshot: None,
            previous: None,
            received: None,
            collect_time: Duration::ZERO,
            error: None,
            tab: Tab::Tree,
            tree_opts: TreeOptions::default(),
            show_empty_cgroups: false,
            filter: String::new(),
            editing_filter: false,
            help: false,
            help_offset: 0,
            dialog: None,
            notice: None,
            paused: false,
            interval,
            selected: [0; 3],
            offset: [0; 3],
            selected_item: None,
            selected_key: None,
            selected_cgroup: None,
            selected_ns: None,
            list_area: Rect::default(),
        }
    }

    /// Handles one message.
    pub fn update(&mut self, msg: Msg) -> Option<Cmd> {
        match msg {
            Msg::Snapshot(Ok(s), took) => {
                let now = Instant::now();
                if let (Some(old), Some(at)) = (self.snapshot.take(), self.received) {
                    self.previous = Some((old, at));
                }
                self.snapshot = Some(*s);
                self.received = Some(now);
                self.collect_time = took;
                self.error = None;
                self.reselect();
                None
            }
            Msg::Snapshot(Err(e), _) => {
                self.error = Some(e);
                None
            }
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Msg::Key(_) | Msg::Resize => None,
            Msg::Mouse(m) => {
                self.on_mouse(m);
                None
            }
            Msg::Signal(signal) => Some(Cmd::Terminate(signal)),
            Msg::Notice(text) => {
                self.notice = Some(text);
                None
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Cmd> {
        if self.editing_filter {
            match key.code {
                KeyCode::Enter => self.editing_filter = false,
                KeyCode::Esc => {
                    self.editing_filter = false;
                    self.set_filter(String::new());
                }
                KeyCode::Backspace => {
                    let mut f = self.filter.clone();
                    f.pop();
                    self.set_filter(f);
                }
                KeyCode::Char(c) => {
                    let f = format!("{}{c}", self.filter);
                    self.set_filter(f);
                }
                _ => {}
            }
            return None;
        }
        self.notice = None;
        if self.dialog.is_some() {
            return self.on_dialog_key(key);
        }
        let action = keymap::action_for(&key);
        if self.help && action != Some(Action::Quit) {
            // The moves scroll the help; any other key closes it.
            let page = usize::from(self.list_area.height.max(2)) - 1;
            match action {
                Some(Action::Down) => self.help_offset += 1,
                Some(Action::Up) => self.help_offset = self.help_offset.saturating_sub(1),
                Some(Action::PageDown) => self.help_offset += page,
                Some(Action::PageUp) => self.help_offset = self.help_offset.saturating_sub(page),
                Some(Action::Top) => self.help_offset = 0,
                Some(Action::Bottom) => self.help_offset = keymap::KEYS.len(),
                _ => self.help = false,
            }
            self.help_offset = self.help_offset.min(keymap::KEYS.len().saturating_sub(1));
            return None;
        }
        self.act(action?)
    }

    /// Keys while a dialog is open: pick a signal (moves, Enter), then y to send it; Esc,
    /// q or any other key backs out.
    fn on_dialog_key(&mut self, key: KeyEvent) -> Option<Cmd> {
        let action = keymap::action_for(&key);
        match self.dialog.take()? {
            Dialog::PickSignal { target, selected } => {
                let selected = match action {
                    Some(Action::Down) => (selected + 1).min(SIGNALS.len() - 1),
                    Some(Action::Up) => selected.saturating_sub(1),
                    _ if key.code == KeyCode::Enter => {
                        let signal = SIGNALS[selected].1;
                        self.dialog = Some(Dialog::Confirm { target, signal });
                        return None;
                    }
                    _ => return None,
                };
                self.dialog = Some(Dialog::PickSignal { target, selected });
                None
            }
            Dialog::Confirm { target, signal } => {
                if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                    self.notice = Some(format!(
                        "sending SIG{} to {}",
                        signal::name(signal),
                        target.label
                    ));
                    return Some(Cmd::Signal {
                        pid: target.pid,
                        start_ticks: target.start_ticks,
                        signal,
                    });
                }
                self.notice = Some("nothing sent".into());
                None
            }
        }
    }

    /// Performs one action of the key table.
    pub fn act(&mut self, action: Action) -> Option<Cmd> {
        let page = usize::from(self.list_area.height.saturating_sub(1)).max(1);
        match action {
            Action::Quit => return Some(Cmd::Quit),
            Action::Help => {
                self.help = !self.help;
                self.help_offset = 0;
            }
            Action::Filter => self.editing_filter = true,
            Action::Escape => {
                self.help = false;
                if self.tree_opts.follow.is_some() {
                    self.tree_opts.follow = None;
                } else {
                    self.set_filter(String::new());
                }
            }
            Action::Pause => {
                self.paused = !self.paused;
                return Some(Cmd::SetPaused(self.paused));
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(page as isize)),
            Action::PageDown => self.move_by(page as isize),
            Action::Top => self.move_to(0),
            Action::Bottom => self.move_to(usize::MAX),
            Action::Collapse => self.collapse(),
            Action::Expand => self.set_folded(false),
            Action::ToggleFold => {
                let folded = self.selected_row().is_some_and(|r| r.folded);
                self.set_folded(!folded);
            }
            Action::SortCpu => self.sort_by(SortBy::Cpu),
            Action::SortMemory => self.sort_by(SortBy::Memory),
            Action::SortPid => self.sort_by(SortBy::Pid),
            Action::SortStart => self.sort_by(SortBy::Start),
            Action::InvertSort => self.tree_opts.reverse = !self.tree_opts.reverse,
            Action::Signal => self.ask_signal(false),
            Action::SignalContainer => self.ask_signal(true),
            Action::NextTab => self.tab = Tab::ALL[(self.tab.index() + 1) % 3],
            Action::PrevTab => self.tab = Tab::ALL[(self.tab.index() + 2) % 3],
            Action::TabTree => self.tab = Tab::Tree,
            Action::TabNamespaces => self.tab = Tab::Namespaces,
            Action::TabCgroups => self.tab = Tab::Cgroups,
            Action::ToggleHost => {
                self.tree_opts.show_host = !self.tree_opts.show_host;
                self.reselect();
                return Some(Cmd::WatchAll(self.tree_opts.show_host));
            }
            Action::ToggleEmpty => self.show_empty_cgroups = !self.show_empty_cgroups,
            Action::Follow => self.follow(),
        }
        self.reselect();
        None
    }

    fn on_mouse(&mut self, m: MouseEvent) {
        match m.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(_) => {
                let a = self.list_area;
                if m.column >= a.x
                    && m.column < a.x + a.width
                    && m.row >= a.y
                    && m.row < a.y + a.height
                {
                    let i = self.offset[self.tab.index()] + usize::from(m.row - a.y);
                    self.move_to(i);
                }
            }
            _ => {}
        }
    }

    fn set_filter(&mut self, f: String) {
        self.filter = f;
        self.tree_opts.filter = (!self.filter.is_empty()).then(|| self.filter.clone());
        self.reselect();
    }

    fn sort_by(&mut self, by: SortBy) {
        self.tree_opts.sort = by;
        self.tree_opts.reverse = false;
    }

    /// Opens the signal dialog for the selected process, or (`container`) for the init of
    /// the selected row's container.
    fn ask_signal(&mut self, container: bool) {
        let Some(s) = &self.snapshot else { return };
        let Some(item) = self.selected_item.filter(|_| self.tab == Tab::Tree) else {
            return;
        };
        let c = match item {
            Item::Process(pid) => s
                .container_of(pid)
                .or_else(|| s.containers.iter().find(|c| c.shim_pid == Some(pid))),
            Item::Container(i) => s.containers.get(i),
            Item::Pod(_) => None,
        };
        let pid = match (container, item) {
            (false, Item::Process(pid)) => Some(pid),
            (true, _) => c.and_then(|c| c.init_pid.filter(|_| !c.pids.is_empty())),
            _ => None,
        };
        let Some(p) = pid.and_then(|pid| s.process(pid)) else {
            self.notice = Some(match (container, c) {
                (true, Some(c)) => format!(
                    "container {} has no process on this host to signal",
                    c.display_name()
                ),
                (true, None) => "not a container's row (X signals a container's init)".into(),
                (false, _) => "not a process row (x signals a process)".into(),
            });
            return;
        };
        let ns_init = c.is_some_and(|c| {
            c.init_pid == Some(p.pid)
                && c.namespaces.get(&crate::model::NsKind::Pid)
                    != s.host.namespaces.get(&crate::model::NsKind::Pid)
        });
        let command = p.command();
        let command: String = command.chars().take(40).collect();
        let label = match c.filter(|_| container) {
            Some(c) => format!(
                "container {} ({}, init {} {command})",
                c.display_name(),
                format::container_name_short(c),
                p.pid
            ),
            None => match c {
                Some(c) => format!(
                    "process {} ({command}) in container {}",
                    p.pid,
                    c.display_name()
                ),
                None => format!("process {} ({command})", p.pid),
            },
        };
        self.dialog = Some(Dialog::PickSignal {
            target: Target {
                pid: p.pid,
                start_ticks: p.start_ticks,
                label,
                ns_init,
            },
            selected: 0,
        });
    }

    /// The rows of the tree, in the order the options and the CPU rates give.
    pub fn tree_rows(&self) -> Vec<Row> {
        let Some(s) = &self.snapshot else {
            return Vec::new();
        };
        tree::rows_with(s, &self.tree_opts, &|pid| self.cpu_percent(pid))
    }

    fn selected_row(&self) -> Option<Row> {
        let item = self.selected_item?;
        self.tree_rows().into_iter().find(|r| r.item == item)
    }

    /// Folds (or unfolds) the selected process's or pod's subtree.
    fn set_folded(&mut self, fold: bool) {
        let Some(s) = &self.snapshot else { return };
        match self.selected_item {
            Some(Item::Process(pid)) => {
                if fold {
                    self.tree_opts.collapsed.insert(pid);
                } else {
                    self.tree_opts.collapsed.remove(&pid);
                }
            }
            Some(Item::Pod(i)) => {
                let Some(id) = s.pods.get(i).map(|p| p.id.clone()) else {
                    return;
                };
                if fold {
                    self.tree_opts.collapsed_pods.insert(id);
                } else {
                    self.tree_opts.collapsed_pods.remove(&id);
                }
            }
            _ => {}
        }
    }

    fn follow(&mut self) {
        if self.tree_opts.follow.take().is_some() {
            return;
        }
        let (Some(s), Some(item)) = (&self.snapshot, self.selected_item) else {
            return;
        };
        let id = match item {
            Item::Process(pid) => s.container_of(pid).map(|c| c.id.clone()).or_else(|| {
                s.containers
                    .iter()
                    .find(|c| c.shim_pid == Some(pid))
                    .map(|c| c.id.clone())
            }),
            Item::Container(i) => s.containers.get(i).map(|c| c.id.clone()),
            Item::Pod(_) => None,
        };
        self.tree_opts.follow = id;
    }

    /// Folds the selected row if it has children shown, else goes to the row it hangs from.
    fn collapse(&mut self) {
        let Some(item) = self.selected_item else {
            return;
        };
        let rows = self.tree_rows();
        let Some(i) = rows.iter().position(|r| r.item == item) else {
            return;
        };
        if rows[i].has_children && !rows[i].folded {
            self.set_folded(true);
        } else if let Some(up) = rows[..i].iter().rev().find(|r| r.depth < rows[i].depth) {
            self.selected_item = Some(up.item);
            self.selected_key = self.snapshot.as_ref().and_then(|s| up.item.key(s));
        }
    }

    /// The number of rows of the current view.
    pub fn row_count(&self) -> usize {
        let Some(s) = &self.snapshot else { return 0 };
        match self.tab {
            Tab::Tree => self.tree_rows().len(),
            Tab::Namespaces => self.namespace_rows(s).len(),
            Tab::Cgroups => cgtree::rows(s, self.show_empty_cgroups, self.filter_text()).len(),
        }
    }

    pub fn filter_text(&self) -> Option<&str> {
        (!self.filter.is_empty()).then_some(self.filter.as_str())
    }

    /// The namespaces the namespaces view lists (filtered by kind name, inode or owner).
    pub fn namespace_rows<'a>(&self, s: &'a Snapshot) -> Vec<&'a crate::model::Namespace> {
        s.namespaces
            .iter()
            .filter(|n| match self.filter_text() {
                None => true,
                Some(f) => {
                    n.kind.name().contains(f)
                        || n.inode.to_string().contains(f)
                        || s.process(n.owner_pid).is_some_and(|p| p.comm.contains(f))
                }
            })
            .collect()
    }

    fn move_by(&mut self, delta: isize) {
        let cur = self.selected[self.tab.index()] as isize;
        self.move_to((cur + delta).max(0) as usize);
    }

    fn move_to(&mut self, i: usize) {
        let n = self.row_count();
        let i = i.min(n.saturating_sub(1));
        self.selected[self.tab.index()] = i;
        self.remember(i);
    }

    /// Records the identity of row `i` of the current view.
    fn remember(&mut self, i: usize) {
        let Some(s) = &self.snapshot else { return };
        match self.tab {
            Tab::Tree => {
                self.selected_item = self.tree_rows().get(i).map(|r| r.item);
                self.selected_key = self.selected_item.and_then(|item| item.key(s));
            }
            Tab::Namespaces => {
                self.selected_ns = self.namespace_rows(s).get(i).map(|n| (n.kind, n.inode));
            }
            Tab::Cgroups => {
                let rows = cgtree::rows(s, self.show_empty_cgroups, self.filter_text());
                self.selected_cgroup = rows.get(i).map(|r| s.cgroups[r.index].path.clone());
            }
        }
    }

    /// After the rows changed: finds the remembered items again, else clamps the indexes.
    fn reselect(&mut self) {
        let tree_rows = self.tree_rows();
        let Some(s) = &self.snapshot else { return };
        let t = Tab::Tree.index();
        if let Some(i) = self.selected_key.as_ref().and_then(|key| {
            tree_rows
                .iter()
                .position(|r| r.item.key(s).as_ref() == Some(key))
        }) {
            self.selected[t] = i;
            self.selected_item = Some(tree_rows[i].item);
        } else {
            self.selected[t] = self.selected[t].min(tree_rows.len().saturating_sub(1));
            self.selected_item = tree_rows.get(self.selected[t]).map(|r| r.item);
            self.selected_key = self.selected_item.and_then(|item| item.key(s));
        }
        let ns_rows = self.namespace_rows(s);
        let n = Tab::Namespaces.index();
        if let Some(i) = self
            .selected_ns
            .and_then(|k| ns_rows.iter().position(|r| (r.kind, r.inode) == k))
        {
            self.selected[n] = i;
        } else {
            self.selected[n] = self.selected[n].min(ns_rows.len().saturating_sub(1));
            self.selected_ns = ns_rows.get(self.selected[n]).map(|r| (r.kind, r.inode));
        }
        let cg_rows = cgtree::rows(s, self.show_empty_cgroups, self.filter_text());
        let c = Tab::Cgroups.index();
        if let Some(i) = self
            .selected_cgroup
            .as_ref()
            .and_then(|p| cg_rows.iter().position(|r| &s.cgroups[r.index].path == p))
        {
            self.selected[c] = i;
        } else {
            self.selected[c] = self.selected[c].min(cg_rows.len().saturating_sub(1));
            self.selected_cgroup = cg_rows
                .get(self.selected[c])
                .map(|r| s.cgroups[r.index].path.clone());
        }
    }

    /// Keeps the selected row of the current view on screen, for a list `height` rows high
    /// of `rows` rows, with no empty space below the last while rows above are hidden.
    pub fn scroll_into_view(&mut self, height: usize, rows: usize) {
        let t = self.tab.index();
        let sel = self.selected[t];
        let off = &mut self.offset[t];
        *off = (*off).min(rows.saturating_sub(height));
        if sel < *off {
            *off = sel;
        } else if height > 0 && sel >= *off + height {
            *off = sel + 1 - height;
        }
    }

    /// CPU use of a process since the previous snapshot, in percent of one CPU.
    pub fn cpu_percent(&self, pid: u32) -> Option<f64> {
        let s = self.snapshot.as_ref()?;
        let (prev, at) = self.previous.as_ref()?;
        let now = self.received?;
        let cur = s.process(pid)?;
        // A process carried over unread has no fresh CPU time to compare.
        if cur.carried_over {
            return None;
        }
        let old = prev
            .process(pid)
            .filter(|p| p.start_ticks == cur.start_ticks && !p.carried_over)?;
        let secs = now.duration_since(*at).as_secs_f64();
        if secs <= 0.0 {
            return None;
        }
        let ticks = cur.cpu_ticks.saturating_sub(old.cpu_ticks) as f64;
        Some(ticks / s.host.clock_ticks.max(1) as f64 / secs * 100.0)
    }
}
