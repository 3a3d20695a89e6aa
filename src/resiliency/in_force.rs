//! [`PolicyInForce`]: what one sidecar applies to one target, named as the resources name it.
//!
//! Displays narrate from this, never from a generic story: a lesson's every sentence about retries, timeouts
//! and breakers must be true of the policy daprd would apply to that target. The registry reports it once per
//! target, when it first resolves the target's policy (and again after a reload, with a new registry).

use std::time::Duration;

use serde::Serialize;

use super::retry::{BackoffPolicy, RetryPolicy};
use crate::duration::format_go_duration as go;

/// Where a target's policies came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// A target names its policies (`spec.targets.apps.order-processor`): every default is ignored for it.
    Target,
    /// No target names it: each kind took the first `Default…Policy` name that exists, the most specific first.
    Defaults,
}

/// A retry policy in force, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryInForce {
    pub name: String,
    /// `constant 2s, at most 3 retries`.
    pub summary: String,
    /// The longest wait between attempts: the interval (constant) or `maxInterval` (exponential).
    #[serde(rename = "max_wait_ms", serialize_with = "as_millis")]
    pub max_wait: Duration,
    pub exponential: bool,
    /// Retries after the first attempt; negative: forever.
    pub max_retries: i64,
    #[serde(skip)]
    pub policy: RetryPolicy,
}

/// A timeout policy in force, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeoutInForce {
    pub name: String,
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
}

/// What a sidecar applies to calls to one target (an app, or a component in one direction).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyInForce {
    /// The app id or component name.
    pub target: String,
    /// Where a target entry for it would go: `targets.apps.order-processor`, `targets.components.statestore`.
    pub target_field: String,
    #[serde(rename = "policy_from")]
    pub source: PolicySource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeoutInForce>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryInForce>,
    /// The circuit breaker policy's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<String>,
    /// Default policy names that exist but lost to a more specific one (`DefaultRetryPolicy` behind
    /// `DefaultAppRetryPolicy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shadowed: Vec<String>,
    /// Dapr's built-in service retries also apply (no target names the app: `direct_messaging.go`
    /// `invokeWithRetry` checks `PolicyDefined`), each attempt of `retry` holding up to 3 more, 1s apart, for
    /// an unreachable sidecar (gRPC Unavailable) only.
    pub built_in_retries: bool,
}

impl RetryInForce {
    pub fn new(name: &str, policy: &RetryPolicy) -> Self {
        let (max_wait, exponential) = match &policy.backoff {
            BackoffPolicy::Constant { interval } => (*interval, false),
            BackoffPolicy::Exponential { max_interval, .. } => (*max_interval, true),
        };
        Self {
            name: name.to_string(),
            summary: policy.summary(),
            max_wait,
            exponential,
            max_retries: policy.max_retries,
            policy: policy.clone(),
        }
    }
}

impl PolicyInForce {
    /// Whether any Resiliency policy applies (otherwise only Dapr's built-in retries, if any).
    pub fn has_policy(&self) -> bool {
        self.timeout.is_some() || self.retry.is_some() || self.circuit_breaker.is_some()
    }

    /// Whether the retry policy retries an answer with `status` (its `matching`).
    pub fn retries_status(&self, status: u16) -> bool {
        self.retry
            .as_ref()
            .is_some_and(|r| r.policy.has_retries() && r.policy.matching.should_retry(status))
    }

    /// Where the policy comes from, in words: `target order-processor`, `a default`.
    pub fn source_words(&self) -> String {
        match self.source {
            PolicySource::Target => format!("named for {}", self.target),
            PolicySource::Defaults if self.shadowed.is_empty() => "a default".to_string(),
            PolicySource::Defaults => format!("a default, chosen over {}", self.shadowed.join(", ")),
        }
    }

    /// The policy's parts by name, e.g. `retryEvery2s + oneSecond timeout + breaker simpleCB`, or `no
    /// Resiliency policy` (then the built-in retries, if they apply).
    pub fn parts(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.retry {
            parts.push(format!("retry {}", r.name));
        }
        if let Some(t) = &self.timeout {
            parts.push(format!("timeout {} ({})", t.name, go(t.duration)));
        }
        if let Some(b) = &self.circuit_breaker {
            parts.push(format!("breaker {b}"));
        }
        match (parts.is_empty(), self.built_in_retries) {
            (true, true) => format!("no Resiliency policy: only Dapr's built-in retries ({BUILT_IN_WORDS})"),
            (true, false) => "no Resiliency policy".to_string(),
            (false, _) => parts.join(" + "),
        }
    }
}

impl PolicyInForce {
    /// The policies' names only: `retryEvery2s + oneSecond + simpleCB`.
    pub fn names(&self) -> String {
        let names: Vec<&str> = [
            self.retry.as_ref().map(|r| r.name.as_str()),
            self.timeout.as_ref().map(|t| t.name.as_str()),
            self.circuit_breaker.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        names.join(" + ")
    }
}

/// Dapr's built-in service retries, in words (`DaprBuiltInServiceRetries`: constant 1s, 3 retries, and only
/// for a sidecar that cannot be reached).
pub const BUILT_IN_WORDS: &str = "3 \u{d7} 1s, for Unavailable only";

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
