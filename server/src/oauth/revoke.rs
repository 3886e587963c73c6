//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn revoke() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
