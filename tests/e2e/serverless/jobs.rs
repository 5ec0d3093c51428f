//! The job and model integrations through the invoker function, as `stepwise run` and `stepwise
//! serve` run them in `integrations_jobs.rs`: `ecs:runTask`, `glue:startJobRun`,
//! `athena:startQueryExecution` (request-response and `.sync`) and `athena:getQueryResults` on
//! moto; `batch:submitJob` (request-response and `.sync`) and `bedrock:invokeModel` on the fake
//! endpoint. The invoker has one endpoint URL for every service (as a deployment behind a proxy
//! would): the fake answers Batch and Bedrock Runtime and passes everything else (STS, ECS,
//! Glue, Athena) on to moto. `.sync` jobs are started by the invoker and looked at again through
//! the tasks queue. Every call is made as the execution's role (moto's STS): the resources live
//! in its account.

use super::*;
use crate::integrations_jobs::{
    check_jobs, create_job_resources, jobs_fake, jobs_input, jobs_machine,
};

#[tokio::test(flavor = "multi_thread")]
async fn jobs_and_models_through_the_invoker() {
    let Some(mut h) = harness(None, false).await else {
        return;
    };
    let fake = jobs_fake(Some(h._emulators.moto_url.clone())).await;
    // The invoker as `harness` builds it, with the fake (and moto behind it) as its endpoint.
    h.invoker = invoker_at(&h.aws, &fake.url, None, None, None).await;
    let c = services::role_caller(&h).await;
    let cluster = create_job_resources(&c).await;
    let sm = h.create("jobs", &jobs_machine(&cluster)).await;
    let arn = start_execution(&h, &sm, Some("j-1".into()), jobs_input(), None)
        .await
        .expect("start");
    h.run_until_done(std::slice::from_ref(&arn), Duration::from_secs(180))
        .await;
    let (e, _) = h.outcome(&arn).await;
    assert_eq!(
        e.state.status,
        Status::Succeeded,
        "{:?} {:?}",
        e.state.error,
        e.state.cause
    );
    let out = e.state.output.expect("output");
    check_jobs(&out, &c, &cluster, &fake).await;
    // Each `.sync` job was submitted (TaskSubmitted with the start call's output) before the
    // invoker returned: AWS's events for the Run a Job pattern.
    let events = history_through_api(&h.api(), &arn, 1000, false).await;
    let submitted: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .filter_map(|e| e["taskSubmittedEventDetails"]["resource"].as_str())
        .map(str::to_string)
        .collect();
    assert_eq!(
        submitted,
        [
            "runTask.sync",
            "startJobRun.sync",
            "startQueryExecution.sync",
            "submitJob.sync"
        ]
    );
}
