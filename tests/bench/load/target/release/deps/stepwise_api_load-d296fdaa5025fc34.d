/work/main/tests/bench/load/target/release/deps/stepwise_api_load-d296fdaa5025fc34.d: src/main.rs

/work/main/tests/bench/load/target/release/deps/stepwise_api_load-d296fdaa5025fc34: src/main.rs

src/main.rs:

# env-dep:CARGO_MANIFEST_DIR=/work/main/tests/bench/load
