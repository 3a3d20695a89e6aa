//! [`Resiliency`]: the policies one sidecar applies, and the circuit breakers it keeps for its whole life.
//!
//! Built like daprd builds it: resources whose `scopes` exclude the app id are skipped, the rest are merged in
//! order (a later same-named policy or target replaces an earlier one), then the built-in retries are added.
//! Looking up a policy follows Dapr's rules:
//! - a named target (`targets.apps.order-processor`) replaces *all* defaults for that target;
//! - otherwise each kind (timeout, retry, breaker) independently takes the first existing default name along
//!   its chain (`DefaultAppRetryPolicy`, then `DefaultRetryPolicy`, ...);
//! - breakers are shared: apps get one per `<appId>:<method>` (an LRU of `circuitBreakerCacheSize` per app),
//!   components one per component named `<policyName>-<component>`, never evicted.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lru::LruCache;

use super::breaker::{CircuitBreaker, CircuitBreakerPolicy};
use super::config::*;
use super::events::{ResiliencyEvent, SharedObserver};
use super::in_force::{PolicyInForce, PolicySource, RetryInForce, TimeoutInForce};
use super::policy::PolicyDefinition;
use super::retry::{BackoffPolicy, RetryPolicy};

/// Retries daprd defines even with no Resiliency resource.
pub const BUILT_IN_SERVICE_RETRIES: &str = "DaprBuiltInServiceRetries";
pub const BUILT_IN_ACTOR_RETRIES: &str = "DaprBuiltInActorRetries";
pub const BUILT_IN_ACTOR_REMINDER_RETRIES: &str = "DaprBuiltInActorReminderRetries";
pub const BUILT_IN_INITIALIZATION_RETRIES: &str = "DaprBuiltInInitializationRetries";
/// Protected: a user override is ignored.
pub const BUILT_IN_ACTOR_NOT_FOUND_RETRIES: &str = "DaprBuiltInActorNotFoundRetries";

fn built_in_retries() -> [(&'static str, RetryPolicy); 5] {
    let constant = |secs, max_retries| RetryPolicy {
        backoff: BackoffPolicy::Constant {
            interval: Duration::from_secs(secs),
        },
        max_retries,
        ..RetryPolicy::default()
    };
    let exponential = |max_interval, max_elapsed, max_retries| RetryPolicy {
        backoff: BackoffPolicy::Exponential {
            max_interval,
            max_elapsed,
        },
        max_retries,
        ..RetryPolicy::default()
    };
    [
        (BUILT_IN_SERVICE_RETRIES, constant(1, 3)),
        (BUILT_IN_ACTOR_RETRIES, constant(1, 3)),
        // daprd's addBuiltInPolicies (pkg/resiliency/resiliency.go) leaves MaxRetries unset here: Go's zero, 0.
        (
            BUILT_IN_ACTOR_REMINDER_RETRIES,
            exponential(Duration::from_secs(60), Duration::from_secs(15 * 60), 0),
        ),
        (
            BUILT_IN_INITIALIZATION_RETRIES,
            exponential(Duration::from_secs(1), Duration::from_secs(10), 3),
        ),
        (BUILT_IN_ACTOR_NOT_FOUND_RETRIES, constant(1, 5)),
    ]
}

/// What daprd does with a user retry policy of this name (`decodePolicies`): `None` when it is not a
/// built-in or is kept as written; otherwise the policy actually used, and whether the override was ignored
/// (the protected one) rather than raised to 3 retries (below 3, `-1` included).
pub fn built_in_override(name: &str, user: &RetryPolicy) -> Option<(RetryPolicy, bool)> {
    let (_, default) = built_in_retries().into_iter().find(|(n, _)| *n == name)?;
    if name == BUILT_IN_ACTOR_NOT_FOUND_RETRIES {
        return Some((default, true));
    }
    (user.max_retries < 3).then(|| {
        let mut fixed = user.clone();
        fixed.max_retries = 3;
        (fixed, false)
    })
}

type BreakerLru = LruCache<String, Arc<CircuitBreaker>>;

/// The resiliency policies of one sidecar (one app id).
pub struct Resiliency {
    app_id: String,
    loaded: Vec<String>,
    timeouts: HashMap<String, Duration>,
    retries: HashMap<String, Arc<RetryPolicy>>,
    breaker_policies: HashMap<String, Arc<CircuitBreakerPolicy>>,
    apps: HashMap<String, AppTarget>,
    actors: HashMap<String, ActorTarget>,
    components: HashMap<String, ComponentTarget>,
    /// Per app id: method -> its policy (holding the endpoint's breaker).
    app_endpoints: Mutex<HashMap<String, LruCache<String, PolicyDefinition>>>,
    actor_breakers: Mutex<HashMap<String, BreakerLru>>,
    component_breakers: Mutex<HashMap<String, Arc<CircuitBreaker>>>,
    /// Component operations whose policy in force was already reported (apps report on an LRU miss).
    announced: Mutex<std::collections::HashSet<String>>,
    observer: SharedObserver,
}

impl Resiliency {
    /// Who hears this registry's events (a reload builds the new registry with the same one).
    pub fn observer(&self) -> SharedObserver {
        self.observer.clone()
    }

    /// Applies every resource in scope for `app_id`, in order, and emits the lines daprd logs while loading.
    pub fn new(app_id: &str, configs: impl IntoIterator<Item = ResiliencyConfig>, observer: SharedObserver) -> Self {
        let mut r = Resiliency {
            app_id: app_id.to_string(),
            loaded: Vec::new(),
            timeouts: HashMap::new(),
            retries: HashMap::new(),
            breaker_policies: HashMap::new(),
            apps: HashMap::new(),
            actors: HashMap::new(),
            components: HashMap::new(),
            app_endpoints: Mutex::default(),
            actor_breakers: Mutex::default(),
            component_breakers: Mutex::default(),
            announced: Mutex::default(),
            observer,
        };
        for config in configs.into_iter().filter(|c| c.applies_to(app_id)) {
            r.observer.on_event(ResiliencyEvent::ResourceLoaded {
                name: config.name.clone(),
                namespace: config.namespace.clone(),
            });
            r.loaded.push(config.name);
            r.timeouts.extend(config.timeouts);
            r.retries
                .extend(config.retries.into_iter().map(|(k, v)| (k, Arc::new(v))));
            r.breaker_policies
                .extend(config.circuit_breakers.into_iter().map(|(k, v)| (k, Arc::new(v))));
            r.apps.extend(config.apps);
            r.actors.extend(config.actors);
            r.components.extend(config.components);
        }
        r.add_built_in_retries();
        r
    }

    fn add_built_in_retries(&mut self) {
        for (name, default) in built_in_retries() {
            let Some(user) = self.retries.get(name) else {
                self.retries.insert(name.into(), Arc::new(default));
                continue;
            };
            // Dapr's quirk, copied: "forever" (-1) is also below 3 and is reset to 3.
            if let Some((used, ignored)) = built_in_override(name, user) {
                let policy = name.into();
                self.observer.on_event(if ignored {
                    ResiliencyEvent::ProtectedOverrideIgnored { policy }
                } else {
                    ResiliencyEvent::BuiltInOverrideReset { policy }
                });
                self.retries.insert(name.into(), Arc::new(used));
            }
        }
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Names of the resources that were applied, in order.
    pub fn loaded(&self) -> &[String] {
        &self.loaded
    }

    pub fn retry_policy(&self, name: &str) -> Option<&Arc<RetryPolicy>> {
        self.retries.get(name)
    }

    pub fn timeout_policy(&self, name: &str) -> Option<Duration> {
        self.timeouts.get(name).copied()
    }

    pub fn circuit_breaker_policy(&self, name: &str) -> Option<&Arc<CircuitBreakerPolicy>> {
        self.breaker_policies.get(name)
    }

    /// Service invocation of `app_id`'s `method` (Dapr's `EndpointPolicy(app, app + ":" + method)`).
    ///
    /// Every app keeps its endpoints' policies in an LRU of `circuitBreakerCacheSize`, as Dapr keeps their
    /// breakers: a repeat call finds its policy (and breaker) there without allocating anything.
    pub fn endpoint_policy(&self, app_id: &str, method: &str) -> PolicyDefinition {
        let mut caches = self.app_endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = caches.get_mut(app_id).and_then(|lru| lru.get(method)) {
            return found.clone();
        }
        let endpoint = format!("{app_id}:{method}");
        let name = format!("endpoint[{app_id}, {endpoint}]");
        let (names, shadowed, cache_size) = match self.apps.get(app_id) {
            Some(target) => (target.policies.clone(), Vec::new(), target.circuit_breaker_cache_size),
            None => {
                let (names, shadowed) = self.defaults(&["App", ""]);
                (names, shadowed, DEFAULT_APP_BREAKER_CACHE_SIZE)
            }
        };
        let defined = self.apps.contains_key(app_id);
        self.announce(
            &name,
            app_id,
            format!("targets.apps.{app_id}"),
            &names,
            shadowed,
            defined,
            !defined,
        );
        let breaker = self
            .breaker_template(&names)
            .map(|(_, template)| Arc::new(self.new_breaker(endpoint, template)));
        let definition = self
            .definition(name, &names, breaker)
            .for_target(format!("app_{app_id}"), Direction::Outbound);
        caches
            .entry(app_id.to_string())
            .or_insert_with(|| LruCache::new(NonZeroUsize::new(cache_size).unwrap_or(NonZeroUsize::MIN)))
            .put(method.to_string(), definition.clone());
        definition
    }

    /// A component call (Dapr's `ComponentOutboundPolicy` / `ComponentInboundPolicy`).
    pub fn component_policy(&self, component: &str, kind: ComponentKind, direction: Direction) -> PolicyDefinition {
        let name = format!("component[{component}] {}", direction.operation_word());
        let (names, shadowed) = match self.components.get(component) {
            Some(target) => match direction {
                Direction::Inbound => (target.inbound.clone(), Vec::new()),
                Direction::Outbound => (target.outbound.clone(), Vec::new()),
            },
            None => {
                let d = direction.policy_word();
                self.defaults(&[
                    &format!("{kind}Component{d}"),
                    &format!("Component{d}"),
                    "Component",
                    "",
                ])
            }
        };
        // Looked up before inserting: every state call passes here, and only the first needs the copy.
        let first = {
            let mut announced = self.announced.lock().unwrap_or_else(|p| p.into_inner());
            !announced.contains(&name) && announced.insert(name.clone())
        };
        if first {
            let field = format!("targets.components.{component}.{direction}");
            let defined = self.components.contains_key(component);
            self.announce(&name, component, field, &names, shadowed, defined, false);
        }
        // One breaker per component, shared by both directions; its settings come from whichever made it first.
        let breaker = self.breaker_template(&names).map(|(policy_name, template)| {
            let mut map = self.component_breakers.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(component.to_string())
                .or_insert_with(|| {
                    let breaker_name = format!("{policy_name}-{component}");
                    Arc::new(self.new_breaker(breaker_name, template))
                })
                .clone()
        });
        // Dapr's `ResiliencyComponentTarget`: `<ComponentType>_<name>`, e.g. `Statestore_statestore`.
        self.definition(name, &names, breaker)
            .for_target(format!("{kind}_{component}"), direction)
    }

    /// An actor call (Dapr's `ActorPreLockPolicy`). With scope `both`, the per-id breaker applies.
    pub fn actor_policy(&self, actor_type: &str, actor_id: &str) -> PolicyDefinition {
        let name = format!("actor[{actor_type}, {actor_id}]");
        let (names, scope, cache_size) = match self.actors.get(actor_type) {
            Some(t) => (
                t.policies.clone(),
                t.circuit_breaker_scope,
                t.circuit_breaker_cache_size,
            ),
            None => (self.defaults(&["Actor", ""]).0, None, DEFAULT_ACTOR_BREAKER_CACHE_SIZE),
        };
        let breaker = self.breaker_template(&names).map(|(_, template)| {
            let key = match scope {
                Some(ActorBreakerScope::Type) | None => actor_type.to_string(),
                Some(ActorBreakerScope::Id | ActorBreakerScope::Both) => {
                    format!("{actor_type}-{actor_id}")
                }
            };
            cached_breaker(&self.actor_breakers, actor_type, cache_size, &key, || {
                self.new_breaker(key.clone(), template)
            })
        });
        self.definition(name, &names, breaker)
            .for_target(format!("actor_{actor_type}"), Direction::Outbound)
    }

    /// Dapr's `PolicyDefined(app, Endpoint)`: whether a Resiliency resource names this app as a target. Only
    /// then does a caller's sidecar skip its built-in service retries (`direct_messaging.go invokeWithRetry`):
    /// default policies do not count, so with only `DefaultRetryPolicy` both apply, the built-in one inside.
    pub fn app_target_defined(&self, app_id: &str) -> bool {
        self.apps.contains_key(app_id)
    }

    /// One of Dapr's built-in retry policies (`BuiltInPolicy(name)`): its retry only, named after itself, so
    /// its log line reads `Error processing operation DaprBuiltInServiceRetries. Retrying in 1s…`.
    pub fn built_in_policy(&self, name: &str) -> PolicyDefinition {
        PolicyDefinition::new(name, None, self.retries.get(name).cloned(), None, self.observer.clone())
    }

    /// Every breaker created so far (for displays), sorted by name.
    pub fn breakers(&self) -> Vec<Arc<CircuitBreaker>> {
        let mut all: Vec<Arc<CircuitBreaker>> = Vec::new();
        {
            let endpoints = self.app_endpoints.lock().unwrap_or_else(|p| p.into_inner());
            all.extend(
                endpoints
                    .values()
                    .flat_map(|lru| lru.iter().filter_map(|(_, d)| d.breaker().cloned())),
            );
        }
        {
            let caches = self.actor_breakers.lock().unwrap_or_else(|p| p.into_inner());
            all.extend(caches.values().flat_map(|lru| lru.iter().map(|(_, b)| b.clone())));
        }
        all.extend(
            self.component_breakers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned(),
        );
        all.sort_by(|a, b| a.name().cmp(b.name()));
        all
    }

    /// A new breaker, announced to the observer so displays can show it before its first transition.
    fn new_breaker(&self, name: String, template: Arc<CircuitBreakerPolicy>) -> CircuitBreaker {
        let (policy, max_requests) = (template.summary(), template.max_requests.max(1));
        let (trip, timeout) = (template.trip.to_string(), template.timeout);
        let breaker = CircuitBreaker::new(name, template, self.observer.clone());
        self.observer.on_event(ResiliencyEvent::BreakerCreated {
            breaker: breaker.name().clone(),
            policy,
            max_requests,
            trip,
            timeout,
        });
        breaker
    }

    /// For each policy kind independently, the first `Default<level><Kind>Policy` that exists; and the
    /// default names that exist further down the chain, shadowed by the first.
    fn defaults(&self, levels: &[&str]) -> (PolicyNames, Vec<String>) {
        let mut shadowed = Vec::new();
        let mut find = |kind: &str, exists: &dyn Fn(&str) -> bool| {
            let mut found = levels
                .iter()
                .map(|level| format!("Default{level}{kind}Policy"))
                .filter(|n| exists(n));
            let first = found.next();
            shadowed.extend(found);
            first
        };
        let names = PolicyNames {
            timeout: find("Timeout", &|n| self.timeouts.contains_key(n)),
            retry: find("Retry", &|n| self.retries.contains_key(n)),
            circuit_breaker: find("CircuitBreaker", &|n| self.breaker_policies.contains_key(n)),
        };
        (names, shadowed)
    }

    /// Tells the observer which policy is in force for `target` (what displays narrate from).
    #[allow(clippy::too_many_arguments)]
    fn announce(
        &self,
        operation: &str,
        target: &str,
        target_field: String,
        names: &PolicyNames,
        shadowed: Vec<String>,
        defined: bool,
        built_in_retries: bool,
    ) {
        let timeout = names.timeout.as_deref().and_then(|n| {
            let duration = self.timeouts.get(n)?;
            Some(TimeoutInForce {
                name: n.to_string(),
                duration: *duration,
            })
        });
        let retry = names
            .retry
            .as_deref()
            .and_then(|n| Some(RetryInForce::new(n, self.retries.get(n)?)));
        let circuit_breaker = names
            .circuit_breaker
            .clone()
            .filter(|n| self.breaker_policies.contains_key(n));
        let policy = PolicyInForce {
            target: target.to_string(),
            target_field,
            source: if defined {
                PolicySource::Target
            } else {
                PolicySource::Defaults
            },
            timeout,
            retry,
            circuit_breaker,
            shadowed,
            built_in_retries,
        };
        self.observer.on_event(ResiliencyEvent::PolicyResolved {
            operation: operation.into(),
            policy: Box::new(policy),
        });
    }

    fn breaker_template<'a>(&self, names: &'a PolicyNames) -> Option<(&'a str, Arc<CircuitBreakerPolicy>)> {
        let name = names.circuit_breaker.as_deref()?;
        Some((name, self.breaker_policies.get(name)?.clone()))
    }

    /// Unknown timeout or retry names resolve to "none", as in Dapr (the loader warns about them).
    fn definition(&self, name: String, names: &PolicyNames, breaker: Option<Arc<CircuitBreaker>>) -> PolicyDefinition {
        let timeout = names.timeout.as_deref().and_then(|n| self.timeouts.get(n).copied());
        let retry = names.retry.as_deref().and_then(|n| self.retries.get(n).cloned());
        PolicyDefinition::new(name, timeout, retry, breaker, self.observer.clone())
    }
}

fn cached_breaker(
    caches: &Mutex<HashMap<String, BreakerLru>>,
    owner: &str,
    cache_size: usize,
    key: &str,
    create: impl FnOnce() -> CircuitBreaker,
) -> Arc<CircuitBreaker> {
    let mut caches = caches.lock().unwrap_or_else(|p| p.into_inner());
    let cache = caches
        .entry(owner.to_string())
        .or_insert_with(|| LruCache::new(NonZeroUsize::new(cache_size).unwrap_or(NonZeroUsize::MIN)));
    if let Some(breaker) = cache.get(key) {
        return breaker.clone();
    }
    let breaker = Arc::new(create());
    cache.put(key.to_string(), breaker.clone());
    breaker
}
