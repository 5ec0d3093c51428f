//! The end-to-end tests, one binary of modules (one link of every SDK instead of one per file):
//! the CLI, `stepwise serve` driven by real clients (boto3, the AWS CLI) and by the conformance
//! harness, durability across `kill -9`, the serverless home on DynamoDB Local and moto, and the
//! infrastructure templates. Engine-only tests live in `shared/engine/tests`.

mod api;
mod assume_role;
mod aws_api;
mod aws_sdk;
mod cli;
mod console;
mod deep_payloads;
mod infra_templates;
mod integrations;
mod integrations_bad_input;
mod integrations_callbacks;
mod integrations_jobs;
mod integrations_messaging;
mod optimized;
mod order_flow_example;
mod realworld_coverage;
mod serve_clients;
mod serve_common;
mod serve_durability;
mod serve_harness;
mod serverless;
mod store_contract;
