//! Helpers for the loader's tests.

use resilience_tui::resources::{Diagnostic, Resources, Severity};

/// The only diagnostic of a load, checked for severity.
pub fn only(res: &Resources, severity: Severity) -> &Diagnostic {
    assert_eq!(res.diagnostics.len(), 1, "{}", res.render_diagnostics());
    let d = &res.diagnostics[0];
    assert_eq!(d.severity, severity, "{}", res.render_diagnostics());
    d
}

/// A Resiliency resource with these `spec.policies` lines.
pub fn resiliency_with(policies: &str) -> String {
    format!("apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n  policies:\n{policies}")
}
