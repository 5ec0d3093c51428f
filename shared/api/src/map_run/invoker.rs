//! The task invoker in front of a home's own, which takes map run requests
//! ([`MapRunRequest`]) to [`Service::run_map_run`], and the wakers UpdateMapRun uses.

use crate::Service;
use serde_json::Value;
use std::sync::{Arc, OnceLock, Weak};
use stepwise_engine::map_run::MapRunRequest;
use stepwise_ports::api::ApiStore;
use stepwise_ports::tasks::{Submission, TaskFailure, TaskInvoker, TaskRequest, Traced};
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
}

impl<S: ApiStore + 'static> MapRunInvoker<S> {
    /// An invoker in front of `inner`; map runs read and write `objects`.
    pub fn new(inner: Arc<dyn TaskInvoker>, objects: MapObjects) -> Arc<Self> {
        Arc::new(MapRunInvoker {
            inner,
            objects,
            service: OnceLock::new(),
        })
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
        match MapRunRequest::from_parameters(&req.parameters) {
            Some(r) => Box::pin(async move { self.run(req, r).await.map(Submission::Done) }),
            None => self.inner.submit(req),
        }
    }

    fn poll_job<'a>(
        &'a self,
        req: &'a TaskRequest,
        job: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Value>, TaskFailure>> {
        self.inner.poll_job(req, job)
    }

    fn stop_job<'a>(&'a self, req: &'a TaskRequest, job: &'a Value) -> BoxFuture<'a, ()> {
        self.inner.stop_job(req, job)
    }
}
