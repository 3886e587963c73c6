//! Placeholder while the endpoint is written.
use axum::http::StatusCode;
pub async fn jwks() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
pub async fn openid_configuration() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
pub async fn oauth_authorization_server() -> StatusCode {
    StatusCode::NOT_IMPLEMENTED
}
