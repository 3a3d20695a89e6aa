//! gRPC statuses as daprd builds them: the code, the message, and the `google.rpc` details (`ErrorInfo`,
//! `ResourceInfo`, `BadRequest`) that dapr/kit's error builder attaches (`pkg/api/errors/state.go`), encoded
//! into `grpc-status-details-bin` as a `google.rpc.Status`.

use std::collections::HashMap;

use prost::Message as _;
use tonic::{Code, Status};

use crate::sidecar::invoke::{AppResponse, InvokeError, InvokeFailure};
use crate::sidecar::state_core::{StateError, StateOp};
use crate::state::StoreError;

const DOMAIN: &str = "dapr.io";

#[derive(Clone, PartialEq, prost::Message)]
struct ErrorInfo {
    #[prost(string, tag = "1")]
    reason: String,
    #[prost(string, tag = "2")]
    domain: String,
    #[prost(map = "string, string", tag = "3")]
    metadata: HashMap<String, String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResourceInfo {
    #[prost(string, tag = "1")]
    resource_type: String,
    #[prost(string, tag = "2")]
    resource_name: String,
    #[prost(string, tag = "3")]
    owner: String,
    #[prost(string, tag = "4")]
    description: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FieldViolation {
    #[prost(string, tag = "1")]
    field: String,
    #[prost(string, tag = "2")]
    description: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    field_violations: Vec<FieldViolation>,
}

fn any<M: prost::Message>(name: &str, message: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("type.googleapis.com/google.rpc.{name}"),
        value: message.encode_to_vec(),
    }
}

fn error_info(reason: &str, metadata: &[(&str, &str)]) -> prost_types::Any {
    let metadata = metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let info = ErrorInfo {
        reason: reason.to_string(),
        domain: DOMAIN.to_string(),
        metadata,
    };
    any("ErrorInfo", &info)
}

/// A status carrying `details`, as grpc-go's `status.WithDetails` sends it.
fn with_details(code: Code, message: String, details: Vec<prost_types::Any>) -> Status {
    let proto = dapr::google::rpc::Status {
        code: code as i32,
        message: message.clone(),
        details,
    };
    Status::with_details(code, message, proto.encode_to_vec().into())
}

/// daprd's `invokev1.ErrorFromHTTPResponseCode`: the HTTP status's text as the message, the detail (cut at 63
/// bytes, ErrorInfo's limit) in an ErrorInfo.
pub fn from_http_status(status: u16, detail: &str) -> Status {
    let code = match status {
        408 => Code::Cancelled,
        400 => Code::Internal,
        504 => Code::DeadlineExceeded,
        404 => Code::NotFound,
        409 => Code::AlreadyExists,
        403 => Code::PermissionDenied,
        401 => Code::Unauthenticated,
        429 => Code::ResourceExhausted,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        _ => Code::Unknown,
    };
    let text = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut cut = detail.len().min(63);
    while !detail.is_char_boundary(cut) {
        cut -= 1;
    }
    let code_text = status.to_string();
    let info = error_info(
        text,
        &[("http.code", &code_text), ("http.error_message", &detail[..cut])],
    );
    with_details(code, text.to_string(), vec![info])
}

/// A failed state call as daprd's gRPC API answers it (`grpc.go stateErrorResponse`, `errors/state.go`).
pub fn state(error: &StateError) -> Status {
    let message = error.message();
    match error {
        StateError::NotFound { app_id, .. } => with_details(
            Code::InvalidArgument,
            message,
            vec![error_info("DAPR_STATE_NOT_FOUND", &[("appID", app_id)])],
        ),
        StateError::NotConfigured { app_id, .. } => with_details(
            Code::FailedPrecondition,
            message,
            vec![error_info("DAPR_STATE_NOT_CONFIGURED", &[("appID", app_id)])],
        ),
        StateError::IllegalKey { store, key } => {
            let resource = ResourceInfo {
                resource_type: "state".to_string(),
                resource_name: store.clone(),
                ..ResourceInfo::default()
            };
            let violation = BadRequest {
                field_violations: vec![FieldViolation {
                    field: key.clone(),
                    description: message.clone(),
                }],
            };
            let details = vec![
                any("BadRequest", &violation),
                any("ResourceInfo", &resource),
                error_info("DAPR_STATE_ILLEGAL_KEY", &[]),
            ];
            with_details(Code::InvalidArgument, message, details)
        }
        StateError::UnsupportedOperation(_) => Status::new(Code::Unimplemented, message),
        StateError::Store { op, .. } => {
            // Get and transactions are always Internal; saves and deletes map the ETag errors.
            let code = match (op, error.store_error()) {
                (StateOp::Get { .. } | StateOp::Transaction | StateOp::BulkGet, _) => Code::Internal,
                (_, Some(StoreError::EtagMismatch(_))) => Code::Aborted,
                (_, Some(StoreError::EtagInvalid(_))) => Code::InvalidArgument,
                _ => Code::Internal,
            };
            Status::new(code, message)
        }
    }
}

/// A failed InvokeService: the app's own non-2xx answer as its HTTP status's code (daprd's gRPC → HTTP path),
/// anything else `failed to invoke, id: <id>, err: …` (Internal).
pub fn invoke(app_id: &str, failure: &InvokeFailure) -> Status {
    match failure {
        InvokeFailure::Failed(crate::resiliency::Failure::Operation(InvokeError::App(AppResponse {
            status,
            body,
            ..
        }))) => from_http_status(status.as_u16(), &String::from_utf8_lossy(body)),
        InvokeFailure::Failed(failure) => Status::internal(format!("failed to invoke, id: {app_id}, err: {failure}")),
        InvokeFailure::TooLarge => Status::internal(format!("failed to invoke, id: {app_id}, err: stream too large")),
    }
}
