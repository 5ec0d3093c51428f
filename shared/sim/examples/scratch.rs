fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let t = std::time::Instant::now();
    let r = stepwise_sim::workloads::run_machines(seed, stepwise_sim::Faults::standard(), &[stepwise_sim::workloads::dmap("dmap", n)]);
    println!("{:?}\nchild={} virtual={}s real={:?} faults={:?} largest={}", r.failures, r.child_executions, r.virtual_ms/1000, t.elapsed(), r.faults, r.largest_item);
}
