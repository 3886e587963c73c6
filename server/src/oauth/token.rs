//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn token() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
