//! Running one operation under a resolved policy: retry ( circuit breaker ( timeout ( operation ))).
//!
//! This is Dapr's `NewRunnerWithOptions` plus dapr/kit's `NotifyRecover`, step for step:
//! - The timeout wraps each attempt, so a slow attempt is a breaker failure and is retried.
//! - Every attempt asks the breaker first; an open breaker or "too many requests" ends the request at once.
//! - After a failure the wait comes *before* the next attempt; the breaker is checked when that attempt starts.
//! - `Error processing operation … Retrying in …` is logged once per request (first failure only), and
//!   `Recovered … after N attempts` only if at least one retry happened; N includes the successful attempt.
//! - Ours, not Dapr's: a request run with [`PolicyDefinition::run_cancellable`] ends when the run ends (the
//!   token is cancelled at shutdown). Its attempt in flight is neither a success nor a failure for the
//!   breaker, no retry follows, and no event reports it: a call cut by our own shutdown says nothing about the
//!   target. (daprd counts a cancelled context as a failure; a learner never sees daprd's shutdown.)

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::breaker::{Admission, CircuitBreaker};
use super::config::Direction;
use super::events::{FailureCause, Rejection, ResiliencyEvent, SharedObserver};
use super::retry::RetryPolicy;

/// What the engine needs to know about an operation's error.
pub trait OperationError: fmt::Display {
    /// The HTTP status or gRPC code the error carries (Dapr's `CodeError`), used by `matching`.
    fn status_code(&self) -> Option<u16> {
        None
    }

    /// Errors that must not be retried but still count as breaker failures (Dapr's `backoff.Permanent`,
    /// e.g. an ETag conflict on a state save).
    fn is_permanent(&self) -> bool {
        false
    }
}

/// Why a request under a policy failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure<E> {
    /// The operation's own error from the last attempt (for HTTP, the app's last response).
    #[error("{0}")]
    Operation(E),
    /// The last attempt exceeded the policy's timeout.
    #[error("context deadline exceeded")]
    Timeout,
    /// A circuit breaker refused the attempt.
    #[error("{0}")]
    Rejected(Rejection),
    /// The run ended while the request was in flight (see [`PolicyDefinition::run_cancellable`]).
    #[error("the request was cancelled: the sidecar is shutting down")]
    Cancelled,
}

impl<E: OperationError> Failure<E> {
    /// `timed_out` says whether an earlier attempt of the same request already timed out; `timeout` is the
    /// policy's.
    fn cause(&self, timed_out: &mut bool, timeout: Option<Duration>) -> Option<FailureCause> {
        match self {
            Failure::Operation(e) => Some(FailureCause::Operation {
                status: e.status_code(),
            }),
            Failure::Timeout => Some(FailureCause::Timeout {
                first_in_request: !std::mem::replace(timed_out, true),
                after: timeout.unwrap_or_default(),
            }),
            Failure::Rejected(_) | Failure::Cancelled => None,
        }
    }
}

/// The policies that apply to one request, resolved by [`crate::resiliency::Resiliency`].
#[derive(Clone)]
pub struct PolicyDefinition {
    name: Arc<str>,
    timeout: Option<Duration>,
    retry: Option<Arc<RetryPolicy>>,
    breaker: Option<Arc<CircuitBreaker>>,
    observer: SharedObserver,
    /// Dapr's metric target (`app_order-processor`) and flow direction, when a Resiliency resource resolved
    /// this policy for a target; each run then starts with [`ResiliencyEvent::PolicyApplied`].
    target: Option<(Arc<str>, Direction)>,
}

impl PolicyDefinition {
    /// `name` is Dapr's operation name (`endpoint[app, app:method]`, `component[store] output`). A zero
    /// timeout means none, as in Dapr.
    pub fn new(
        name: impl Into<Arc<str>>,
        timeout: Option<Duration>,
        retry: Option<Arc<RetryPolicy>>,
        breaker: Option<Arc<CircuitBreaker>>,
        observer: SharedObserver,
    ) -> Self {
        Self {
            name: name.into(),
            timeout: timeout.filter(|t| !t.is_zero()),
            retry,
            breaker,
            observer,
            target: None,
        }
    }

    /// The same policy, reported as resolved for `target` (Dapr's metric label) in `direction`.
    pub fn for_target(mut self, target: impl Into<Arc<str>>, direction: Direction) -> Self {
        self.target = Some((target.into(), direction));
        self
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub fn retry(&self) -> Option<&Arc<RetryPolicy>> {
        self.retry.as_ref()
    }

    pub fn breaker(&self) -> Option<&Arc<CircuitBreaker>> {
        self.breaker.as_ref()
    }

    /// Dapr's `HasRetries()`: whether the request body must be kept to replay it.
    pub fn has_retries(&self) -> bool {
        self.retry.as_ref().is_some_and(|r| r.has_retries())
    }

    /// Runs `op` under the policy. `op` gets the 1-based attempt number and is called once per attempt.
    pub async fn run<T, E, F, Fut>(&self, op: F) -> Result<T, Failure<E>>
    where
        E: OperationError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_inner(None, op).await
    }

    /// [`PolicyDefinition::run`], ended by `cancel` (the run's end): then the attempt in flight is dropped and
    /// its breaker admission released without counting, no retry is scheduled, and the result is
    /// [`Failure::Cancelled`] with no event. An attempt whose future is dropped after `cancel` fired (the
    /// caller's connection went first) is not counted either.
    pub async fn run_cancellable<T, E, F, Fut>(&self, cancel: &CancellationToken, op: F) -> Result<T, Failure<E>>
    where
        E: OperationError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_inner(Some(cancel), op).await
    }

    async fn run_inner<T, E, F, Fut>(&self, cancel: Option<&CancellationToken>, mut op: F) -> Result<T, Failure<E>>
    where
        E: OperationError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if cancel.is_some_and(CancellationToken::is_cancelled) {
            return Err(Failure::Cancelled);
        }
        self.report_applied();
        let mut backoff = self.retry.as_ref().map(|r| r.start());
        let (mut notified, mut timed_out) = (false, false);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let failure = match self.attempt(&mut op, attempt, &mut timed_out, cancel).await {
                Ok(value) => {
                    if notified {
                        self.emit(ResiliencyEvent::Recovered {
                            operation: self.name.clone(),
                            attempts: attempt,
                        });
                    }
                    self.finish(attempt, None);
                    return Ok(value);
                }
                Err(Failure::Cancelled) => return Err(Failure::Cancelled),
                Err(failure) => failure,
            };
            let permanent = match &failure {
                Failure::Rejected(_) | Failure::Cancelled => true,
                Failure::Operation(e) => {
                    e.is_permanent()
                        || matches!((e.status_code(), &self.retry), (Some(code), Some(r)) if !r.matching.should_retry(code))
                }
                Failure::Timeout => false,
            };
            let wait = if permanent {
                None
            } else {
                backoff.as_mut().and_then(|b| b.next_backoff())
            };
            let Some(wait) = wait else {
                self.finish(attempt, Some(failure.to_string()));
                return Err(failure);
            };
            if !notified {
                notified = true;
                self.emit(ResiliencyEvent::Retrying {
                    operation: self.name.clone(),
                    wait,
                    error: failure.to_string(),
                });
            }
            self.emit(ResiliencyEvent::RetryScheduled {
                operation: self.name.clone(),
                next_attempt: attempt + 1,
                wait,
            });
            if !sleep_unless_cancelled(wait, cancel).await {
                return Err(Failure::Cancelled);
            }
        }
    }

    /// Dapr's `addMetricsToPolicy`, as an event: which policy kinds this request runs under, and the breaker's
    /// state read as daprd reads it (`cb.State()`, applying a due transition).
    fn report_applied(&self) {
        let Some((target, direction)) = &self.target else {
            return;
        };
        if self.timeout.is_none() && self.retry.is_none() && self.breaker.is_none() {
            return;
        }
        self.emit(ResiliencyEvent::PolicyApplied {
            operation: self.name.clone(),
            target: target.clone(),
            direction: *direction,
            timeout: self.timeout.is_some(),
            retry: self.retry.is_some(),
            breaker: self.breaker.as_ref().map(|b| b.name().clone()),
            breaker_state: self.breaker.as_ref().map(|b| b.state()),
        });
    }

    /// One attempt: breaker admission, then the operation under the per-attempt timeout (and `cancel`).
    async fn attempt<T, E, F, Fut>(
        &self,
        op: &mut F,
        attempt: u32,
        timed_out: &mut bool,
        cancel: Option<&CancellationToken>,
    ) -> Result<T, Failure<E>>
    where
        E: OperationError,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let admission = match &self.breaker {
            Some(breaker) => match breaker.admit() {
                Ok(admission) => Some(admission),
                Err(reason) => {
                    self.emit(ResiliencyEvent::Rejected {
                        operation: self.name.clone(),
                        breaker: breaker.name().clone(),
                        attempt,
                        reason,
                    });
                    return Err(Failure::Rejected(reason));
                }
            },
            None => None,
        };
        self.emit(ResiliencyEvent::AttemptStarted {
            operation: self.name.clone(),
            attempt,
        });
        // Dropped with this future, it releases the admission: counted as a failure, unless the run has ended.
        let mut admission = Released { admission, cancel };
        let fut = op(attempt);
        let timed = async {
            match self.timeout {
                // On timeout the attempt's future is dropped: its late result is discarded, as Dapr does.
                Some(limit) => match tokio::time::timeout(limit, fut).await {
                    Ok(result) => result.map_err(Failure::Operation),
                    Err(_elapsed) => Err(Failure::Timeout),
                },
                None => fut.await.map_err(Failure::Operation),
            }
        };
        let result = match cancel {
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Failure::Cancelled),
                result = timed => result,
            },
            None => timed.await,
        };
        if let Err(failure) = &result
            && let Some(cause) = failure.cause(timed_out, self.timeout)
        {
            self.emit(ResiliencyEvent::AttemptFailed {
                operation: self.name.clone(),
                attempt,
                error: failure.to_string(),
                cause,
            });
        }
        if let Some(admission) = admission.admission.take() {
            admission.complete(result.is_ok());
        }
        result
    }

    fn finish(&self, attempts: u32, error: Option<String>) {
        self.emit(ResiliencyEvent::Finished {
            operation: self.name.clone(),
            attempts,
            error,
        });
    }

    fn emit(&self, event: ResiliencyEvent) {
        self.observer.on_event(event);
    }
}

/// A breaker admission not yet completed: released when dropped, without counting if the run has ended.
struct Released<'a> {
    admission: Option<Admission<'a>>,
    cancel: Option<&'a CancellationToken>,
}

impl Drop for Released<'_> {
    fn drop(&mut self) {
        if let Some(admission) = self.admission.take()
            && self.cancel.is_some_and(CancellationToken::is_cancelled)
        {
            admission.abandon();
        }
        // Otherwise the admission drops here: a cancelled attempt counts as a failure, as in Dapr.
    }
}

/// Waits `wait`; false when `cancel` fired first.
async fn sleep_unless_cancelled(wait: Duration, cancel: Option<&CancellationToken>) -> bool {
    match cancel {
        Some(cancel) => tokio::select! {
            biased;
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(wait) => true,
        },
        None => {
            tokio::time::sleep(wait).await;
            true
        }
    }
}

impl fmt::Debug for PolicyDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyDefinition")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker.as_ref().map(|b| b.name().clone()))
            .finish()
    }
}
