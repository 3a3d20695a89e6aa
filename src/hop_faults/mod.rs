//! Faults on the data path, applied by the sidecars themselves: what the next call on a sidecar's app channel
//! meets (`channel`: hang, reset, latency, an HTTP error), real listeners that hold or reset connections
//! (`blackhole`), and the hop to a state store (`store_calls`: latency, errors).
//!
//! They sit below `sidecar` (which applies them on every call) and `faults` (which switches them on and off),
//! so the sidecar never names the fault catalogue above it.

pub mod blackhole;
pub mod channel;
pub mod store_calls;

use std::time::Duration;

/// Makes an injected latency (`(delay, jitter)`) `step` longer or shorter, down to zero: the new delay, or
/// `None` when none is on or nothing changed (`-` at 0: no event, no marker line). The app channel's and the
/// store hop's latencies both change this way.
fn adjust_latency(latency: &mut Option<(Duration, Duration)>, step: Duration, longer: bool) -> Option<Duration> {
    let (delay, _) = latency.as_mut()?;
    let changed = if longer {
        *delay + step
    } else {
        delay.saturating_sub(step)
    };
    (changed != *delay).then(|| {
        *delay = changed;
        changed
    })
}
