//! Dapr's gRPC API (`dapr.proto.runtime.v1.Dapr`, daprd's `--dapr-grpc-port`), served with tonic on the
//! sidecar's runtime beside its HTTP API. Every method reaches the same state and invocation cores as HTTP
//! (`state_core.rs`, `invoke.rs invoke_app`), so policies, breakers, events and metrics are one.
//!
//! The messages are the official Rust SDK's generated ones (the `dapr` crate); the service is routed here by
//! method name rather than through its generated trait, so a method we do not serve (or one newer than the
//! crate's protos) answers `UNIMPLEMENTED` naming it, as grpc-go's `UnimplementedDaprServer` does.

mod state;
pub(super) mod status;
pub(crate) mod unserved;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{self, HeaderMap, HeaderValue, Method, header};
use dapr::dapr::proto::common::v1::{InvokeResponse, http_extension::Verb};
use dapr::dapr::proto::runtime::v1 as pb;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;
use tonic::{Request, Response, Status};

use super::SidecarState;
use super::invoke::{IncomingBody, Invocation, InvokeFailure, invoke_app};

/// The gRPC service of one sidecar.
#[derive(Clone)]
pub(super) struct DaprService {
    pub state: Arc<SidecarState>,
}

impl NamedService for DaprService {
    const NAME: &'static str = "dapr.proto.runtime.v1.Dapr";
}

impl Service<http::Request<Body>> for DaprService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move { Ok(dispatch(state, request).await) })
    }
}

/// Serves until `stop` resolves (the sidecar stops or is stopped by a fault, or `Shutdown` was called).
pub(super) async fn serve(listener: std::net::TcpListener, service: DaprService, stop: impl Future<Output = ()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let served = tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, stop)
        .await;
    if let Err(e) = served {
        tracing::warn!("the gRPC API stopped: {e}");
    }
}

/// `DAPR_API_TOKEN` as daprd's gRPC interceptor checks it (`pkg/api/grpc/auth.go`): Unauthenticated with the
/// HTTP 401 wording when `dapr-api-token` is missing or wrong.
fn check_token(state: &SidecarState, headers: &HeaderMap) -> Result<(), Status> {
    let Some(expected) = &state.options.api_token else {
        return Ok(());
    };
    match headers.get("dapr-api-token") {
        None => Err(status::from_http_status(401, "missing api token in request metadata")),
        Some(given) if given.as_bytes() != expected.as_bytes() => Err(status::from_http_status(
            401,
            "authentication error: api token mismatch",
        )),
        Some(_) => Ok(()),
    }
}

async fn dispatch(s: Arc<SidecarState>, request: http::Request<Body>) -> http::Response<Body> {
    if let Err(status) = check_token(&s, request.headers()) {
        return status.into_http();
    }
    let method = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    // daprd's gRPC servers take `--max-body-size` as grpc-go's MaxRecvMsgSize and MaxSendMsgSize
    // (dapr/dapr `pkg/api/grpc/server.go`, `getGRPCServer`).
    let limit = s.options.max_body_bytes;
    let response = match method.as_str() {
        "GetState" => unary(request, limit, |r| async move { state::get_state(&s, r).await }).await,
        "GetBulkState" => unary(request, limit, |r| async move { state::get_bulk_state(&s, r).await }).await,
        "SaveState" => unary(request, limit, |r| async move { state::save_state(&s, r).await }).await,
        "DeleteState" => unary(request, limit, |r| async move { state::delete_state(&s, r).await }).await,
        "DeleteBulkState" => unary(request, limit, |r| async move { state::delete_bulk_state(&s, r).await }).await,
        "ExecuteStateTransaction" => {
            unary(request, limit, |r| async move {
                state::execute_state_transaction(&s, r).await
            })
            .await
        }
        "InvokeService" => unary(request, limit, |r| async move { invoke_service(&s, r, limit).await }).await,
        "GetMetadata" => unary(request, limit, |r| async move { get_metadata(&s, r) }).await,
        "Shutdown" => unary(request, limit, |r| async move { shutdown(&s, r) }).await,
        other => {
            s.unserved.called(other);
            Status::unimplemented(format!("method {other} not implemented")).into_http()
        }
    };
    in_grpc_go_words(response)
}

/// tonic's refusal of a message over the limit (OutOfRange, "Error, decoded message length too large: found
/// N bytes, the limit is: L bytes") as grpc-go's, which daprd answers with (ResourceExhausted, "grpc:
/// received message larger than max (N vs. L)", `rpc_util.go`).
fn in_grpc_go_words(response: http::Response<Body>) -> http::Response<Body> {
    let headers = response.headers();
    if headers.get("grpc-status").map(HeaderValue::as_bytes) != Some(b"11") {
        return response;
    }
    let message = headers.get("grpc-message").map(|v| percent_decode(v.as_bytes()));
    let sizes = message
        .as_deref()
        .and_then(|m| m.strip_prefix("Error, decoded message length too large: found "));
    let numbers: Vec<&str> = sizes
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .collect();
    match numbers[..] {
        [found, max] => {
            Status::resource_exhausted(format!("grpc: received message larger than max ({found} vs. {max})"))
                .into_http()
        }
        _ => response,
    }
}

fn percent_decode(bytes: &[u8]) -> String {
    percent_encoding::percent_decode(bytes).decode_utf8_lossy().into_owned()
}

/// One unary call: the request decoded, `handle` run once, its answer encoded; neither over `limit` bytes.
async fn unary<Req, Resp, F, Fut>(request: http::Request<Body>, limit: usize, handle: F) -> http::Response<Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default())
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    grpc.unary(Once(Some(handle)), request).await
}

/// A handler as the service `Grpc::unary` calls exactly once.
struct Once<F>(Option<F>);

impl<Req, Resp, F, Fut> Service<Request<Req>> for Once<F>
where
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    type Response = Response<Resp>;
    type Error = Status;
    type Future = futures_util::future::Either<Fut, std::future::Ready<Result<Response<Resp>, Status>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        match self.0.take() {
            Some(handle) => futures_util::future::Either::Left(handle(request)),
            None => futures_util::future::Either::Right(std::future::ready(Err(Status::internal(
                "a unary handler was called twice",
            )))),
        }
    }
}

/// `InvokeService` (deprecated in Dapr for proxy mode, still what SDKs' `invoke_method` sends): the same
/// invocation core as HTTP, so the same policy (`<appId>:<method>`), hop and built-in retries.
async fn invoke_service(
    s: &SidecarState,
    request: Request<pb::InvokeServiceRequest>,
    limit: usize,
) -> Result<Response<InvokeResponse>, Status> {
    let r = request.into_inner();
    let message = r.message.unwrap_or_default();
    let extension = message.http_extension.unwrap_or_default();
    // daprd calls an HTTP app with POST when the request names no verb.
    let verb = match Verb::try_from(extension.verb).unwrap_or(Verb::None) {
        Verb::None => Method::POST,
        verb => Method::from_bytes(verb.as_str_name().as_bytes()).unwrap_or(Method::POST),
    };
    let mut headers = HeaderMap::new();
    if let Ok(content_type) = HeaderValue::from_str(&message.content_type)
        && !message.content_type.is_empty()
    {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    let invocation = Invocation {
        app_id: r.id.clone(),
        method: message.method,
        verb,
        headers,
        query: (!extension.querystring.is_empty()).then_some(extension.querystring),
        body: IncomingBody::Whole(message.data.map(|d| d.value).unwrap_or_default().into()),
    };
    match invoke_app(s, invocation).await {
        // The whole answer goes in one message: an app's answer cut at the limit cannot.
        Ok(answer) if answer.cut => Err(status::invoke(&r.id, &InvokeFailure::TooLarge)),
        Ok(answer) => {
            let content_type = answer.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let reply = InvokeResponse {
                content_type: content_type.unwrap_or_default().to_string(),
                data: Some(prost_types::Any {
                    type_url: String::new(),
                    value: answer.body.to_vec(),
                }),
            };
            let len = prost::Message::encoded_len(&reply);
            if len > limit {
                let message = format!("grpc: trying to send message larger than max ({len} vs. {limit})");
                return Err(Status::resource_exhausted(message));
            }
            let mut response = Response::new(reply);
            response
                .metadata_mut()
                .insert("dapr-http-status", answer.status.as_u16().into());
            Ok(response)
        }
        Err(failure) => Err(status::invoke(&r.id, &failure)),
    }
}

/// `GetMetadata`: what `GET /v1.0/metadata` says, in the proto's fields.
fn get_metadata(
    s: &SidecarState,
    _: Request<pb::GetMetadataRequest>,
) -> Result<Response<pb::GetMetadataResponse>, Status> {
    let version = concat!("resilience-tui-", env!("CARGO_PKG_VERSION")).to_string();
    let registered_components = s
        .components
        .iter()
        .map(|c| pb::RegisteredComponents {
            name: c.name.clone(),
            r#type: c.component_type.clone(),
            version: c.version.clone(),
            capabilities: Vec::new(),
        })
        .collect();
    let app_connection_properties = s.options.app_port.map(|port| pb::AppConnectionProperties {
        port: i32::from(port),
        protocol: "http".to_string(),
        channel_address: "127.0.0.1".to_string(),
        ..Default::default()
    });
    Ok(Response::new(pb::GetMetadataResponse {
        id: s.app_id.clone(),
        registered_components,
        extended_metadata: [("daprRuntimeVersion".to_string(), version.clone())].into(),
        app_connection_properties,
        runtime_version: version,
        ..Default::default()
    }))
}

/// `Shutdown`: answered, then the sidecar stops serving (both APIs), as daprd begins its graceful shutdown.
fn shutdown(s: &SidecarState, _: Request<pb::ShutdownRequest>) -> Result<Response<()>, Status> {
    tracing::info!(app_id = %s.app_id, "Shutdown requested over the gRPC API");
    s.shutdown_requested.notify_one();
    Ok(Response::new(()))
}
