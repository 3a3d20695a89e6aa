//! The quickstart's apps, as tokio tasks that talk real HTTP through the sidecars.
//!
//! They behave like the quickstart's own apps (one order at a time, a second apart) and report what they
//! print as events, so the displays show the same lines the quickstart's terminals would.

pub mod checkout;
mod http;
pub mod load;
pub mod order_processor;
pub mod process;
pub mod state_order_processor;

/// The header the built-in checkouts put on their orders, so order-processor counts only theirs: an order
/// another client sends (the quickstart's own checkout, at the same ids) is shown but not counted as a duplicate.
pub const OUR_ORDER: &str = "resilience-tui-checkout";

/// Reads `orderId` from an order body (`{"orderId":N}`, or `"N"` as a string as some SDK apps send it).
pub fn order_id(body: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("orderId")? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
