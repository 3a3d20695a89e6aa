//! resilience-tui: Dapr's resiliency quickstarts, re-created in one process.
//!
//! The crate is split by concept (see ARCHITECTURE.md):
//! - [`duration`]: Go's duration syntax, as Dapr parses and prints it.
//! - [`resources`]: reads Dapr resource files (`kind: Resiliency`, `kind: Component`) with located diagnostics.
//! - [`resiliency`]: the policy engine (retry × circuit breaker × timeout); knows nothing of HTTP or terminals.
//! - [`runfile`]: Dapr's multi-app run template (`dapr.yaml`), read with the Dapr CLI's rules.

pub mod apps;
pub mod bench;
pub mod cli;
pub mod duration;
pub mod event;
pub mod faults;
pub mod headless;
pub mod hop_faults;
pub mod leftover;
pub mod lifecycle;
pub mod metrics;
pub mod net;
pub mod output;
pub mod quantity;
pub mod resiliency;
pub mod resources;
pub mod runfile;
pub mod scenario;
pub mod sidecar;
pub mod state;
pub mod summary;
pub mod tui;
pub mod validate;
