//! The runtime's ports on an embedded durable store: SQLite in WAL mode, one file in the data
//! directory, and an in-process driver (tokio timers, spawned task invocations).
//!
//! Every event an execution takes is committed in one SQLite transaction: the new checkpoint
//! (conditioned on the version read), its history rows and its outbox of commands. Pending
//! timers, in-flight task invocations, task tokens and activity tasks are rows too, so a process
//! killed at any point picks every running execution up again when it restarts
//! ([`driver::EmbeddedDriver::recover`]). Nothing is deleted unless the user sets a retention
//! ([`retention`]).

pub mod driver;
mod finished;
mod resource_cache;
pub mod retention;
#[cfg(test)]
mod test_support;
mod writer;

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stepwise_asl::model::Definition;
use stepwise_engine::history::PackMemo;
use stepwise_engine::{Command, HistoryEvent};
use stepwise_ports::api::{
    ActivityTask, ApiStore, ExecutionFilter, ExecutionMeta, ExecutionRow, PendingTimer, Resource,
    ResourceKind, TokenRecord,
};
use stepwise_ports::execution::{ExecutionStore, StoreError, StoredExecution};
use stepwise_ports::BoxFuture;

pub use driver::{DriverOptions, EmbeddedDriver};

/// The SQLite file's name in the data directory.
pub const DB_FILE: &str = "stepwise.db";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS resources(kind TEXT NOT NULL, arn TEXT NOT NULL, parent TEXT,
    body TEXT NOT NULL, PRIMARY KEY(kind, arn));
CREATE INDEX IF NOT EXISTS resources_parent ON resources(kind, parent);
CREATE TABLE IF NOT EXISTS executions(arn TEXT PRIMARY KEY, sm_arn TEXT NOT NULL,
    version_arn TEXT, alias_arn TEXT, status TEXT NOT NULL, start_ms INTEGER NOT NULL,
    stop_ms INTEGER, redrive_count INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL,
    meta TEXT NOT NULL, body TEXT NOT NULL, has_outbox INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS executions_sm ON executions(sm_arn, start_ms);
-- Executions still open, which a start recovers: a finished one never enters it (an index of
-- every status cost each execution an index page per commit, and no query read it).
DROP INDEX IF EXISTS executions_status;
CREATE INDEX IF NOT EXISTS executions_open ON executions(arn)
    WHERE status = 'RUNNING' OR has_outbox = 1;
-- executions_stop, closed executions by their close, is made by the first retention sweep
-- (retention::STOP_INDEX): without a retention no query reads it, and it cost every commit a page.
CREATE TABLE IF NOT EXISTS event_pages(arn TEXT NOT NULL, first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS event_pages_key ON event_pages(arn, first_id);
CREATE TABLE IF NOT EXISTS tokens(token TEXT PRIMARY KEY, arn TEXT NOT NULL, task INTEGER NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS activity_tasks(seq INTEGER PRIMARY KEY AUTOINCREMENT,
    activity TEXT NOT NULL, token TEXT NOT NULL, input TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS activity_tasks_activity ON activity_tasks(activity, seq);
CREATE TABLE IF NOT EXISTS timers(arn TEXT NOT NULL, timer INTEGER NOT NULL, at_ms INTEGER NOT NULL,
    PRIMARY KEY(arn, timer));
CREATE TABLE IF NOT EXISTS inflight(arn TEXT NOT NULL, task INTEGER NOT NULL, command TEXT NOT NULL,
    PRIMARY KEY(arn, task));
"#;

/// The executions a start recovers: read from the partial index `executions_open`.
const OPEN_EXECUTIONS: &str =
    "SELECT arn FROM executions WHERE status = 'RUNNING' OR has_outbox = 1";

/// ListExecutions: the filters, the order and the page, after the machine's condition.
macro_rules! list_executions {
    ($machine:literal) => {
        concat!(
            "SELECT meta, status, stop_ms, redrive_count FROM executions WHERE ",
            $machine,
            " AND (?2 IS NULL OR status = ?2)
             AND (?3 IS NULL OR version_arn = ?3) AND (?4 IS NULL OR alias_arn = ?4)
             AND (?7 IS NULL OR (redrive_count > 0) = ?7)
             AND (?8 IS NULL OR json_extract(meta, '$.mapRunArn') = ?8)
             ORDER BY start_ms DESC, rowid DESC LIMIT ?5 OFFSET ?6"
        )
    };
}
/// A machine's executions, from its index newest first, a page at a time: with
/// `?1 IS NULL OR sm_arn = ?1` SQLite read and sorted the whole table for every page.
const LIST_OF_MACHINE: &str = list_executions!("sm_arn = ?1");
/// Executions of any machine (a Map Run's children).
const LIST_ANY: &str = list_executions!("?1 IS NULL");

/// The history of a data directory written before history was kept in pages (one row per
/// event) moves into pages of one event when it opens.
const MIGRATE_HISTORY: &str = r#"
BEGIN;
INSERT OR REPLACE INTO event_pages(arn, first_id, last_id, body)
    SELECT arn, id, id, '[' || body || ']' FROM history;
DROP TABLE history;
COMMIT;
"#;

/// Pages were first kept in a WITHOUT ROWID table keyed by (arn, first_id), the page inside
/// the key's b-tree: every insert compared keys by copying whole pages of tens of KB out of
/// their overflow chains (a tenth of the writer's time). They move to `event_pages`, a rowid
/// table with the key in an index of its own, as they are (JSON text; new pages are
/// compressed, see [`page_body`]).
const MIGRATE_PAGES: &str = r#"
BEGIN;
INSERT OR REPLACE INTO event_pages(arn, first_id, last_id, body)
    SELECT arn, first_id, last_id, body FROM history_pages;
DROP TABLE history_pages;
COMMIT;
"#;

/// A commit's history events go into pages (rows) of at most this many events...
const PAGE_EVENTS: usize = 256;
/// ...and, past the first event, this much text: one row per commit instead of one per event
/// (a 100-state Pass chain wrote 202 rows a step), pages small enough that reading one event
/// of a long history never parses much more.
const PAGE_BYTES: usize = 64 * 1024;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite refused.
    #[error("opening the database {path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The thread that writes could not be started.
    #[error("starting the database writer for {path}: {source}")]
    Writer {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Reader connections: as many as threads that read at once (serve's async workers and a few
/// blocking ones).
const READERS: usize = 4;

/// The SQLite store: reads on a few connections, every write through the group-commit
/// [`writer`] on another.
pub struct SqliteStore {
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    writer: writer::Writer,
    definitions: Mutex<HashMap<(String, u64), Arc<Definition>>>,
    resources: resource_cache::ResourceCache,
    finished: Arc<finished::FinishedExecutions>,
}

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Other(format!("sqlite: {e}"))
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Other(format!("stored JSON: {e}"))
}

/// The ARN under which a state machine's definition revision is kept.
pub fn revision_arn(state_machine_arn: &str, revision: u64) -> String {
    format!("{state_machine_arn}#{revision}")
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join(DB_FILE);
        let err = |source| OpenError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        let connect = || -> Result<Connection, OpenError> {
            let conn = Connection::open(&path).map_err(err)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(err)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(err)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(err)?;
            Ok(conn)
        };
        // Page caches of 8 MiB per reader and 32 MiB for the writer (SQLite's default is 2 MiB:
        // under load every start read its pages back from the file).
        let cached = |cache_kib: i64| -> Result<Connection, OpenError> {
            let conn = connect()?;
            conn.pragma_update(None, "cache_size", -cache_kib)
                .map_err(err)?;
            Ok(conn)
        };
        let conn = cached(8 << 10)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let table = |name: &str| -> Result<bool, OpenError> {
            Ok(conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [name],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(err)?
                > 0)
        };
        if table("history")? {
            conn.execute_batch(MIGRATE_HISTORY).map_err(err)?;
        }
        if table("history_pages")? {
            conn.execute_batch(MIGRATE_PAGES).map_err(err)?;
        }
        let write = cached(8 << 10)?;
        // The writer's thread starts checkpoints; a thread of their own runs them.
        write
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        // A WAL that starts over keeps its file, up to 128 MiB (the most the writer lets it
        // hold, `writer::CHECKPOINT_FRAMES` twice): writing over the file's pages is cheaper
        // than growing it again, as it did from 4 MiB after every start (p99 of W1 in serve
        // 10-12 ms -> 8-9 ms).
        write
            .pragma_update(None, "journal_size_limit", 128 << 20)
            .map_err(err)?;
        let writer = writer::Writer::start_checkpointing(write, connect()?).map_err(|e| {
            OpenError::Writer {
                path: path.display().to_string(),
                source: e,
            }
        })?;
        let mut readers = vec![Mutex::new(conn)];
        for _ in 1..READERS {
            readers.push(Mutex::new(cached(8 << 10)?));
        }
        Ok(Self {
            readers,
            next_reader: AtomicUsize::new(0),
            writer,
            definitions: Mutex::new(HashMap::new()),
            resources: resource_cache::ResourceCache::default(),
            finished: Arc::default(),
        })
    }

    /// Runs a read on a free reader connection (WAL lets them read beside the writer and each
    /// other); when all are busy, waits for the next in turn.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let first = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Ok(mut conn) = self.readers[(first + i) % n].try_lock() {
                return f(&mut conn);
            }
        }
        let mut conn = self.readers[first % n]
            .lock()
            .map_err(|_| StoreError::Other("the database lock is poisoned".into()))?;
        f(&mut conn)
    }

    fn load_sync(&self, arn: &str) -> Result<Option<StoredExecution>, StoreError> {
        let body: Option<String> = self.with(|c| {
            query_one(
                c,
                "SELECT body FROM executions WHERE arn = ?1",
                params![arn],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })?;
        body.map(|b| stepwise_engine::deep::from_str(&b).map_err(json_err))
            .transpose()
    }

    /// The new checkpoint (conditioned on the version read), its history rows and its outbox,
    /// all or nothing, in the writer's next batch. The JSON is rendered here, on the caller's
    /// thread, so the writer only writes.
    fn commit_write(
        &self,
        next: &StoredExecution,
        expected: u64,
        history: &[HistoryEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let prepared = (|| {
            let body = stepwise_engine::deep::to_string(next).map_err(json_err)?;
            Ok::<_, StoreError>((body, pages(history)?))
        })();
        let arn = next.arn.clone();
        let version = next.version as i64;
        let status = next.state.status.as_str();
        let stop_ms = next.state.stop_ms;
        let redrive_count = next.state.info.redrive_count;
        let has_outbox = !next.outbox.is_empty();
        // An execution this write ends is kept for DescribeExecution ([`finished`]).
        let ended = finished::ends(status, has_outbox).then(|| next.clone());
        let keep = ended.is_some();
        let finished = self.finished.clone();
        let write = prepared.map(|(body, rows)| {
            let body_bytes = body.len();
            self.writer.write_then(
                move |c| {
                    // The row's meta, for the execution to keep only.
                    let meta: Option<Option<String>> = c
                        .prepare_cached(
                            "UPDATE executions SET body = ?1, version = ?2, status = ?3,
                             stop_ms = ?4, redrive_count = ?5, has_outbox = ?6
                             WHERE arn = ?7 AND version = ?8 RETURNING CASE WHEN ?9 THEN meta END",
                        )
                        .and_then(|mut st| {
                            st.query_row(
                                params![
                                    body,
                                    version,
                                    status,
                                    stop_ms,
                                    redrive_count,
                                    has_outbox,
                                    arn,
                                    expected as i64,
                                    keep
                                ],
                                |r| r.get(0),
                            )
                            .optional()
                        })
                        .map_err(db_err)?;
                    let Some(meta) = meta else {
                        return Err(StoreError::Conflict(arn));
                    };
                    insert_pages(c, &arn, &rows)?;
                    Ok((arn, meta))
                },
                move |(arn, meta): &(String, Option<String>)| {
                    let row = meta.clone().and_then(|m| {
                        Self::row_from(m, status.to_string(), stop_ms, redrive_count).ok()
                    });
                    match (row, ended) {
                        (Some(row), Some(ex)) => {
                            let meta_bytes = meta.as_ref().map_or(0, String::len);
                            finished.keep(row, ex, body_bytes + meta_bytes)
                        }
                        _ => finished.forget(arn),
                    }
                },
            )
        });
        async move { write?.await.map(|_| ()) }
    }

    /// Creates an execution's row at `next`'s checkpoint with `history` (none for a creation
    /// before its first step); [`StoreError::Conflict`] when the ARN is taken.
    fn insert_execution(
        &self,
        next: &StoredExecution,
        meta: &ExecutionMeta,
        history: &[HistoryEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let prepared = (|| {
            let body = stepwise_engine::deep::to_string(next).map_err(json_err)?;
            let m = stepwise_engine::deep::to_string(meta).map_err(json_err)?;
            Ok::<_, StoreError>((body, m, pages(history)?))
        })();
        let arn = next.arn.clone();
        let (sm_arn, version_arn, alias_arn, start_ms) = (
            meta.state_machine_arn.clone(),
            meta.version_arn.clone(),
            meta.alias_arn.clone(),
            meta.start_ms,
        );
        let version = next.version as i64;
        let status = next.state.status.as_str();
        let stop_ms = next.state.stop_ms;
        let redrive_count = next.state.info.redrive_count;
        let has_outbox = !next.outbox.is_empty();
        // An execution that ends in its first step is kept for DescribeExecution ([`finished`]).
        let ended = finished::ends(status, has_outbox).then(|| {
            let row = ExecutionRow {
                meta: meta.clone(),
                status: status.to_string(),
                stop_ms,
                redrive_count,
            };
            (row, next.clone())
        });
        let finished = self.finished.clone();
        let write = prepared.map(|(body, m, rows)| {
            let text_bytes = body.len() + m.len();
            self.writer.write_then(
                move |c| {
                    let n = c
                        .prepare_cached(
                            "INSERT OR IGNORE INTO executions(arn, sm_arn, version_arn, alias_arn, status,
                             start_ms, stop_ms, redrive_count, version, meta, body, has_outbox)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                        )
                        .and_then(|mut st| {
                            st.execute(params![
                                arn,
                                sm_arn,
                                version_arn,
                                alias_arn,
                                status,
                                start_ms,
                                stop_ms,
                                redrive_count,
                                version,
                                m,
                                body,
                                has_outbox
                            ])
                        })
                        .map_err(db_err)?;
                    if n == 0 {
                        return Err(StoreError::Conflict(arn));
                    }
                    insert_pages(c, &arn, &rows)
                },
                move |()| {
                    if let Some((row, ex)) = ended {
                        finished.keep(row, ex, text_bytes);
                    }
                },
            )
        });
        async move { write?.await }
    }

    fn clear_outbox_write(
        &self,
        arn: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let arn = arn.to_string();
        let finished = self.finished.clone();
        let forget = arn.clone();
        self.writer.write_then(
            move |c| {
                let body: Option<String> = query_one(
                    c,
                    "SELECT body FROM executions WHERE arn = ?1 AND version = ?2 AND has_outbox = 1",
                    params![arn, version as i64],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
                let Some(body) = body else {
                    return Ok(());
                };
                let mut e: StoredExecution =
                    stepwise_engine::deep::from_str(&body).map_err(json_err)?;
                e.outbox.clear();
                let body = stepwise_engine::deep::to_string(&e).map_err(json_err)?;
                c.execute(
                    "UPDATE executions SET body = ?1, has_outbox = 0 WHERE arn = ?2 AND version = ?3",
                    params![body, arn, version as i64],
                )
                .map(|_| ())
                .map_err(db_err)
            },
            move |()| finished.forget(&forget),
        )
    }

    fn definition_sync(&self, sm: &str, revision: u64) -> Result<Arc<Definition>, StoreError> {
        let key = (sm.to_string(), revision);
        if let Some(d) = self
            .definitions
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(d);
        }
        let Some(r) =
            self.get_resource_sync(ResourceKind::Revision, &revision_arn(sm, revision))?
        else {
            return Err(StoreError::NotFound(format!("{sm} revision {revision}")));
        };
        let text = r
            .body
            .get("definition")
            .and_then(|d| d.as_str())
            .unwrap_or_default();
        let def = Definition::from_json(text)
            .map_err(|e| StoreError::BadDefinition(sm.to_string(), e.message))?;
        let def = Arc::new(def);
        if let Ok(mut m) = self.definitions.lock() {
            m.insert(key, def.clone());
        }
        Ok(def)
    }

    fn get_resource_sync(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> Result<Option<Resource>, StoreError> {
        Ok(self.shared_resource(kind, arn)?.map(Arc::unwrap_or_clone))
    }

    /// A record as the cache keeps it (shared), read into it on a miss.
    fn shared_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> Result<Option<Arc<Resource>>, StoreError> {
        let generation = match self.resources.get(kind, arn) {
            resource_cache::Cached::Hit(r) => return Ok(r),
            resource_cache::Cached::Miss(g) => g,
        };
        let found = self.read_resource(kind, arn)?.map(Arc::new);
        self.resources.fill(generation, kind, arn, &found);
        Ok(found)
    }

    fn read_resource(&self, kind: ResourceKind, arn: &str) -> Result<Option<Resource>, StoreError> {
        let row: Option<(Option<String>, String)> = self.with(|c| {
            query_one(
                c,
                "SELECT parent, body FROM resources WHERE kind = ?1 AND arn = ?2",
                params![kind.as_str(), arn],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)
        })?;
        row.map(|(parent, body)| {
            Ok(Resource {
                kind,
                arn: arn.to_string(),
                parent,
                body: stepwise_engine::deep::from_str(&body).map_err(json_err)?,
            })
        })
        .transpose()
    }

    fn put_resource_write(
        &self,
        r: &Resource,
        create_only: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + '_ {
        let body = stepwise_engine::deep::to_string(&r.body).map_err(json_err);
        let (kind, arn, parent) = (r.kind.as_str(), r.arn.clone(), r.parent.clone());
        let forget = (r.kind, r.arn.clone());
        let write = body.map(|body| {
            self.writer.write(move |c| {
                let sql = if create_only {
                    "INSERT OR IGNORE INTO resources(kind, arn, parent, body) VALUES (?1, ?2, ?3, ?4)"
                } else {
                    "INSERT INTO resources(kind, arn, parent, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(kind, arn) DO UPDATE SET parent = excluded.parent, body = excluded.body"
                };
                let n = c
                    .execute(sql, params![kind, arn, parent, body])
                    .map_err(db_err)?;
                if create_only && n == 0 {
                    return Err(StoreError::Conflict(arn));
                }
                Ok(())
            })
        });
        async move {
            let done = write?.await;
            self.resources.forget(forget.0, &forget.1);
            done
        }
    }

    fn list_resources_sync(
        &self,
        kind: ResourceKind,
        parent: Option<&str>,
    ) -> Result<Vec<Resource>, StoreError> {
        let rows: Vec<(String, Option<String>, String)> = self.with(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT arn, parent, body FROM resources WHERE kind = ?1
                     AND (?2 IS NULL OR parent = ?2) ORDER BY rowid",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![kind.as_str(), parent], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows)
        })?;
        // One unreadable record is reported and left out of the list, never the end of it.
        Ok(rows
            .into_iter()
            .filter_map(
                |(arn, parent, body)| match stepwise_engine::deep::from_str(&body) {
                    Ok(body) => Some(Resource {
                        kind,
                        arn,
                        parent,
                        body,
                    }),
                    Err(e) => {
                        eprintln!(
                            "stepwise: the {} record {arn} is unreadable: {e}",
                            kind.as_str()
                        );
                        None
                    }
                },
            )
            .collect())
    }

    fn row_from(
        meta: String,
        status: String,
        stop_ms: Option<i64>,
        redrive_count: u32,
    ) -> Result<ExecutionRow, StoreError> {
        Ok(ExecutionRow {
            meta: stepwise_engine::deep::from_str(&meta).map_err(json_err)?,
            status,
            stop_ms,
            redrive_count,
        })
    }

    /// [`ApiStore::execution_with_row`] as SQLite has it (the store's answer when the execution
    /// is not kept in memory).
    fn stored_execution_with_row(
        &self,
        arn: &str,
    ) -> Result<Option<(ExecutionRow, StoredExecution)>, StoreError> {
        type Columns = (String, String, Option<i64>, u32, String);
        self.with(|c| {
            query_one(
                c,
                "SELECT meta, status, stop_ms, redrive_count, body FROM executions WHERE arn = ?1",
                params![arn],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db_err)
        })
        .and_then(|o: Option<Columns>| {
            o.map(|(m, s, stop, rc, body)| {
                let row = Self::row_from(m, s, stop, rc)?;
                let ex = stepwise_engine::deep::from_str(&body).map_err(json_err)?;
                Ok((row, ex))
            })
            .transpose()
        })
    }

    fn list_executions_sync(
        &self,
        f: &ExecutionFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ExecutionRow>, StoreError> {
        type Raw = (String, String, Option<i64>, u32);
        let sql = if f.state_machine_arn.is_some() {
            LIST_OF_MACHINE
        } else {
            LIST_ANY
        };
        let rows: Vec<Raw> = self.with(|c| {
            let mut st = c.prepare_cached(sql).map_err(db_err)?;
            let rows = st
                .query_map(
                    params![
                        f.state_machine_arn,
                        f.status,
                        f.version_arn,
                        f.alias_arn,
                        limit as i64,
                        offset as i64,
                        f.redriven,
                        f.map_run_arn
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows)
        })?;
        // One unreadable row is reported and left out of the list, never the end of it.
        Ok(rows
            .into_iter()
            .filter_map(|(m, s, stop, rc)| match Self::row_from(m, s, stop, rc) {
                Ok(row) => Some(row),
                Err(e) => {
                    eprintln!("stepwise: an execution's listing row is unreadable: {e}");
                    None
                }
            })
            .collect())
    }
}

/// The first bytes of a page row in packed form: four zero bytes (a JSON page, compressed, begins
/// with its length, never zero) and the form's version; then [`RAW`] or [`LZ4`].
const PACKED_PAGE: [u8; 5] = [0, 0, 0, 0, 2];
/// The packed events follow as they are.
const RAW: u8 = 0;
/// The packed events follow LZ4-compressed, their size first.
const LZ4: u8 = 1;
/// Packed events up to this size are kept as they are: with the row's key they still fit in its
/// database page (4 KiB), and compressing them cost more than what it saved the writer.
const RAW_PAGE_BYTES: usize = 3800;

/// What a page row keeps: its events packed ([`stepwise_engine::history::read_packed`]), after
/// [`PACKED_PAGE`], compressed when large. W1's 100 states pack into 3.6 KB (6.0 KB as
/// compressed JSON, 42 KB as JSON): one database page instead of an overflow chain.
fn page_body(packed: &[u8]) -> Vec<u8> {
    // Sized for what the body holds: a commit keeps all its pages until it writes them, and a
    // compressed page's body sized for its packed bytes held a large payload's whole text per
    // page (a loop over a 230 KB payload held 1 GB for 4,000 events).
    let (form, bytes) = if packed.len() <= RAW_PAGE_BYTES {
        (RAW, std::borrow::Cow::Borrowed(packed))
    } else {
        (
            LZ4,
            std::borrow::Cow::Owned(lz4_flex::compress_prepend_size(packed)),
        )
    };
    let mut body = Vec::with_capacity(PACKED_PAGE.len() + 1 + bytes.len());
    body.extend_from_slice(&PACKED_PAGE);
    body.push(form);
    body.extend_from_slice(&bytes);
    body
}

/// A page row's events: packed ([`page_body`]), or as pages were written before: a compressed
/// JSON array (a blob), first a JSON text.
fn page_events(body: rusqlite::types::ValueRef<'_>) -> Result<Vec<HistoryEvent>, StoreError> {
    use rusqlite::types::ValueRef;
    let broken =
        |e: &dyn std::fmt::Display| StoreError::Other(format!("a stored history page: {e}"));
    let read =
        |packed: &[u8]| stepwise_engine::history::read_packed(packed).map_err(|e| broken(&e));
    match body {
        ValueRef::Text(t) => stepwise_engine::deep::from_slice(t).map_err(json_err),
        ValueRef::Blob(b) => match b.strip_prefix(&PACKED_PAGE[..]) {
            Some([RAW, packed @ ..]) => read(packed),
            Some([LZ4, compressed @ ..]) => {
                read(&lz4_flex::decompress_size_prepended(compressed).map_err(|e| broken(&e))?)
            }
            Some(_) => Err(broken(&"a form this version does not read")),
            None if b.starts_with(&PACKED_PAGE[..4]) => {
                Err(broken(&"a form this version does not read"))
            }
            None => {
                let json = lz4_flex::decompress_size_prepended(b).map_err(|e| broken(&e))?;
                stepwise_engine::deep::from_slice(&json).map_err(json_err)
            }
        },
        _ => Err(StoreError::Other(
            "a stored history page is neither text nor a blob".into(),
        )),
    }
}

/// Writes a commit's history pages ([`pages`]).
fn insert_pages(c: &Connection, arn: &str, rows: &[(u64, u64, Vec<u8>)]) -> Result<(), StoreError> {
    let mut ins = c
        .prepare_cached(
            "INSERT OR REPLACE INTO event_pages(arn, first_id, last_id, body)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db_err)?;
    for (first, last, b) in rows {
        ins.execute(params![arn, *first as i64, *last as i64, b])
            .map_err(db_err)?;
    }
    Ok(())
}

/// A commit's history as pages: (first id, last id, [`page_body`] of its events). Built on the
/// caller's thread, compression included, so that the writer only writes.
fn pages(history: &[HistoryEvent]) -> Result<Vec<(u64, u64, Vec<u8>)>, StoreError> {
    stepwise_engine::deep::on_big_stack(|| {
        let mut out: Vec<(u64, u64, Vec<u8>)> = Vec::new();
        // Room for the page from the start: growing it copied the bytes again and again.
        let mut packed: Vec<u8> = Vec::with_capacity((history.len() * 128).min(PAGE_BYTES + 4096));
        let mut memo = PackMemo::default();
        let mut count = 0;
        for h in history {
            match out.last_mut() {
                Some((_, last, _)) if count < PAGE_EVENTS && packed.len() < PAGE_BYTES => {
                    *last = h.id;
                    count += 1;
                }
                _ => {
                    if let Some((_, _, body)) = out.last_mut() {
                        *body = page_body(&packed);
                        packed.clear();
                    }
                    out.push((h.id, h.id, Vec::new()));
                    // Each page reads on its own: nothing refers to the page before.
                    memo = PackMemo::default();
                    count = 1;
                }
            }
            h.write_packed(&mut packed, &mut memo).map_err(json_err)?;
        }
        if let Some((_, _, body)) = out.last_mut() {
            *body = page_body(&packed);
        }
        Ok(out)
    })
}

fn ready<T: Send>(v: T) -> impl Future<Output = T> + Send {
    std::future::ready(v)
}

impl ExecutionStore for SqliteStore {
    fn load<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredExecution>, StoreError>> {
        Box::pin(ready(self.load_sync(arn)))
    }

    fn commit<'a>(
        &'a self,
        next: &'a StoredExecution,
        expected_version: u64,
        history: &'a [HistoryEvent],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.commit_write(next, expected_version, history))
    }

    fn clear_outbox<'a>(
        &'a self,
        arn: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.clear_outbox_write(arn, version))
    }

    fn definition<'a>(
        &'a self,
        state_machine_arn: &'a str,
        revision: u64,
    ) -> BoxFuture<'a, Result<Arc<Definition>, StoreError>> {
        Box::pin(ready(self.definition_sync(state_machine_arn, revision)))
    }
}

/// One row of a query whose statement is kept prepared on the connection: preparing was a
/// tenth of a DescribeExecution.
fn query_one<T, P: rusqlite::Params>(
    c: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(params, f)
}

impl ApiStore for SqliteStore {
    fn put_resource(
        &self,
        resource: &Resource,
        create_only: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.put_resource_write(resource, create_only)
    }

    fn get_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> impl Future<Output = Result<Option<Resource>, StoreError>> + Send {
        ready(self.get_resource_sync(kind, arn))
    }

    fn read_resource_with<T: Send>(
        &self,
        kind: ResourceKind,
        arn: &str,
        read: impl FnOnce(&Resource) -> T + Send,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send {
        ready(
            self.shared_resource(kind, arn)
                .map(|r| r.as_deref().map(read)),
        )
    }

    fn delete_resource(
        &self,
        kind: ResourceKind,
        arn: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let arn = arn.to_string();
        let forget = arn.clone();
        let write = self.writer.write(move |c| {
            c.execute(
                "DELETE FROM resources WHERE kind = ?1 AND arn = ?2",
                params![kind.as_str(), arn],
            )
            .map(|n| n > 0)
            .map_err(db_err)
        });
        async move {
            let done = write.await;
            self.resources.forget(kind, &forget);
            done
        }
    }

    fn list_resources(
        &self,
        kind: ResourceKind,
        parent: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Resource>, StoreError>> + Send {
        ready(self.list_resources_sync(kind, parent))
    }

    fn create_execution(
        &self,
        execution: &StoredExecution,
        meta: &ExecutionMeta,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.insert_execution(execution, meta, &[])
    }

    /// One write: the execution's row holds its first step's checkpoint from the start.
    fn create_committed(
        &self,
        _created: &StoredExecution,
        meta: &ExecutionMeta,
        next: &StoredExecution,
        history: &[HistoryEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let write = self.insert_execution(next, meta, history);
        async move { write.await.map(|()| true) }
    }

    /// Both from the one row, in one read transaction (two were half of a DescribeExecution's
    /// reads: each began a transaction and re-read pages the writer had changed).
    fn execution_with_row(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<(ExecutionRow, StoredExecution)>, StoreError>> + Send
    {
        if let Some(kept) = self.finished.get(arn) {
            return ready(Ok(Some(kept)));
        }
        ready(self.stored_execution_with_row(arn))
    }

    fn execution_row(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRow>, StoreError>> + Send {
        let r = self
            .with(|c| {
                query_one(
                    c,
                    "SELECT meta, status, stop_ms, redrive_count FROM executions WHERE arn = ?1",
                    params![arn],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db_err)
            })
            .and_then(|o: Option<(String, String, Option<i64>, u32)>| {
                o.map(|(m, s, stop, rc)| Self::row_from(m, s, stop, rc))
                    .transpose()
            });
        ready(r)
    }

    fn list_executions(
        &self,
        filter: &ExecutionFilter,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ExecutionRow>, StoreError>> + Send {
        ready(self.list_executions_sync(filter, offset, limit))
    }

    fn history(
        &self,
        arn: &str,
        after: u64,
        reverse: bool,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<HistoryEvent>, StoreError>> + Send {
        let r = self
            .with(|c| {
                // Every page holds at least one event: `limit` pages hold `limit` events.
                let sql = if reverse {
                    "SELECT body FROM event_pages WHERE arn = ?1 AND first_id < ?2
                     ORDER BY first_id DESC LIMIT ?3"
                } else {
                    "SELECT body FROM event_pages WHERE arn = ?1 AND last_id > ?2
                     ORDER BY first_id LIMIT ?3"
                };
                let after = if reverse && after == 0 {
                    i64::MAX
                } else {
                    after as i64
                };
                let mut st = c.prepare_cached(sql).map_err(db_err)?;
                let mut rows = st
                    .query(params![arn, after, limit as i64])
                    .map_err(db_err)?;
                let mut bodies = Vec::new();
                while let Some(r) = rows.next().map_err(db_err)? {
                    bodies.push(rusqlite::types::Value::from(r.get_ref(0).map_err(db_err)?));
                }
                Ok(bodies)
            })
            .and_then(|bodies| {
                let mut out = Vec::new();
                for b in &bodies {
                    let mut page = page_events((b).into())?;
                    if reverse {
                        page.reverse();
                        out.extend(page.into_iter().filter(|h| after == 0 || h.id < after));
                    } else {
                        out.extend(page.into_iter().filter(|h| h.id > after));
                    }
                    if out.len() >= limit {
                        break;
                    }
                }
                out.truncate(limit);
                Ok(out)
            });
        ready(r)
    }

    fn put_token(
        &self,
        token: &str,
        execution_arn: &str,
        task: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let (token, execution_arn) = (token.to_string(), execution_arn.to_string());
        self.writer.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO tokens(token, arn, task) VALUES (?1, ?2, ?3)",
                params![token, execution_arn, task as i64],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send {
        ready(self.with(|c| {
            query_one(
                c,
                "SELECT arn, task, closed FROM tokens WHERE token = ?1",
                params![token],
                |r| {
                    Ok(TokenRecord {
                        execution_arn: r.get(0)?,
                        task: r.get::<_, i64>(1)? as u64,
                        closed: r.get::<_, i64>(2)? != 0,
                    })
                },
            )
            .optional()
            .map_err(db_err)
        }))
    }

    fn close_token(&self, token: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let token = token.to_string();
        self.writer.write(move |c| {
            c.execute(
                "UPDATE tokens SET closed = 1 WHERE token = ?1",
                params![token],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn push_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let (activity_arn, task) = (activity_arn.to_string(), task.clone());
        self.writer.write(move |c| {
            let exists: Option<i64> = query_one(
                c,
                "SELECT seq FROM activity_tasks WHERE token = ?1",
                params![task.token],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
            if exists.is_none() {
                c.execute(
                    "INSERT INTO activity_tasks(activity, token, input) VALUES (?1, ?2, ?3)",
                    params![activity_arn, task.token, task.input],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
    }

    fn take_activity_task(
        &self,
        activity_arn: &str,
    ) -> impl Future<Output = Result<Option<ActivityTask>, StoreError>> + Send {
        let activity_arn = activity_arn.to_string();
        self.writer.write(move |c| {
            let found: Option<(i64, String, String)> = query_one(
                c,
                "SELECT a.seq, a.token, a.input FROM activity_tasks a
                     LEFT JOIN tokens t ON t.token = a.token
                     WHERE a.activity = ?1 AND COALESCE(t.closed, 0) = 0 ORDER BY a.seq LIMIT 1",
                params![activity_arn],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(db_err)?;
            let out = match found {
                Some((seq, token, input)) => {
                    c.execute("DELETE FROM activity_tasks WHERE seq = ?1", params![seq])
                        .map_err(db_err)?;
                    Some(ActivityTask { token, input })
                }
                None => None,
            };
            Ok(out)
        })
    }

    /// Taking a task removed it already: the poll and the worker's connection are one process's.
    fn activity_task_delivered(
        &self,
        _activity_arn: &str,
        _task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        ready(Ok(()))
    }

    fn release_activity_task(
        &self,
        activity_arn: &str,
        task: &ActivityTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.push_activity_task(activity_arn, task)
    }

    fn running_executions(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        ready(self.with(|c| {
            let mut st = c.prepare(OPEN_EXECUTIONS).map_err(db_err)?;
            let rows = st
                .query_map([], |r| r.get(0))
                .map_err(db_err)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(db_err)?;
            Ok(rows)
        }))
    }

    fn put_timer(&self, t: &PendingTimer) -> impl Future<Output = Result<(), StoreError>> + Send {
        let t = t.clone();
        self.writer.write(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO timers(arn, timer, at_ms) VALUES (?1, ?2, ?3)",
                params![t.execution_arn, t.timer as i64, t.at_ms],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn delete_timer(
        &self,
        execution_arn: &str,
        timer: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let execution_arn = execution_arn.to_string();
        self.writer.write(move |c| {
            c.execute(
                "DELETE FROM timers WHERE arn = ?1 AND timer = ?2",
                params![execution_arn, timer as i64],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn timers(&self) -> impl Future<Output = Result<Vec<PendingTimer>, StoreError>> + Send {
        ready(self.with(|c| {
            let mut st = c
                .prepare("SELECT arn, timer, at_ms FROM timers ORDER BY at_ms")
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| {
                    Ok(PendingTimer {
                        execution_arn: r.get(0)?,
                        timer: r.get::<_, i64>(1)? as u64,
                        at_ms: r.get(2)?,
                    })
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            Ok(rows)
        }))
    }

    fn put_inflight(
        &self,
        execution_arn: &str,
        command: &Command,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let prepared = match command {
            Command::InvokeTask { task, .. } => stepwise_engine::deep::to_string(command)
                .map_err(json_err)
                .map(|body| Some((*task, body))),
            _ => Ok(None),
        };
        let execution_arn = execution_arn.to_string();
        let write = prepared.map(|p| {
            p.map(|(task, body)| {
                self.writer.write(move |c| {
                    c.execute(
                        "INSERT OR REPLACE INTO inflight(arn, task, command) VALUES (?1, ?2, ?3)",
                        params![execution_arn, task as i64, body],
                    )
                    .map(|_| ())
                    .map_err(db_err)
                })
            })
        });
        async move {
            match write? {
                Some(w) => w.await,
                None => Ok(()),
            }
        }
    }

    fn delete_inflight(
        &self,
        execution_arn: &str,
        task: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let execution_arn = execution_arn.to_string();
        self.writer.write(move |c| {
            c.execute(
                "DELETE FROM inflight WHERE arn = ?1 AND task = ?2",
                params![execution_arn, task as i64],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    fn inflight(&self) -> impl Future<Output = Result<Vec<(String, Command)>, StoreError>> + Send {
        let r = self
            .with(|c| {
                let mut st = c
                    .prepare("SELECT arn, command FROM inflight")
                    .map_err(db_err)?;
                let rows = st
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(db_err)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db_err)?;
                Ok(rows)
            })
            .map(|rows| {
                // One unreadable row is reported and left out, never the end of a restart.
                rows.into_iter()
                    .filter_map(|(a, c)| match stepwise_engine::deep::from_str(&c) {
                        Ok(command) => Some((a, command)),
                        Err(e) => {
                            eprintln!("stepwise: an in-flight task of {a} is unreadable: {e}");
                            None
                        }
                    })
                    .collect()
            });
        ready(r)
    }
}

#[cfg(test)]
mod query_plan_tests {
    use super::*;

    fn plan(store: &SqliteStore, sql: &str) -> String {
        store
            .with(|c| {
                let mut st = c
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .map_err(db_err)?;
                // Unbound parameters are NULL: the plan does not depend on them.
                let mut rows = st.raw_query();
                let mut steps = Vec::new();
                while let Some(row) = rows.next().map_err(db_err)? {
                    steps.push(row.get::<_, String>(3).map_err(db_err)?);
                }
                Ok(steps.join("; "))
            })
            .expect("planned")
    }

    /// Recovery reads the open executions' index, a machine's listing reads its index without
    /// sorting, a data directory with the old index of every status opens without it, and the
    /// retention sweeps' index exists once a sweep has run.
    #[test]
    fn the_store_s_queries_read_their_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).expect("db");
            conn.execute_batch(SCHEMA).expect("schema");
            conn.execute_batch("CREATE INDEX executions_status ON executions(status)")
                .expect("the old index");
        }
        let store = SqliteStore::open(dir.path()).expect("opens");
        assert_eq!(
            plan(&store, OPEN_EXECUTIONS),
            "SCAN executions USING INDEX executions_open"
        );
        assert_eq!(
            plan(&store, LIST_OF_MACHINE),
            "SEARCH executions USING INDEX executions_sm (sm_arn=?)"
        );
        let index = |name: &str| -> i64 {
            let sql = format!("SELECT count(*) FROM sqlite_master WHERE name = '{name}'");
            store
                .with(|c| c.query_row(&sql, [], |r| r.get(0)).map_err(db_err))
                .expect("counted")
        };
        assert_eq!(index("executions_status"), 0);
        // The retention sweeps' index comes with the first sweep, and the sweep reads it.
        assert_eq!(index("executions_stop"), 0);
        assert_eq!(store.delete_expired(0, 0).expect("sweep"), 0);
        assert_eq!(index("executions_stop"), 1);
        drop(store);
        // Planned on a connection opened after it: SQLite plans with the schema a connection
        // read, and the sweep's own connection made the index.
        let store = SqliteStore::open(dir.path()).expect("opens again");
        assert_eq!(
            plan(&store, retention::EXPIRED),
            "SEARCH executions USING INDEX executions_stop (stop_ms>? AND stop_ms<?)"
        );
    }
}

#[cfg(test)]
mod page_body_tests {
    use super::*;

    /// A compressed page's body holds its compressed bytes, not room for the packed ones (a
    /// commit keeps every page until it writes them), and reads back as what was packed.
    #[test]
    fn a_page_body_holds_only_its_bytes() {
        let packed = "{\"rows\":[\"x\"]}".repeat(20_000).into_bytes();
        let body = page_body(&packed);
        assert!(
            body.capacity() < packed.len() / 10,
            "{} bytes",
            body.capacity()
        );
        let compressed = body
            .strip_prefix(&PACKED_PAGE[..])
            .and_then(|b| b.strip_prefix(&[LZ4]))
            .expect("compressed");
        let back = lz4_flex::decompress_size_prepended(compressed).expect("decompresses");
        assert_eq!(back, packed);
        let small = page_body(b"abc");
        assert_eq!(small.len(), small.capacity());
        assert_eq!(&small[PACKED_PAGE.len()..], &[RAW, b'a', b'b', b'c']);
    }
}
