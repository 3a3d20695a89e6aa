//! The policy in force per caller and target (from the engine's `PolicyResolved` events), and what each of
//! the scenario's faults does to a call: what the story line and panes narrate from.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::resiliency::PolicyInForce;
use crate::scenario::{ChannelFault, FaultAction, StoreFault};

/// What a fault does to the calls that meet it, as the caller's sidecar sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultEffect {
    /// The callee's sidecar cannot be reached (daprd's gRPC Unavailable): the one error Dapr's built-in
    /// service retries cover.
    Unreachable,
    /// The callee's sidecar answers, its app does not (daprd's Internal).
    AppDown,
    /// No answer comes.
    Hang,
    /// Answers come this much later.
    Slow(Duration),
    /// The app answers with this status.
    Status(u16),
    /// The state store refuses calls (stopped, or answering errors).
    StoreDown,
    /// The state store holds calls without answering (paused).
    StoreHang,
    /// The state store answers this much later.
    StoreSlow(Duration),
}

impl FaultEffect {
    /// What `action` does, and to which target (an app id or a component name).
    pub fn of(action: &FaultAction) -> (FaultEffect, String) {
        match action {
            FaultAction::StopAppAndSidecar { app_id } => (FaultEffect::Unreachable, app_id.clone()),
            FaultAction::StopApp { app_id } | FaultAction::Flap { app_id, .. } => {
                (FaultEffect::AppDown, app_id.clone())
            }
            FaultAction::PauseApp { app_id } => (FaultEffect::Hang, app_id.clone()),
            FaultAction::Channel { app_id, fault } => {
                let effect = match fault {
                    ChannelFault::Hang => FaultEffect::Hang,
                    ChannelFault::Reset => FaultEffect::AppDown,
                    ChannelFault::Latency { delay, .. } => FaultEffect::Slow(*delay),
                    ChannelFault::HttpError { status, .. } => FaultEffect::Status(*status),
                };
                (effect, app_id.clone())
            }
            FaultAction::StopStateStore { component } => (FaultEffect::StoreDown, component.clone()),
            FaultAction::PauseStateStore { component } => (FaultEffect::StoreHang, component.clone()),
            FaultAction::StoreCall { component, fault } => {
                let effect = match fault {
                    StoreFault::Latency { delay, .. } => FaultEffect::StoreSlow(*delay),
                    StoreFault::Error { .. } => FaultEffect::StoreDown,
                };
                (effect, component.clone())
            }
        }
    }

    /// The same effect with a new delay (after `+` / `-`).
    pub fn with_delay(self, delay: Duration) -> FaultEffect {
        match self {
            FaultEffect::Slow(_) => FaultEffect::Slow(delay),
            FaultEffect::StoreSlow(_) => FaultEffect::StoreSlow(delay),
            other => other,
        }
    }
}

/// The policy each caller's sidecar applies to each target it has called, latest first resolved wins.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// (caller app id, operation) -> the policy in force.
    by_operation: BTreeMap<(String, String), PolicyInForce>,
}

impl Policies {
    pub fn record(&mut self, caller: &str, operation: &str, policy: &PolicyInForce) {
        self.by_operation
            .insert((caller.to_string(), operation.to_string()), policy.clone());
    }

    /// A reload rebuilds every sidecar's policies: what was resolved before may no longer hold.
    pub fn clear(&mut self) {
        self.by_operation.clear();
    }

    /// The policy for calls to `target` (an app id or a component), from the first caller that called it.
    pub fn for_target(&self, target: &str) -> Option<&PolicyInForce> {
        self.by_operation.values().find(|p| p.target == target)
    }

    /// The policy of an operation (`endpoint[order-processor, order-processor:orders]`), whoever called it.
    pub fn for_operation(&self, operation: &str) -> Option<&PolicyInForce> {
        self.by_operation
            .iter()
            .find(|((_, op), _)| op == operation)
            .map(|(_, p)| p)
    }

    /// Every (caller, policy) known, in a stable order.
    pub fn all(&self) -> impl Iterator<Item = (&str, &PolicyInForce)> {
        self.by_operation.iter().map(|((caller, _), p)| (caller.as_str(), p))
    }

    pub fn is_empty(&self) -> bool {
        self.by_operation.is_empty()
    }
}
