fn main() {
    let (out, r) = stepwise_sim::workloads::run_world(
        0,
        stepwise_sim::Faults::none(),
        &[stepwise_sim::workloads::dmap("dmap", 5)],
    );
    let o = out.get("dmap").cloned().flatten().expect("outcome");
    println!(
        "{} {:?} {:?}\n{:#?} child={}",
        o.status, o.error, o.output, o.history, r.child_executions
    );
}
