//! What the sidecars saw per target (operation): calls, failures, retries, the most attempts one took. For
//! apps the tool did not write (a run template's), whose output cannot be read for orders, this is the
//! summary; bounded to the first targets seen, the rest added up.

use std::collections::BTreeMap;

use serde_json::json;

/// How many targets are kept by name.
const NAMED: usize = 16;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TargetCalls {
    pub calls: u64,
    pub failed: u64,
    pub retries: u64,
    pub most_attempts: u32,
}

#[derive(Debug, Default, Clone)]
pub struct Targets {
    named: BTreeMap<String, TargetCalls>,
    others: TargetCalls,
}

impl Targets {
    fn entry(&mut self, operation: &str) -> &mut TargetCalls {
        if self.named.len() >= NAMED && !self.named.contains_key(operation) {
            return &mut self.others;
        }
        self.named.entry(operation.to_string()).or_default()
    }

    pub fn finished(&mut self, operation: &str, attempts: u32, failed: bool) {
        let t = self.entry(operation);
        t.calls += 1;
        t.failed += u64::from(failed);
        t.most_attempts = t.most_attempts.max(attempts);
    }

    pub fn retried(&mut self, operation: &str) {
        self.entry(operation).retries += 1;
    }

    /// One line per target: `order-processor:orders: 40 calls, 3 failed, 7 retries, at most 8 attempts`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.named.iter().map(|(op, t)| line(short(op), t)).collect();
        if self.others.calls > 0 {
            lines.push(line("other targets", &self.others));
        }
        lines
    }

    pub fn json(&self) -> serde_json::Value {
        let each: Vec<_> = self
            .named
            .iter()
            .map(|(op, t)| {
                json!({"operation": op, "calls": t.calls, "failed": t.failed, "retries": t.retries, "most_attempts": t.most_attempts})
            })
            .collect();
        json!(each)
    }
}

fn line(name: &str, t: &TargetCalls) -> String {
    if t.calls == 0 {
        return format!("{name}: {} retries, no call finished", t.retries);
    }
    format!(
        "{name}: {} calls, {} failed, {} retries, at most {} attempts",
        t.calls, t.failed, t.retries, t.most_attempts
    )
}

/// `endpoint[app, app:method]` is long; its target part names it (`app:method`).
fn short(op: &str) -> &str {
    op.strip_prefix("endpoint[")
        .and_then(|rest| rest.split_once(", "))
        .map_or(op, |(_, t)| t.trim_end_matches(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_per_target_are_counted_and_bounded() {
        let mut t = Targets::default();
        let op = "endpoint[order-processor, order-processor:orders]";
        t.retried(op);
        t.finished(op, 2, false);
        t.finished(op, 1, true);
        assert_eq!(
            t.lines(),
            ["order-processor:orders: 2 calls, 1 failed, 1 retries, at most 2 attempts"]
        );
        for i in 0..40 {
            t.finished(&format!("component[s{i}] output"), 1, false);
        }
        assert_eq!(t.lines().len(), NAMED + 1, "the rest added up");
        assert!(t.lines().last().unwrap().starts_with("other targets: 25 calls"));
    }
}
