//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn userinfo() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
