//! Live progress on a terminal and the `--history` JSON lines.

use std::io::Write;
use stepwise_engine::HistoryEvent;
use stepwise_runtime::local::Observer;

/// Shows states as they are entered and left, retries and waits; writes history lines.
pub struct Progress {
    live: bool,
    history: Option<Box<dyn Write + Send>>,
    error: Option<std::io::Error>,
}

impl Progress {
    pub fn new(live: bool, history: Option<Box<dyn Write + Send>>) -> Self {
        Progress {
            live,
            history,
            error: None,
        }
    }

    /// Flushes the history file and reports a write error, if any happened.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(h) = &mut self.history {
            h.flush()?;
        }
        if self.live {
            eprint!("\r\x1b[K");
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn field<'a>(e: &'a HistoryEvent, key: &str) -> &'a str {
    e.details()
        .and_then(|d| d.get(key))
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

impl Observer for Progress {
    fn on_event(&mut self, e: &HistoryEvent) {
        if let Some(h) = &mut self.history {
            let line = serde_json::to_string(&e.to_api_json(true)).unwrap_or_default();
            if let Err(err) = writeln!(h, "{line}") {
                self.error.get_or_insert(err);
            }
        }
        if !self.live {
            return;
        }
        let t = e.event_type();
        let line = if t.ends_with("StateEntered") {
            format!(
                "\u{2192} {} ({})",
                field(e, "name"),
                t.trim_end_matches("StateEntered")
            )
        } else if t.ends_with("StateExited") {
            format!("\u{2713} {}", field(e, "name"))
        } else if t.ends_with("Failed") || t.ends_with("TimedOut") {
            format!("\u{2717} {t} {} {}", field(e, "error"), field(e, "cause"))
        } else if t == "MapIterationStarted" || t.ends_with("Scheduled") {
            format!("  {t}")
        } else {
            return;
        };
        eprintln!("\r\x1b[K{line}");
    }

    fn on_waiting(&mut self, at_ms: i64, now_ms: i64) {
        if self.live {
            let secs = ((at_ms - now_ms) as f64 / 1000.0).max(0.0);
            eprint!("\r\x1b[K  waiting {secs:.1}s");
            let _ = std::io::stderr().flush();
        }
    }
}
