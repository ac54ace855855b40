//! How the Eureka handlers answer: Eureka's HTTP statuses and documents, and the node's
//! refusals translated.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::render::Format;
use crate::api::{Code, Reply};

/// An empty answer with `status`, or a short reason as text.
pub(super) fn plain(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, reason.into()).into_response()
}

pub(super) fn document(format: Format, body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

pub(super) fn format(headers: &HeaderMap) -> Format {
    Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

/// A node reply that is not a success: 404 for "not there", 400 for a refused input, 503 for
/// a node that cannot serve (stopping, not ready), 500 otherwise; the message as the reason.
pub(super) fn failure(reply: &Reply) -> Response {
    let status = match reply.code {
        Code::NothingFound => StatusCode::NOT_FOUND,
        Code::BadRequest | Code::LimitExceeded => StatusCode::BAD_REQUEST,
        Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        Code::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    plain(status, reply.message.to_string())
}

/// `ok` (empty) when the node accepted, else its refusal.
pub(super) fn done(reply: &Reply, ok: StatusCode) -> Response {
    if reply.code == Code::Ok {
        ok.into_response()
    } else {
        failure(reply)
    }
}
