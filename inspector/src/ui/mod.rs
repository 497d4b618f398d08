//! The live TUI: a collector thread sends snapshots over a channel, an input thread sends key
//! and mouse events, and the main loop runs `App::update` and draws. The terminal is restored
//! on quit, on error and on panic (the panic hook restores before printing).

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
}

/// Runs the live view until the user quits.
pub fn run(roots: Roots, interval: Duration) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let (ctl_tx, ctl_rx) = mpsc::channel::<Control>();
    let _guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    // Only now: creating the terminal reads the cursor position from stdin, which the input
    // thread would otherwise swallow.
    spawn_collector(roots, interval, tx.clone(), ctl_rx);
    spawn_input(tx);
    main_loop(&mut terminal, App::new(interval), &rx, &ctl_tx)
}

fn main_loop(
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    mut app: App,
    rx: &Receiver<Msg>,
    ctl: &Sender<Control>,
) -> io::Result<()> {
    terminal.draw(|f| draw(f, &mut app))?;
    while let Ok(msg) = rx.recv() {
        match app.update(msg) {
            Some(Cmd::Quit) => return Ok(()),
            Some(Cmd::SetPaused(p)) => {
                let _ = ctl.send(Control::Paused(p));
            }
            None => {}
        }
        // Draw once per burst of messages (a held key, a mouse drag).
        while let Ok(more) = rx.try_recv() {
            match app.update(more) {
                Some(Cmd::Quit) => return Ok(()),
                Some(Cmd::SetPaused(p)) => {
                    let _ = ctl.send(Control::Paused(p));
                }
                None => {}
            }
        }
        terminal.draw(|f| draw(f, &mut app))?;
    }
    Ok(())
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
