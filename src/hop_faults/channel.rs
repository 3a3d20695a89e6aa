//! Faults on a sidecar's app channel: the hop from a sidecar to its own app, which our sidecar owns, so it can
//! do what chaos tools cannot on a localhost hop (answer with an HTTP status) and show what a policy does with it.
//!
//! The callee's sidecar asks [`ChannelFaults::next_call`] before each call to its app. Several faults can be on at
//! once; a call meets them in this order: a `reset` or `hang` (the call goes to a [`Blackhole`] that resets or
//! holds the connection: real TCP, so the caller sees daprd's real errors and its timeouts fire), then
//! `latency` (the call waits before it is sent, so a caller whose timeout fires first never reaches the app),
//! then `http-error` (answered in the app's place, without reaching it: no order is processed twice).
//!
//! [`Blackhole`]: super::blackhole::Blackhole

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

/// One fault on an app channel, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelFault {
    /// The app accepts the connection and never answers.
    Hang,
    /// The connection is reset as soon as it is accepted.
    Reset,
    /// Every call waits `delay`, give or take up to `jitter`.
    Latency { delay: Duration, jitter: Duration },
    /// `percent` of the calls are answered with `status` in the app's place.
    HttpError { status: u16, percent: u8 },
}

impl ChannelFault {
    /// The parameters in words (`2s ± 200ms`, `503 on 50% of calls`), for the faults pane and the events.
    pub fn parameters(&self) -> String {
        let go = crate::duration::format_go_duration;
        match self {
            ChannelFault::Hang | ChannelFault::Reset => String::new(),
            ChannelFault::Latency { delay, jitter } if jitter.is_zero() => go(*delay),
            ChannelFault::Latency { delay, jitter } => format!("{} \u{b1} {}", go(*delay), go(*jitter)),
            ChannelFault::HttpError { status, percent } => format!("{status} on {percent}% of calls"),
        }
    }
}

/// What happens to the next call on the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition {
    /// How long it waits before anything else.
    pub delay: Duration,
    pub then: Then,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// To the app.
    Pass,
    /// Answered with this status in the app's place.
    Respond(u16),
    /// To this blackhole instead of the app (it holds or resets the connection).
    Divert(SocketAddr),
}

#[derive(Debug, Default)]
struct Active {
    hang: Option<SocketAddr>,
    reset: Option<SocketAddr>,
    latency: Option<(Duration, Duration)>,
    http_error: Option<(u16, u8)>,
    /// Calls that met the http-error fault, to spread its share evenly (50%: every second call).
    error_calls: u64,
}

/// The faults on one sidecar's app channel.
#[derive(Debug, Default)]
pub struct ChannelFaults {
    active: Mutex<Active>,
}

impl ChannelFaults {
    /// Turns `fault` on (`blackhole`: where a hang or reset sends the call) or off.
    pub fn set(&self, fault: &ChannelFault, on: bool, blackhole: Option<SocketAddr>) {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        match fault {
            ChannelFault::Hang => a.hang = blackhole.filter(|_| on),
            ChannelFault::Reset => a.reset = blackhole.filter(|_| on),
            ChannelFault::Latency { delay, jitter } => a.latency = on.then_some((*delay, *jitter)),
            ChannelFault::HttpError { status, percent } => {
                a.http_error = on.then_some((*status, *percent));
                a.error_calls = 0;
            }
        }
    }

    /// Changes the delay of an injected latency by `step` (down to zero); the new delay, if one is on.
    pub fn adjust_latency(&self, step: Duration, longer: bool) -> Option<Duration> {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        super::adjust_latency(&mut a.latency, step, longer)
    }

    /// What happens to the next call.
    pub fn next_call(&self) -> Disposition {
        let mut a = self.active.lock().unwrap_or_else(|p| p.into_inner());
        let delay = a
            .latency
            .map_or(Duration::ZERO, |(delay, jitter)| jittered(delay, jitter));
        let then = if let Some(addr) = a.reset.or(a.hang) {
            Then::Divert(addr)
        } else if let Some((status, percent)) = a.http_error {
            a.error_calls += 1;
            let n = a.error_calls;
            // The n-th call fails when the running share crosses a whole call.
            if n * u64::from(percent) / 100 > (n - 1) * u64::from(percent) / 100 {
                Then::Respond(status)
            } else {
                Then::Pass
            }
        } else {
            Then::Pass
        };
        Disposition { delay, then }
    }
}

/// `delay`, give or take up to `jitter`, uniformly.
pub(crate) fn jittered(delay: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return delay;
    }
    let spread = jitter.as_nanos() as u64;
    let offset = fastrand::u64(0..=spread * 2);
    (delay + Duration::from_nanos(offset)).saturating_sub(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_of_the_calls_fail_every_second_one() {
        let faults = ChannelFaults::default();
        let error = ChannelFault::HttpError {
            status: 503,
            percent: 50,
        };
        faults.set(&error, true, None);
        let thens: Vec<Then> = (0..4).map(|_| faults.next_call().then).collect();
        assert_eq!(thens, [Then::Pass, Then::Respond(503), Then::Pass, Then::Respond(503)]);
        faults.set(&error, false, None);
        assert_eq!(faults.next_call().then, Then::Pass);
    }

    #[test]
    fn latency_stays_within_its_jitter_and_can_be_adjusted() {
        let faults = ChannelFaults::default();
        let (delay, jitter) = (Duration::from_secs(2), Duration::from_millis(200));
        faults.set(&ChannelFault::Latency { delay, jitter }, true, None);
        for _ in 0..100 {
            let d = faults.next_call().delay;
            assert!(d >= delay - jitter && d <= delay + jitter, "{d:?}");
        }
        assert_eq!(
            faults.adjust_latency(Duration::from_secs(3), false),
            Some(Duration::ZERO)
        );
        assert_eq!(
            faults.adjust_latency(Duration::from_millis(500), false),
            None,
            "`-` at 0 changes nothing, so nothing is said"
        );
        assert_eq!(
            ChannelFaults::default().adjust_latency(Duration::from_secs(1), true),
            None
        );
    }

    #[test]
    fn a_reset_comes_before_an_http_error() {
        let faults = ChannelFaults::default();
        let hole: SocketAddr = "127.0.0.1:9".parse().unwrap();
        faults.set(
            &ChannelFault::HttpError {
                status: 500,
                percent: 100,
            },
            true,
            None,
        );
        faults.set(&ChannelFault::Reset, true, Some(hole));
        assert_eq!(faults.next_call().then, Then::Divert(hole));
        faults.set(&ChannelFault::Reset, false, None);
        assert_eq!(faults.next_call().then, Then::Respond(500));
    }
}
