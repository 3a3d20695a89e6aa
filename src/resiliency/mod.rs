//! The resiliency engine: Dapr's retries, circuit breakers and timeouts, with Dapr's exact semantics.
//!
//! It knows nothing of HTTP, YAML or terminals. Callers hand it resolved policies ([`ResiliencyConfig`], built
//! by `crate::resources`) and run operations through a [`PolicyDefinition`]; everything it does is reported as
//! [`ResiliencyEvent`]s to an [`Observer`]. All time is tokio's clock, so tests run on a paused clock.
//!
//! Map of the module:
//! - [`registry`]: [`Resiliency`], which policies apply to which target, and which breakers are shared.
//! - [`policy`]: running an operation: retry ( breaker ( timeout ( op ))).
//! - [`breaker`]: the circuit breaker state machine (gobreaker's).
//! - [`retry`]: backoff and `matching`.
//! - [`trip`]: the CEL subset of `trip` expressions.
//! - [`events`]: what the engine reports, and the Dapr log lines it stands for.
//! - [`in_force`]: the policy applied to a target, by name, as displays narrate it.

pub mod breaker;
pub mod config;
pub mod events;
pub mod in_force;
pub mod policy;
pub mod registry;
pub mod retry;
pub mod trip;

pub use breaker::{BreakerState, CircuitBreaker, CircuitBreakerPolicy};
pub use config::{ComponentKind, Direction, ResiliencyConfig};
pub use events::{Observer, ResiliencyEvent, SharedObserver};
pub use in_force::{PolicyInForce, PolicySource};
pub use policy::{Failure, OperationError, PolicyDefinition};
pub use registry::Resiliency;
pub use retry::{BackoffPolicy, RetryPolicy, StatusMatching};
