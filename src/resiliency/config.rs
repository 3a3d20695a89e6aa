//! One decoded `kind: Resiliency` resource, in the engine's terms (no YAML here: `crate::resources` builds it).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::breaker::CircuitBreakerPolicy;
use super::retry::RetryPolicy;

/// Dapr's default `circuitBreakerCacheSize` for app targets.
pub const DEFAULT_APP_BREAKER_CACHE_SIZE: usize = 100;
/// Dapr's default `circuitBreakerCacheSize` for actor targets.
pub const DEFAULT_ACTOR_BREAKER_CACHE_SIZE: usize = 5000;

/// The policy names a target refers to (`timeout`, `retry`, `circuitBreaker`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyNames {
    pub timeout: Option<String>,
    pub retry: Option<String>,
    pub circuit_breaker: Option<String>,
}

/// `spec.targets.apps.<appId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTarget {
    pub policies: PolicyNames,
    /// How many per-method breakers this app keeps (least recently used are dropped, with their state).
    pub circuit_breaker_cache_size: usize,
}

impl Default for AppTarget {
    fn default() -> Self {
        Self {
            policies: PolicyNames::default(),
            circuit_breaker_cache_size: DEFAULT_APP_BREAKER_CACHE_SIZE,
        }
    }
}

/// `spec.targets.actors.<type>.circuitBreakerScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorBreakerScope {
    /// One breaker per actor type.
    Type,
    /// One breaker per actor id.
    Id,
    /// Both; without an actor runtime we apply the per-id breaker (see `Resiliency::actor_policy`).
    Both,
}

/// `spec.targets.actors.<actorType>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorTarget {
    pub policies: PolicyNames,
    pub circuit_breaker_scope: Option<ActorBreakerScope>,
    pub circuit_breaker_cache_size: usize,
}

impl Default for ActorTarget {
    fn default() -> Self {
        Self {
            policies: PolicyNames::default(),
            circuit_breaker_scope: None,
            circuit_breaker_cache_size: DEFAULT_ACTOR_BREAKER_CACHE_SIZE,
        }
    }
}

/// `spec.targets.components.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentTarget {
    /// Sidecar to app (pub/sub delivery, input bindings).
    pub inbound: PolicyNames,
    /// Sidecar to component (state get/save/delete, publish, output bindings).
    pub outbound: PolicyNames,
}

/// Which way a component call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Dapr's `flow_direction` words: `outbound`, `inbound`.
impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        })
    }
}

impl Direction {
    /// As it appears in default policy names (`DefaultComponentOutboundRetryPolicy`).
    pub fn policy_word(self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
    }

    /// As it appears in operation names (`component[statestore] output`).
    pub fn operation_word(self) -> &'static str {
        match self {
            Direction::Inbound => "input",
            Direction::Outbound => "output",
        }
    }
}

/// Dapr's component categories, as they appear in default policy names (`DefaultStatestoreComponent…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Statestore,
    Pubsub,
    Binding,
    Secretstore,
    Configuration,
    Lock,
    Crypto,
}

impl ComponentKind {
    /// From a component's `spec.type` (`state.redis` → Statestore).
    pub fn from_component_type(component_type: &str) -> Option<Self> {
        let category = component_type.split('.').next().unwrap_or_default();
        Some(match category {
            "state" => ComponentKind::Statestore,
            "pubsub" => ComponentKind::Pubsub,
            "bindings" => ComponentKind::Binding,
            "secretstores" => ComponentKind::Secretstore,
            "configuration" => ComponentKind::Configuration,
            "lock" => ComponentKind::Lock,
            "crypto" => ComponentKind::Crypto,
            _ => return None,
        })
    }
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One `kind: Resiliency` resource after decoding and validation.
#[derive(Debug, Clone, Default)]
pub struct ResiliencyConfig {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (empty unless the resource sets one): the resiliency metrics' `namespace` label.
    pub namespace: String,
    /// App ids this resource applies to; empty means every app.
    pub scopes: Vec<String>,
    pub timeouts: BTreeMap<String, Duration>,
    pub retries: BTreeMap<String, RetryPolicy>,
    pub circuit_breakers: BTreeMap<String, CircuitBreakerPolicy>,
    pub apps: BTreeMap<String, AppTarget>,
    pub actors: BTreeMap<String, ActorTarget>,
    pub components: BTreeMap<String, ComponentTarget>,
}

impl ResiliencyConfig {
    /// Dapr's scope filter: no scopes means every app; otherwise the app id must be listed.
    pub fn applies_to(&self, app_id: &str) -> bool {
        self.scopes.is_empty() || self.scopes.iter().any(|s| s == app_id)
    }
}
