//! The UI state and `update(msg)`: what is selected, which view, the filter, pause, follow,
//! folds. Apart from the data: snapshots arrive as messages and are only read here.

use super::keymap::{self, Action};
use crate::model::cgtree;
use crate::model::tree::{self, Item, TreeOptions};
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
    pub paused: bool,
    pub interval: Duration,
    /// Selected row per tab, and the first row shown.
    pub selected: [usize; 3],
    pub offset: [usize; 3],
    /// The selection by identity, kept across refreshes.
    pub selected_item: Option<Item>,
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
            paused: false,
            interval,
            selected: [0; 3],
            offset: [0; 3],
            selected_item: None,
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
        let action = keymap::action_for(&key);
        if self.help && action != Some(Action::Quit) {
            // Any key closes the help.
            self.help = false;
            return None;
        }
        self.act(action?)
    }

    /// Performs one action of the key table.
    pub fn act(&mut self, action: Action) -> Option<Cmd> {
        let page = usize::from(self.list_area.height.saturating_sub(1)).max(1);
        match action {
            Action::Quit => return Some(Cmd::Quit),
            Action::Help => self.help = !self.help,
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
            Action::Expand => {
                if let Some(Item::Process(pid)) = self.selected_item {
                    self.tree_opts.collapsed.remove(&pid);
                }
            }
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
        };
        self.tree_opts.follow = id;
    }

    fn collapse(&mut self) {
        let (Some(s), Some(Item::Process(pid))) = (&self.snapshot, self.selected_item) else {
            return;
        };
        let rows = tree::rows(s, &self.tree_opts);
        let has_children = rows
            .iter()
            .position(|r| r.item == Item::Process(pid))
            .and_then(|i| rows.get(i + 1).map(|next| next.depth > rows[i].depth))
            .unwrap_or(false);
        if has_children && !self.tree_opts.collapsed.contains(&pid) {
            self.tree_opts.collapsed.insert(pid);
        } else if let Some(p) = s.process(pid) {
            if rows.iter().any(|r| r.item == Item::Process(p.ppid)) {
                self.selected_item = Some(Item::Process(p.ppid));
            }
        }
    }

    /// The number of rows of the current view.
    pub fn row_count(&self) -> usize {
        let Some(s) = &self.snapshot else { return 0 };
        match self.tab {
            Tab::Tree => tree::rows(s, &self.tree_opts).len(),
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
                self.selected_item = tree::rows(s, &self.tree_opts).get(i).map(|r| r.item);
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
        let Some(s) = &self.snapshot else { return };
        let tree_rows = tree::rows(s, &self.tree_opts);
        let t = Tab::Tree.index();
        if let Some(i) = self
            .selected_item
            .and_then(|item| tree_rows.iter().position(|r| r.item == item))
        {
            self.selected[t] = i;
        } else {
            self.selected[t] = self.selected[t].min(tree_rows.len().saturating_sub(1));
            self.selected_item = tree_rows.get(self.selected[t]).map(|r| r.item);
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

    /// Keeps the selected row of the current view on screen, for a list `height` rows high.
    pub fn scroll_into_view(&mut self, height: usize) {
        let t = self.tab.index();
        let sel = self.selected[t];
        let off = &mut self.offset[t];
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
