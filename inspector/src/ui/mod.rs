//! The live TUI: a collector thread sends snapshots over a channel, an input thread sends key
//! and mouse events, a signal thread sends SIGTERM/SIGHUP/SIGINT/SIGQUIT, and the main loop
//! runs `App::update` and draws. The terminal is restored on quit, on error, on panic (the
//! panic hook restores before printing) and on those signals (the loop ends the same way as on
//! quit, then the caller dies of the signal).

pub mod app;
pub mod keymap;
pub mod views;

use crate::collect::{Collector, Roots};
use app::{App, Cmd, Msg};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::{self, Stdout};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

pub use views::draw;

/// Puts the terminal back as it was: cooked mode, main screen, no mouse capture.
fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
}

/// Restores the terminal when dropped, whatever way `run` ends.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> io::Result<Self> {
        enable_raw_mode()?;
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// What the main loop tells the collector.
enum Control {
    Paused(bool),
    WatchAll(bool),
}

/// How the live view ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The user quit.
    Quit,
    /// This signal asked it to end; the terminal is restored, and the caller should now die
    /// of it ([`die_of`]) so its parent sees the usual wait status.
    Signal(i32),
}

/// The signals that end the live view. Their default action would kill ocitop with the
/// terminal still raw and on the alternate screen (signal(7)); SIGINT and SIGQUIT only come
/// from `kill`, since raw mode turns ^C and ^\ into keys.
const ENDING_SIGNALS: [i32; 4] = [SIGTERM, SIGHUP, SIGINT, SIGQUIT];

/// Runs the live view until the user quits or an ending signal arrives; the terminal is
/// restored when this returns, however it returns.
pub fn run(roots: Roots, interval: Duration) -> io::Result<Ended> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let (ctl_tx, ctl_rx) = mpsc::channel::<Control>();
    // Before the terminal changes: from here on these signals only queue a message.
    let signals = Signals::new(ENDING_SIGNALS)?;
    spawn_signals(signals, tx.clone());
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    // Only now: creating the terminal reads the cursor position from stdin, which the input
    // thread would otherwise swallow.
    let proc_root = roots.proc.clone();
    spawn_collector(roots, interval, tx.clone(), ctl_rx);
    spawn_input(tx);
    let outside = Outside {
        ctl: ctl_tx,
        proc_root,
    };
    main_loop(&mut terminal, App::new(interval), &rx, &outside)
}

/// What the main loop acts on for the app.
struct Outside {
    ctl: Sender<Control>,
    /// Where signals are checked against (collect::signal).
    proc_root: std::path::PathBuf,
}

fn main_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    mut app: App,
    rx: &Receiver<Msg>,
    outside: &Outside,
) -> io::Result<Ended> {
    terminal.draw(|f| draw(f, &mut app))?;
    while let Ok(msg) = rx.recv() {
        if let Some(ended) = handle(&mut app, msg, outside) {
            return Ok(ended);
        }
        // Draw once per burst of messages (a held key, a mouse drag).
        while let Ok(more) = rx.try_recv() {
            if let Some(ended) = handle(&mut app, more, outside) {
                return Ok(ended);
            }
        }
        terminal.draw(|f| draw(f, &mut app))?;
    }
    Ok(Ended::Quit)
}

/// Updates the app with one message and carries out its command; `Some` when the view ends.
fn handle(app: &mut App, msg: Msg, outside: &Outside) -> Option<Ended> {
    let ctl = &outside.ctl;
    match app.update(msg)? {
        Cmd::Quit => Some(Ended::Quit),
        Cmd::Terminate(signal) => Some(Ended::Signal(signal)),
        Cmd::SetPaused(p) => {
            let _ = ctl.send(Control::Paused(p));
            None
        }
        Cmd::WatchAll(all) => {
            let _ = ctl.send(Control::WatchAll(all));
            None
        }
        Cmd::Signal {
            pid,
            start_ticks,
            signal,
        } => {
            let name = crate::collect::signal::name(signal);
            let text =
                match crate::collect::signal::send(&outside.proc_root, pid, start_ticks, signal) {
                    Ok(()) => format!("sent SIG{name} to pid {pid}"),
                    Err(e) => format!("SIG{name} not sent: {e}"),
                };
            app.update(Msg::Notice(text));
            None
        }
    }
}

/// Forwards the ending signals to the main loop. The handler signal-hook installs only writes
/// to a self-pipe (async-signal-safe); this thread reads it.
fn spawn_signals(mut signals: Signals, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if tx.send(Msg::Signal(signal)).is_err() {
                return;
            }
        }
    });
}

/// Dies of `signal` as if it had never been caught: its default action (terminate), so the
/// parent's wait status says "killed by SIGTERM". Call it after the terminal is restored.
pub fn die_of(signal: i32) -> io::Result<()> {
    signal_hook::low_level::emulate_default_handler(signal)
}

/// Takes a snapshot every `interval` (not while paused) and sends it.
fn spawn_collector(roots: Roots, interval: Duration, tx: Sender<Msg>, ctl: Receiver<Control>) {
    std::thread::spawn(move || {
        let mut collector = Collector::new(roots);
        let mut paused = false;
        loop {
            if !paused {
                let started = Instant::now();
                let snap = collector
                    .snapshot()
                    .map(Box::new)
                    .map_err(|e| e.to_string());
                if tx.send(Msg::Snapshot(snap, started.elapsed())).is_err() {
                    return;
                }
            }
            let wait = if paused {
                Duration::from_secs(3600)
            } else {
                interval
            };
            match ctl.recv_timeout(wait) {
                Ok(Control::Paused(p)) => paused = p,
                Ok(Control::WatchAll(all)) => collector.watch_all(all),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    });
}

/// Forwards terminal events; blocks in `event::read`, so it costs nothing while idle.
fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Mouse(m)) => Msg::Mouse(m),
            Ok(Event::Resize(..)) => Msg::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
}
