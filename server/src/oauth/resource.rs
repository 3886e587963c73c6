//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn resource() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
