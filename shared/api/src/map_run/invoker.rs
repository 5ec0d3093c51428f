//! The task invoker in front of a home's own, which takes map run requests
//! ([`MapRunRequest`]) to [`Service::run_map_run`], and the wakers UpdateMapRun uses.

use crate::Service;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use stepwise_engine::map_run::MapRunRequest;
use stepwise_ports::api::ApiStore;
use stepwise_ports::tasks::{
    JobLook, Submission, SyncPolling, TaskFailure, TaskInvoker, TaskRequest, Traced,
};
use stepwise_ports::BoxFuture;
use stepwise_tasks_aws::map_io::stream::MapObjects;

/// The running map runs of this process, woken by UpdateMapRun (map run ARNs are unique).
pub(crate) fn wakers(
) -> &'static std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Notify>>> {
    static W: OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Notify>>>,
    > = OnceLock::new();
    W.get_or_init(Default::default)
}

/// Tells a running map run that its record changed (UpdateMapRun).
pub(crate) fn wake(map_run_arn: &str) {
    if let Some(n) = wakers()
        .lock()
        .ok()
        .and_then(|m| m.get(map_run_arn).cloned())
    {
        n.notify_one();
    }
}

/// Takes map run requests; every other task goes to `inner`.
pub struct MapRunInvoker<S: ApiStore + 'static> {
    inner: Arc<dyn TaskInvoker>,
    objects: MapObjects,
    service: OnceLock<Weak<Service<S>>>,
    /// Runs are carried out a piece of at most this many milliseconds at a time, as jobs
    /// ([`Service::tick_map_run`]); 0: each in one call.
    piece_ms: AtomicU64,
}

impl<S: ApiStore + 'static> MapRunInvoker<S> {
    /// An invoker in front of `inner`; map runs read and write `objects`.
    pub fn new(inner: Arc<dyn TaskInvoker>, objects: MapObjects) -> Arc<Self> {
        Arc::new(MapRunInvoker {
            inner,
            objects,
            service: OnceLock::new(),
            piece_ms: AtomicU64::new(0),
        })
    }

    /// An invoker whose map runs are jobs (submitted, then looked at until they end), each
    /// look carrying its run on for at most `piece`: for a home whose functions live minutes.
    pub fn in_pieces(
        inner: Arc<dyn TaskInvoker>,
        objects: MapObjects,
        piece: Duration,
    ) -> Arc<Self> {
        Arc::new(MapRunInvoker {
            inner,
            objects,
            service: OnceLock::new(),
            piece_ms: AtomicU64::new(piece.as_millis().max(1) as u64),
        })
    }

    /// Changes how long a piece is (tests that run the functions one after another).
    pub fn set_piece(&self, piece: Duration) {
        self.piece_ms
            .store(piece.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    fn service(&self) -> Result<Arc<Service<S>>, TaskFailure> {
        self.service
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| TaskFailure::runtime("the Step Functions service is not running"))
    }

    /// The map run a job's task asks for, when it is one and runs in pieces.
    fn piecewise(&self, req: &TaskRequest) -> Option<(MapRunRequest, Duration)> {
        let piece = match self.piece_ms.load(Ordering::Relaxed) {
            0 => return None,
            ms => Duration::from_millis(ms),
        };
        Some((MapRunRequest::from_parameters(&req.parameters)?, piece))
    }

    /// The service whose executions the children are (bound once it exists).
    pub fn bind(&self, service: &Arc<Service<S>>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    async fn run(&self, req: TaskRequest, r: MapRunRequest) -> Result<Value, TaskFailure> {
        let Some(service) = self.service.get().and_then(Weak::upgrade) else {
            return Err(TaskFailure::runtime(
                "the Step Functions service is not running",
            ));
        };
        service
            .run_map_run(&self.objects, &req.execution_arn, r)
            .await
    }
}

impl<S: ApiStore + 'static> TaskInvoker for MapRunInvoker<S> {
    fn invoke(&self, req: TaskRequest) -> BoxFuture<'_, Result<Value, TaskFailure>> {
        match MapRunRequest::from_parameters(&req.parameters) {
            Some(r) => Box::pin(self.run(req, r)),
            None => self.inner.invoke(req),
        }
    }

    fn invoke_traced(&self, req: TaskRequest, reveal_secrets: bool) -> BoxFuture<'_, Traced> {
        self.inner.invoke_traced(req, reveal_secrets)
    }

    fn check_mock_result(
        &self,
        resource: &stepwise_asl::resource::TaskResource,
        result: &Value,
        strict: bool,
    ) -> Result<(), String> {
        self.inner.check_mock_result(resource, result, strict)
    }

    fn answers_callback(&self, req: &TaskRequest) -> bool {
        self.inner.answers_callback(req)
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<Submission, TaskFailure>> {
        if let Some((r, _)) = self.piecewise(&req) {
            return Box::pin(async move {
                self.service()?.begin_map_run(&r, req.redrive_count).await?;
                Ok(Submission::Job {
                    output: serde_json::json!({ "MapRunArn": r.map_run_arn }),
                    job: serde_json::json!({ "MapRunArn": r.map_run_arn }),
                    polling: SyncPolling {
                        first: Duration::from_millis(200),
                        max: Duration::from_secs(2),
                    },
                })
            });
        }
        match MapRunRequest::from_parameters(&req.parameters) {
            Some(r) => Box::pin(async move { self.run(req, r).await.map(Submission::Done) }),
            None => self.inner.submit(req),
        }
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<JobLook, TaskFailure>> {
        if let Some((r, piece)) = self.piecewise(req) {
            return Box::pin(async move {
                self.service()?
                    .tick_map_run(&self.objects, &req.execution_arn, r, piece)
                    .await
            });
        }
        self.inner.poll_job(req, job)
    }

    fn job_hold(&self, req: &TaskRequest) -> Option<Duration> {
        match self.piecewise(req) {
            Some((_, piece)) => Some(piece + super::resumable::LEASE_MARGIN),
            None => self.inner.job_hold(req),
        }
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        if let Some((r, _)) = self.piecewise(req) {
            return Box::pin(async move {
                if let Ok(s) = self.service() {
                    s.abort_map_run(&r).await;
                }
            });
        }
        self.inner.stop_job(req, job)
    }
}
