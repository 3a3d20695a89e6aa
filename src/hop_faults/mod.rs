//! Faults on the data path, applied by the sidecars themselves: what the next call on a sidecar's app channel
//! meets (`channel`: hang, reset, latency, an HTTP error), real listeners that hold or reset connections
//! (`blackhole`), and the hop to a state store (`store_calls`: latency, errors).
//!
//! They sit below `sidecar` (which applies them on every call) and `faults` (which switches them on and off),
//! so the sidecar never names the fault catalogue above it.

pub mod blackhole;
pub mod channel;
pub mod store_calls;
