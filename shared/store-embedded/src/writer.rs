//! Group commit: every write goes to one thread that owns the database's only write connection.
//! It takes every write waiting, runs them in one transaction, each inside a savepoint (so one
//! that fails, a lost conditional write say, leaves no trace and the others go on), commits once,
//! and only then answers each. A caller never hears "done" before its write is committed to the
//! WAL, which `synchronous = NORMAL` keeps across a kill -9, as one transaction per write did;
//! but many executions' steps now share one commit, and no async worker thread ever waits for
//! SQLite's write lock.

use crate::db_err;
use rusqlite::Connection;
use std::future::Future;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use stepwise_ports::execution::StoreError;

/// The most writes one transaction takes: enough to share a commit among many executions, few
/// enough that the first of them is not kept waiting long.
const MAX_BATCH: usize = 512;

/// One write: [`Job::run`] inside the batch's transaction, [`Job::answer`] after its commit.
trait Job: Send {
    /// Runs the write; `false` when it failed (its savepoint is rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch is committed (or with why it was not).
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Typed<T, F, R> {
    work: Option<F>,
    out: Option<Result<T, StoreError>>,
    reply: R,
}

impl<T, F, R> Job for Typed<T, F, R>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    R: FnOnce(Result<T, StoreError>) + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let out = match self.work.take() {
            Some(f) => f(conn),
            None => Err(StoreError::Other("a write ran twice".into())),
        };
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let this = *self;
        let out = match (committed, this.out) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(out)) => out,
            (Ok(()), None) => Err(StoreError::Other("a write never ran".into())),
        };
        (this.reply)(out);
    }
}

/// The writer thread and the way to it.
pub(crate) struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    checkpoints: Mutex<Option<JoinHandle<()>>>,
}

/// A checkpoint is asked for once the WAL has grown past this: 16,384 pages of 4 KiB, SQLite's
/// own threshold times sixteen. A checkpoint copies a page once however many commits rewrote
/// it, and nearly every commit rewrites the last pages of each table and index: at a quarter of
/// this, `serve` ran 7% fewer W1 executions a second. After a kill -9 that left a WAL of 64 MiB,
/// `serve` answered again 0.07 s after it was started.
const CHECKPOINT_BYTES: u64 = 64 << 20;

/// Copies the WAL back into the database on a thread of its own (a passive checkpoint never
/// holds the write lock), when the writer says it has grown: SQLite's automatic checkpoint ran
/// inside the writer's COMMIT and kept every write of the batch, and the batches behind it,
/// waiting for the copy.
struct Checkpoints {
    ask: mpsc::SyncSender<()>,
    wal: std::path::PathBuf,
}

impl Checkpoints {
    fn start(conn: Connection, wal: std::path::PathBuf) -> std::io::Result<(Self, JoinHandle<()>)> {
        // One request waiting is enough: the checkpoint copies whatever the WAL holds then.
        let (ask, asked) = mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("stepwise-db-checkpoint".into())
            .spawn(move || {
                while asked.recv().is_ok() {
                    // A failed checkpoint leaves the WAL as it was: the next one copies it.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })?;
        Ok((Checkpoints { ask, wal }, thread))
    }

    fn after_commit(&self) {
        if std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > CHECKPOINT_BYTES) {
            let _ = self.ask.try_send(());
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Other("the database writer has stopped".into())
}

impl Writer {
    /// Starts the thread that owns `conn` for writing (SQLite's automatic checkpoints on).
    #[cfg(test)]
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        Self::start_with(conn, None)
    }

    /// Starts the thread that owns `conn` for writing, and one that checkpoints the WAL at
    /// `wal` on `checkpoint` (turn `conn`'s automatic checkpoints off).
    pub(crate) fn start_checkpointing(
        conn: Connection,
        checkpoint: Connection,
        wal: std::path::PathBuf,
    ) -> std::io::Result<Self> {
        let (checkpoints, thread) = Checkpoints::start(checkpoint, wal)?;
        let w = Self::start_with(conn, Some(checkpoints))?;
        if let Ok(mut t) = w.checkpoints.lock() {
            *t = Some(thread);
        }
        Ok(w)
    }

    fn start_with(conn: Connection, checkpoints: Option<Checkpoints>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Box<dyn Job>>();
        let thread = std::thread::Builder::new()
            .name("stepwise-db-writer".into())
            // A write may carry (and drop) a deep payload: the stack deep values need.
            .stack_size(stepwise_engine::deep::STACK_SIZE)
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    // StoreError is not Clone: each write gets the batch's failure as text.
                    let committed = run_batch(&conn, &mut batch).map_err(|e| e.to_string());
                    for j in batch {
                        j.answer(committed.clone().map_err(StoreError::Other));
                    }
                    if let Some(c) = &checkpoints {
                        c.after_commit();
                    }
                }
                // Dropping `checkpoints` ends the checkpoint thread's loop.
            })?;
        Ok(Writer {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            checkpoints: Mutex::new(None),
        })
    }

    fn send(&self, job: Box<dyn Job>) -> Result<(), StoreError> {
        let jobs = self.jobs.lock().map_err(|_| stopped())?;
        jobs.as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())
    }

    /// Runs `f` in the next batch; resolves once that batch is committed.
    pub(crate) fn write<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_then(f, |_| {})
    }

    /// [`Self::write`], and `committed` with what `f` returned once the batch is committed, on
    /// the writer's thread before the caller hears: the writes' `committed` calls run in the
    /// order their writes ran, so what they keep in memory follows the database's order.
    pub(crate) fn write_then<T, F, C>(
        &self,
        f: F,
        committed: C,
    ) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        C: FnOnce(&T) + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sent = self.send(Box::new(Typed {
            work: Some(f),
            out: None,
            reply: move |r: Result<T, StoreError>| {
                if let Ok(v) = &r {
                    committed(v);
                }
                let _ = tx.send(r);
            },
        }));
        async move {
            sent?;
            rx.await.map_err(|_| stopped())?
        }
    }

    /// [`Self::write`] for a caller outside async code: blocks until the batch is committed.
    pub(crate) fn write_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Box::new(Typed {
            work: Some(f),
            out: None,
            reply: move |r| {
                let _ = tx.send(r);
            },
        }))?;
        rx.recv().map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Lets the thread finish what it has and close the connection before the store is gone.
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
        let checkpoints = self.checkpoints.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = checkpoints {
            let _ = t.join();
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(db_err)
}

/// One transaction for the whole batch, a savepoint per write.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    exec(conn, "BEGIN IMMEDIATE")?;
    let r = (|| {
        for j in batch.iter_mut() {
            exec(conn, "SAVEPOINT w")?;
            if !j.run(conn) {
                exec(conn, "ROLLBACK TO w")?;
            }
            exec(conn, "RELEASE w")?;
        }
        exec(conn, "COMMIT")
    })();
    if r.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(k INTEGER PRIMARY KEY)")
            .expect("schema");
        (Writer::start(conn).expect("start"), dir)
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let c = Connection::open(dir.path().join("w.db")).expect("open");
        c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count")
    }

    /// A write that fails in the middle leaves nothing behind; the writes batched with it stay.
    #[tokio::test]
    async fn a_failed_write_is_undone_alone() {
        let (w, dir) = writer();
        let insert = |k: i64| {
            move |c: &Connection| {
                c.execute("INSERT INTO t(k) VALUES (?1)", [k])
                    .map(|_| ())
                    .map_err(db_err)
            }
        };
        let a = w.write(insert(1));
        let b = w.write(|c: &Connection| {
            c.execute("INSERT INTO t(k) VALUES (2)", [])
                .map_err(db_err)?;
            Err::<(), _>(StoreError::Conflict("second".into()))
        });
        let c = w.write(insert(3));
        assert!(a.await.is_ok());
        assert!(matches!(b.await, Err(StoreError::Conflict(_))));
        assert!(c.await.is_ok());
        // A duplicate key is an SQL error: undone alone too.
        assert!(w.write(insert(1)).await.is_err());
        assert!(w.write_blocking(insert(4)).is_ok());
        assert_eq!(count(&dir), 3);
        let keys: Vec<i64> = {
            let c = Connection::open(dir.path().join("w.db")).expect("open");
            let mut s = c.prepare("SELECT k FROM t ORDER BY k").expect("prepare");
            let rows = s
                .query_map([], |r| r.get(0))
                .expect("query")
                .collect::<Result<Vec<_>, _>>()
                .expect("rows");
            rows
        };
        assert_eq!(keys, [1, 3, 4]);
    }

    /// Answered only once committed: another connection sees the write when its caller hears.
    #[tokio::test]
    async fn answered_after_commit() {
        let (w, dir) = writer();
        let writes: Vec<_> = (0..200)
            .map(|k: i64| {
                w.write(move |c: &Connection| {
                    c.execute("INSERT INTO t(k) VALUES (?1)", [k])
                        .map(|_| ())
                        .map_err(db_err)
                })
            })
            .collect();
        for f in writes {
            f.await.expect("written");
        }
        assert_eq!(count(&dir), 200);
    }
}
