//! The one key table: it drives key handling and the on-screen help (gitui style), so the help
//! can never disagree with what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Filter,
    Escape,
    Pause,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Collapse,
    Expand,
    NextTab,
    PrevTab,
    TabTree,
    TabNamespaces,
    TabCgroups,
    ToggleHost,
    ToggleEmpty,
    Follow,
    ToggleFold,
    SortCpu,
    SortMemory,
    SortPid,
    SortStart,
    InvertSort,
    Signal,
    SignalContainer,
}

/// One row of the table: the keys, the action and its help line.
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

/// The key table, in the order the help shows it.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('k'), NONE), (KeyCode::Up, NONE)],
        action: Action::Up,
        help: "move up",
    },
    Binding {
        keys: &[(KeyCode::Char('j'), NONE), (KeyCode::Down, NONE)],
        action: Action::Down,
        help: "move down",
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE), (KeyCode::Char('u'), CTRL)],
        action: Action::PageUp,
        help: "page up",
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE), (KeyCode::Char('d'), CTRL)],
        action: Action::PageDown,
        help: "page down",
    },
    Binding {
        keys: &[(KeyCode::Char('g'), NONE), (KeyCode::Home, NONE)],
        action: Action::Top,
        help: "first row",
    },
    Binding {
        keys: &[
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::Char('G'), NONE),
            (KeyCode::End, NONE),
        ],
        action: Action::Bottom,
        help: "last row",
    },
    Binding {
        keys: &[(KeyCode::Char('h'), NONE), (KeyCode::Left, NONE)],
        action: Action::Collapse,
        help: "fold the selected subtree, or go to the parent",
    },
    Binding {
        keys: &[(KeyCode::Char('l'), NONE), (KeyCode::Right, NONE)],
        action: Action::Expand,
        help: "unfold the selected subtree",
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        action: Action::ToggleFold,
        help: "fold or unfold the selected row",
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE)],
        action: Action::NextTab,
        help: "next view",
    },
    Binding {
        keys: &[(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)],
        action: Action::PrevTab,
        help: "previous view",
    },
    Binding {
        keys: &[(KeyCode::Char('1'), NONE)],
        action: Action::TabTree,
        help: "view: process tree",
    },
    Binding {
        keys: &[(KeyCode::Char('2'), NONE)],
        action: Action::TabNamespaces,
        help: "view: namespaces",
    },
    Binding {
        keys: &[(KeyCode::Char('3'), NONE)],
        action: Action::TabCgroups,
        help: "view: cgroups",
    },
    Binding {
        keys: &[(KeyCode::Char('/'), NONE)],
        action: Action::Filter,
        help: "filter by name, id or pid",
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE)],
        action: Action::Follow,
        help: "follow the selected container (again: stop)",
    },
    Binding {
        keys: &[(KeyCode::Char('P'), SHIFT), (KeyCode::Char('P'), NONE)],
        action: Action::SortCpu,
        help: "sort by CPU (highest first)",
    },
    Binding {
        keys: &[(KeyCode::Char('M'), SHIFT), (KeyCode::Char('M'), NONE)],
        action: Action::SortMemory,
        help: "sort by memory (highest first)",
    },
    Binding {
        keys: &[(KeyCode::Char('N'), SHIFT), (KeyCode::Char('N'), NONE)],
        action: Action::SortPid,
        help: "sort by pid",
    },
    Binding {
        keys: &[(KeyCode::Char('A'), SHIFT), (KeyCode::Char('A'), NONE)],
        action: Action::SortStart,
        help: "sort by start time (oldest first)",
    },
    Binding {
        keys: &[(KeyCode::Char('I'), SHIFT), (KeyCode::Char('I'), NONE)],
        action: Action::InvertSort,
        help: "invert the sort order",
    },
    Binding {
        keys: &[(KeyCode::Char('x'), NONE), (KeyCode::F(9), NONE)],
        action: Action::Signal,
        help: "signal or kill the selected process (asks)",
    },
    Binding {
        keys: &[(KeyCode::Char('X'), SHIFT), (KeyCode::Char('X'), NONE)],
        action: Action::SignalContainer,
        help: "signal or kill its container's init (asks)",
    },
    Binding {
        keys: &[(KeyCode::Char('a'), NONE)],
        action: Action::ToggleHost,
        help: "show/fold host processes",
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        action: Action::ToggleEmpty,
        help: "show/fold empty cgroups",
    },
    Binding {
        keys: &[(KeyCode::Char('p'), NONE), (KeyCode::Char(' '), NONE)],
        action: Action::Pause,
        help: "pause/resume refreshing",
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        action: Action::Escape,
        help: "clear filter, stop following, close help",
    },
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        action: Action::Quit,
        help: "quit",
    },
];

/// The action bound to a key press, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    KEYS.iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|&(code, mods)| code == key.code && key.modifiers == mods)
        })
        .map(|b| b.action)
}

/// The keys of a binding as the help shows them ("j ↓").
pub fn keys_text(b: &Binding) -> String {
    let mut names: Vec<String> = Vec::new();
    for &(code, mods) in b.keys {
        let name = match code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) if mods.contains(CTRL) => format!("^{c}"),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in KEYS {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }

    #[test]
    fn ctrl_c_quits_and_q_quits() {
        let k = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&k), Some(Action::Quit));
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(action_for(&q), Some(Action::Quit));
    }
}
