//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn introspect() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
