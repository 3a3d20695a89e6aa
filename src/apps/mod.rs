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

/// `call`'s result, unless the run ended first (`stop` cancelled): an answer that comes after that was cut by
/// our own shutdown, so it is not reported (it would count as a failed order in the summary).
pub(crate) async fn unless_run_ended<T>(
    stop: &tokio_util::sync::CancellationToken,
    call: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = stop.cancelled() => None,
        result = call => (!stop.is_cancelled()).then_some(result),
    }
}

/// An order's failed answer as the app prints it: Dapr's status, error code and message; or, with no answer
/// at all, why (as a 503).
pub(crate) fn order_failed(order_id: u64, answer: Result<http::Answer, String>) -> crate::event::AppEvent {
    match answer {
        Ok(answer) => {
            let (error_code, message) = answer.dapr_error();
            crate::event::AppEvent::OrderFailed {
                order_id,
                status: answer.status,
                error_code,
                message,
            }
        }
        Err(message) => crate::event::AppEvent::OrderFailed {
            order_id,
            status: 503,
            error_code: None,
            message,
        },
    }
}
