/work/main/tests/bench/load/target/release/stepwise-api-load: /work/main/tests/bench/load/src/main.rs
