//! The Lambda functions' logs: one JSON object a line (CloudWatch Logs Insights reads its fields),
//! each line written while handling an execution carrying its `execution_arn`.
//!
//! The handlers open a span with an `execution_arn` field around the work on each message,
//! request or dispatch; [`ExecutionArnLayer`] keeps that field on the span, and [`JsonLines`]
//! writes it on every event inside it (the innermost span that has one), with the Lambda request
//! id of lambda_runtime's invocation span (`requestId`) when there is one. The level comes from
//! `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) or `RUST_LOG`, `info` otherwise.

use serde_json::{Map, Value};
use std::fmt;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// A span's `execution_arn` (and `requestId`), kept in its extensions.
#[derive(Debug, Default, Clone)]
struct SpanIds {
    execution_arn: Option<String>,
    request_id: Option<String>,
}

impl Visit for SpanIds {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "execution_arn" => self.execution_arn = Some(value.to_string()),
            "requestId" | "request_id" => self.request_id = Some(value.to_string()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%arn` (Display) arrives here as a Debug of the Display.
        let text = format!("{value:?}");
        self.record_str(field, &text);
    }
}

/// Keeps each span's `execution_arn` and request id, for [`JsonLines`].
pub struct ExecutionArnLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for ExecutionArnLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut ids = SpanIds::default();
        attrs.record(&mut ids);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            let mut ids = ext.remove::<SpanIds>().unwrap_or_default();
            values.record(&mut ids);
            ext.insert(ids);
        }
    }
}

/// An event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

/// One JSON object a line: `timestamp` (ms since the epoch), `level`, `target`, `message`, the
/// event's fields, and `execution_arn` / `requestId` from the spans around it.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(stepwise_runtime::local::wall_clock_ms()),
        );
        line.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        line.insert("target".into(), Value::from(event.metadata().target()));
        event.record(&mut Fields(&mut line));
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                let ext = span.extensions();
                let Some(ids) = ext.get::<SpanIds>() else {
                    continue;
                };
                if let Some(arn) = &ids.execution_arn {
                    line.entry("execution_arn")
                        .or_insert_with(|| Value::from(arn.as_str()));
                }
                if let Some(r) = &ids.request_id {
                    line.entry("requestId")
                        .or_insert_with(|| Value::from(r.as_str()));
                }
            }
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// The level filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
fn filter() -> EnvFilter {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The functions' subscriber, writing to `writer`.
pub fn subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(filter())
        .with(ExecutionArnLayer)
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(writer),
        )
}

/// Log lines kept in memory (tests: what a handler logged).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// [`subscriber`] into memory, the default of this thread until the guard is dropped.
pub fn capture() -> (tracing::subscriber::DefaultGuard, Captured) {
    // tracing caches each callsite's interest for the process. With one dispatcher alive, a
    // callsite first reached on a thread without a subscriber is cached as never and this
    // thread's capture misses it (tokio-rs/tracing#3611). A second dispatcher, alive for the
    // process, makes the interest be weighed over every live dispatcher instead; the rebuild
    // mends callsites cached before this capture began.
    static ANCHOR: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    ANCHOR.get_or_init(|| tracing::Dispatch::new(tracing_subscriber::registry()));
    let out = Captured::default();
    let w = out.clone();
    let guard = tracing::subscriber::set_default(subscriber(move || w.clone()));
    tracing::callsite::rebuild_interest_cache();
    (guard, out)
}

/// Installs [`subscriber`] on stdout for the whole process (a function's `main`). A second call
/// does nothing.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tracing caches a callsite's interest for the whole process: reached first on a thread
    /// with no subscriber while a capture was the only dispatcher, it was cached as never and
    /// the capture missed its events (tokio-rs/tracing#3611; the e2e logs test failed so).
    #[test]
    fn an_event_first_reached_on_a_thread_without_a_subscriber_is_still_captured() {
        fn emit() {
            tracing::info!("first reached elsewhere");
        }
        let (guard, out) = capture();
        let _ = std::thread::spawn(emit).join();
        emit();
        drop(guard);
        let lines = out.lines();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains("first reached elsewhere"))
                .count(),
            1,
            "{lines:?}"
        );
    }

    #[test]
    fn every_line_is_json_and_lines_inside_an_execution_carry_its_arn() {
        let (guard, out) = capture();
        {
            tracing::info!("outside");
            let invocation = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _i = invocation.enter();
            let span =
                tracing::info_span!("task", execution_arn = %"arn:aws:states:x:1:execution:m:e");
            let _g = span.enter();
            tracing::info!(task = 3, "task called");
            let inner = tracing::info_span!("sdk", rpc = "PutItem");
            let _n = inner.enter();
            tracing::warn!(error = "boom", "retrying");
        }
        drop(guard);
        let text = out.lines();
        let lines: Vec<Value> = text
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert!(lines[0].get("execution_arn").is_none());
        for l in &lines[1..] {
            assert_eq!(
                l["execution_arn"], "arn:aws:states:x:1:execution:m:e",
                "{l}"
            );
            assert_eq!(l["requestId"], "req-1", "{l}");
        }
        assert_eq!(lines[1]["message"], "task called");
        assert_eq!(lines[1]["task"], 3);
        assert_eq!(lines[2]["level"], "WARN");
        assert_eq!(lines[2]["error"], "boom");
    }
}
