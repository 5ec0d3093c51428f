//! The share of public state machines Stepwise runs for real (issue 9's figure): every Task
//! resource of a definition in `../shared/conformance/realworld/valid` served by the router's own
//! test (`stepwise_tasks_aws::services::can_serve`). `cargo run -p stepwise-tests --bin
//! realworld-coverage` prints the list with reasons; this keeps the figure from going down.

use stepwise_tests::coverage::realworld_coverage;

/// Measured when the integrations landed: 231 of the 257 definitions that have a Task. The 26
/// others hold test placeholders (`__tbd__`, 20), `arn:aws:swf` ARNs (2), retired services
/// (iotanalytics, lookoutvision: 3) or an optimized integration Stepwise lacks (sagemaker,
/// elasticmapreduce: 2; one definition has both kinds).
const SERVABLE_AT_LEAST: usize = 231;

#[test]
fn public_definitions_served_for_real_do_not_go_down() {
    let Some(shared) = stepwise_tests::shared_dir() else {
        eprintln!("skipping: no ../shared beside the repository");
        return;
    };
    let c = realworld_coverage(&shared.join("conformance/realworld/valid"))
        .expect("reading the definitions");
    println!(
        "{} definitions, {} with a Task, {} fully servable",
        c.definitions, c.with_task, c.servable
    );
    assert!(
        c.servable >= SERVABLE_AT_LEAST,
        "only {} of {} servable now; unservable: {:#?}",
        c.servable,
        c.with_task,
        c.unservable
    );
    // Every reason names something: a placeholder, another service, or an integration.
    for (file, missing) in &c.unservable {
        for (resource, why) in missing {
            assert!(!why.is_empty(), "{file}: {resource} has no reason");
        }
    }
}
