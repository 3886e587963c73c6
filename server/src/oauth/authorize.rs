//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn get() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
pub async fn post() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
pub async fn resume() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
