//! The integration tests, one binary: `cargo test` runs test binaries one after another, so one
//! binary lets every test run beside every other, and the library is linked once, not once a file.
//! Each file below is one area; a new file needs its line here.

mod common;

#[path = "api_token.rs"]
mod api_token;
#[path = "bad_resources.rs"]
mod bad_resources;
#[path = "bench_smoke.rs"]
mod bench_smoke;
#[path = "breaker_cases.rs"]
mod breaker_cases;
#[path = "caller_headers.rs"]
mod caller_headers;
#[path = "cancelled_calls.rs"]
mod cancelled_calls;
#[path = "channel_faults.rs"]
mod channel_faults;
#[path = "cli.rs"]
mod cli;
#[path = "cli_list.rs"]
mod cli_list;
#[path = "command_app.rs"]
mod command_app;
#[path = "exposure.rs"]
mod exposure;
#[path = "fault_cycles.rs"]
mod fault_cycles;
#[path = "fuzz_corpus_replay.rs"]
mod fuzz_corpus_replay;
#[path = "hot_reload.rs"]
mod hot_reload;
#[path = "jsonl_schema.rs"]
mod jsonl_schema;
#[path = "killed_run_apps.rs"]
mod killed_run_apps;
#[path = "leftover_fault.rs"]
mod leftover_fault;
#[path = "leftover_redis.rs"]
mod leftover_redis;
#[path = "lessons.rs"]
mod lessons;
#[path = "lifecycle.rs"]
mod lifecycle;
#[path = "loader_diagnostics.rs"]
mod loader_diagnostics;
#[path = "loader_fidelity.rs"]
mod loader_fidelity;
#[path = "local_scenarios.rs"]
mod local_scenarios;
#[path = "metrics_end_to_end.rs"]
mod metrics_end_to_end;
#[path = "narration.rs"]
mod narration;
#[path = "own_apps.rs"]
mod own_apps;
#[path = "own_sdk_app.rs"]
mod own_sdk_app;
#[path = "own_sdk_store_faults.rs"]
mod own_sdk_store_faults;
#[path = "policy_cases.rs"]
mod policy_cases;
#[path = "python_sdk.rs"]
mod python_sdk;
#[path = "python_sdk_grpc.rs"]
mod python_sdk_grpc;
#[path = "python_sdk_grpc_invoke.rs"]
mod python_sdk_grpc_invoke;
#[path = "quickstart_end_to_end.rs"]
mod quickstart_end_to_end;
#[path = "quickstart_timeline.rs"]
mod quickstart_timeline;
#[path = "redis_store.rs"]
mod redis_store;
#[path = "registry_cases.rs"]
mod registry_cases;
#[path = "scenario_e2e.rs"]
mod scenario_e2e;
#[path = "shutdown_threads.rs"]
mod shutdown_threads;
#[path = "shutdown_uncounted.rs"]
mod shutdown_uncounted;
#[path = "sidecar_api.rs"]
mod sidecar_api;
#[path = "sidecar_bad_input.rs"]
mod sidecar_bad_input;
#[path = "state_api.rs"]
mod state_api;
#[path = "state_scenario.rs"]
mod state_scenario;
#[path = "store_faults.rs"]
mod store_faults;
#[path = "tui_help.rs"]
mod tui_help;
#[path = "tui_panes.rs"]
mod tui_panes;
#[path = "tui_story.rs"]
mod tui_story;
#[path = "tui_tmux.rs"]
mod tui_tmux;
