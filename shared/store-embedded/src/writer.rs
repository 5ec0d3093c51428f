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

/// A checkpoint is asked for once the WAL holds this many frames (pages of 4 KiB): SQLite's own
/// threshold times sixteen. A checkpoint copies a page once however many commits rewrote it,
/// and nearly every commit rewrites the last pages of each table and index: at a quarter of
/// this, `serve` ran 7% fewer W1 executions a second. After a kill -9 under load that left a
/// WAL file of 108 MiB, `serve` answered again 0.11 s after it was started.
const CHECKPOINT_FRAMES: i32 = 16_384;

thread_local! {
    /// The frames in the WAL after the last commit on this thread's connection, as SQLite's
    /// WAL hook tells them (its callback takes no state of its own; the writer's connection
    /// commits on the writer's thread only).
    static WAL_FRAMES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

fn count_wal_frames(_: &rusqlite::hooks::Wal, frames: std::os::raw::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(frames));
    Ok(())
}

/// Copies the WAL back into the database on a thread of its own (a passive checkpoint never
/// holds the write lock), when the writer says it has grown: SQLite's automatic checkpoint ran
/// inside the writer's COMMIT and kept every write of the batch, and the batches behind it,
/// waiting for the copy.
struct Checkpoints {
    ask: mpsc::SyncSender<()>,
    /// The WAL's frames past which one is asked for ([`CHECKPOINT_FRAMES`]).
    frames: i32,
}

impl Checkpoints {
    fn start(conn: Connection, frames: i32) -> std::io::Result<(Self, JoinHandle<()>)> {
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
        Ok((Checkpoints { ask, frames }, thread))
    }

    /// On the writer's thread, after a commit on `conn`. Passive checkpoints run beside the
    /// writes and copy what was committed when they began; under writes that never pause, the
    /// WAL may never be wholly copied at the moment a write begins, which is when SQLite starts
    /// it over, and it would grow without end. Past twice its frames the writer itself copies
    /// it all and has it start over (readers and the checkpoint thread are waited for).
    fn after_commit(&self, conn: &Connection) {
        let frames = WAL_FRAMES.with(|f| f.get());
        if frames > 2 * self.frames {
            let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
            WAL_FRAMES.with(|f| f.set(0));
        } else if frames > self.frames {
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

    /// Starts the thread that owns `conn` for writing, and one that checkpoints the WAL on
    /// `checkpoint` (this replaces `conn`'s automatic checkpoints).
    pub(crate) fn start_checkpointing(
        conn: Connection,
        checkpoint: Connection,
    ) -> std::io::Result<Self> {
        Self::checkpointing_past(conn, checkpoint, CHECKPOINT_FRAMES)
    }

    /// A writer whose passive checkpoints never run: only its own restarts copy the WAL.
    #[cfg(test)]
    fn without_passive_checkpoints(conn: Connection, frames: i32) -> std::io::Result<Self> {
        // The receiving end is dropped: every request for a checkpoint is lost.
        let (ask, _) = mpsc::sync_channel::<()>(1);
        Self::start_with(conn, Some(Checkpoints { ask, frames }))
    }

    fn checkpointing_past(
        conn: Connection,
        checkpoint: Connection,
        frames: i32,
    ) -> std::io::Result<Self> {
        let (checkpoints, thread) = Checkpoints::start(checkpoint, frames)?;
        let w = Self::start_with(conn, Some(checkpoints))?;
        if let Ok(mut t) = w.checkpoints.lock() {
            *t = Some(thread);
        }
        Ok(w)
    }

    fn start_with(conn: Connection, checkpoints: Option<Checkpoints>) -> std::io::Result<Self> {
        if checkpoints.is_some() {
            // What the checkpoints go by; it replaces the automatic checkpoints' own hook
            // (SQLite keeps one per connection).
            conn.wal_hook(Some(count_wal_frames));
        }
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
                        c.after_commit(&conn);
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

    /// The writer asks for a checkpoint once the WAL holds more frames than its threshold: the
    /// rows reach the database file (nothing else copies them there: automatic checkpoints are
    /// off).
    #[tokio::test]
    async fn the_wal_is_checkpointed_once_past_its_frames() {
        wal_checkpointed(true).await;
    }

    /// When the passive checkpoints do not keep up (here: never run), the writer copies the WAL
    /// itself once it holds twice its frames.
    #[tokio::test]
    async fn a_wal_the_checkpoints_do_not_keep_up_with_is_copied_by_the_writer() {
        wal_checkpointed(false).await;
    }

    async fn wal_checkpointed(passive: bool) {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("w.db");
        let open = || {
            let c = Connection::open(&file).expect("open");
            c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0")
                .expect("wal");
            c
        };
        let conn = open();
        conn.execute_batch("CREATE TABLE t(k INTEGER PRIMARY KEY, b BLOB)")
            .expect("schema");
        let w = if passive {
            Writer::checkpointing_past(conn, open(), 16)
        } else {
            Writer::without_passive_checkpoints(conn, 16)
        }
        .expect("start");
        // 200 commits of two pages or more each, ~1 MB of rows.
        for k in 0..200i64 {
            w.write(move |c: &Connection| {
                c.execute("INSERT INTO t(k, b) VALUES (?1, zeroblob(5000))", [k])
                    .map(|_| ())
                    .map_err(db_err)
            })
            .await
            .expect("written");
        }
        // The checkpoints run on a thread of their own: wait for them.
        let copied = || std::fs::metadata(&file).map_or(0, |m| m.len()) > 500_000;
        for _ in 0..200 {
            if copied() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(copied(), "the rows never reached the database file");
        assert_eq!(count(&dir), 200);
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
