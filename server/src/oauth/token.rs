//! `POST /token` (RFC 6749 §3.2): read the form, authenticate the client, check a DPoP
//! proof if one came (RFC 9449 §5), then run the grant. The `match` in [`exchange`]
//! follows the core's [`TokenRequest`] index. Reading the form and authenticating the
//! client are [`crate::http`]'s, shared with revocation and introspection.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tessera_core::audit::{Actor, Kind, NewEvent};
use tessera_core::error::{ErrorCode, OAuthError};
use tessera_core::fapi;
use tessera_core::model::GrantType;
use tessera_core::policy;
use tessera_core::secret::{hash_secret, random_token};
use tessera_core::store::{Client, CodeRedemption, DevicePoll, User};
use tessera_core::token::{
    check_client_credentials, check_code, check_refresh, poll_refusal, RefreshRecord, TokenRequest,
};
use tessera_services::audit;

use crate::crypto::issue::{self, RefreshIssue, UserGrant};
use crate::http::client_auth::{authenticate_client, has_authorization};
use crate::http::dpop::{self, Proof};
use crate::http::form::read_form;
use crate::http::resources::token_target;
use crate::http::response::{no_store, server_error, token_error};
use crate::web::AppState;

/// The token endpoint. Every answer, success or error, carries `Cache-Control: no-store`
/// (RFC 6749 §5.1, §5.2).
pub async fn token(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = crate::now();
    // A key rotated by another instance or the CLI signs from here on within a minute.
    state.keys.refresh_if_needed(None, now).await;
    let peer = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    // RFC 9449 §8: a DPoP client gets a fresh nonce with every answer that needs one: a
    // success (for its next proof) and use_dpop_nonce (to retry with).
    let with_nonce = |res: Response| dpop::with_fresh_nonce(&state, res, now);
    match token_inner(&state, &headers, &body, now, peer).await {
        Ok((grant_type, body)) => {
            metrics::counter!("tessera_tokens_issued_total", "grant_type" => grant_type.as_str()).increment(1);
            let res = no_store(Json(body).into_response());
            if headers.contains_key(dpop::DPOP) {
                with_nonce(res)
            } else {
                res
            }
        }
        Err(e) => {
            metrics::counter!("tessera_token_errors_total", "error" => e.code.as_str()).increment(1);
            let res = token_error(&e, has_authorization(&headers));
            if e.code == ErrorCode::UseDpopNonce {
                with_nonce(res)
            } else {
                res
            }
        }
    }
}

/// `peer` (the client's address) is for the audit log, which only the rare reuse of a
/// code or refresh token writes to.
async fn token_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    peer: Option<IpAddr>,
) -> Result<(GrantType, Value), OAuthError> {
    let pairs = read_form(headers, body)?;
    let client = authenticate_client(state, headers, &pairs).await?;
    let request = TokenRequest::parse(&pairs)?;
    // RFC 6749 §5.2: a client not authorized for this grant type.
    if !client.allows_grant(request.grant_type()) {
        return Err(
            OAuthError::new(ErrorCode::UnauthorizedClient, "grant type not allowed for this client")
                .with_detail(format!("grant_type {}", request.grant_type())),
        );
    }
    // RFC 8707 §2: the `resource` values (may repeat), each an absolute URI.
    let resources = tessera_core::resource::requested(&pairs)?;
    let grant_type = request.grant_type();
    // RFC 9449 §5: a proof, if sent, is checked before anything is spent (signature,
    // claims, nonce); its jti is recorded by the grant once everything else checked out.
    let proof = dpop::endpoint_proof(state, headers, "POST", "/token", now)?;
    // RFC 9449 §5 (`dpop_bound_access_tokens`): such a client's token requests MUST carry
    // a proof. The RFC names no error code; a required header missing is invalid_request
    // (RFC 6749 §5.2). node-oidc-provider says invalid_grant here.
    if proof.is_none() && client.requires_dpop() {
        return Err(OAuthError::invalid_request("DPoP proof required"));
    }
    // FAPI 2.0 §5.4: a client under the profile signs its proofs with PS256, ES256 or EdDSA.
    if let Some(p) = proof
        .as_ref()
        .filter(|p| client.settings.fapi2 && !fapi::allows_alg(&p.alg))
    {
        return Err(OAuthError::new(ErrorCode::InvalidDpopProof, "invalid DPoP proof")
            .with_detail(format!("alg {} is not allowed under FAPI 2.0", p.alg)));
    }
    let body = exchange(state, &client, request, &resources, proof.as_ref(), now, peer).await?;
    // A dynamically registered client's first token keeps it from the janitor.
    state.registration.note_used(state, &client.client_id, now).await;
    Ok((grant_type, body))
}

/// RFC 9449 §11.1: the proof's one use, recorded once the grant's own checks passed.
async fn use_proof(state: &AppState, proof: Option<&Proof>, now: i64) -> Result<(), OAuthError> {
    match proof {
        Some(p) => dpop::record_use(state, p, now).await,
        None => Ok(()),
    }
}

/// One arm per grant, as in the core's [`TokenRequest`]. `resources`: the request's
/// `resource` values (RFC 8707).
async fn exchange(
    state: &AppState,
    client: &Client,
    request: TokenRequest,
    resources: &[String],
    proof: Option<&Proof>,
    now: i64,
    peer: Option<IpAddr>,
) -> Result<Value, OAuthError> {
    let store = &state.db.store;
    let jkt = proof.map(|p| p.jkt.as_str());
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let (record, family_id, user) = match store
                .redeem_code(&hash_secret(&code), &client.client_id, now)
                .await
                .map_err(server_error)?
            {
                CodeRedemption::Unknown => {
                    return Err(OAuthError::invalid_grant("invalid authorization code").with_detail("unknown code"))
                }
                // RFC 6749 §4.1.3: issued to another client. Not spent (#18 item 9).
                CodeRedemption::OtherClient => {
                    return Err(OAuthError::invalid_grant("invalid authorization code")
                        .with_detail("code was issued to another client"))
                }
                // RFC 6749 §4.1.2: a code used twice is refused, and the tokens issued
                // from it SHOULD be revoked.
                CodeRedemption::AlreadyUsed { family_id } => {
                    store.revoke_family(&family_id, now).await.map_err(server_error)?;
                    let event = NewEvent::new(Kind::CodeReused, Actor::Anonymous, now)
                        .client(&client.client_id)
                        .address(peer)
                        .detail(audit::detail(json!({ "family_id": family_id })));
                    audit::record(store.as_ref(), event).await;
                    return Err(OAuthError::invalid_grant("invalid authorization code")
                        .with_detail(format!("code replayed; family {family_id} revoked")));
                }
                // Its family was revoked before this exchange started it: a replay of this
                // code, or the user revoking the app's access, came first (#18 item 4).
                CodeRedemption::Redeemed {
                    family_revoked: true,
                    family_id,
                    ..
                } => {
                    return Err(OAuthError::invalid_grant("invalid authorization code")
                        .with_detail(format!("family {family_id} revoked before the code was redeemed")))
                }
                CodeRedemption::Redeemed {
                    record,
                    family_id,
                    user,
                    ..
                } => (record, family_id, user),
            };
            // RFC 6749 §4.1.3 and RFC 7636 §4.6 (client, expiry, redirect_uri, PKCE). The
            // code is spent either way: a failed attempt burns it.
            check_code(
                &record,
                &client.client_id,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
                now,
            )?;
            // RFC 9449 §10.1: a code bound with dpop_jkt needs a proof of that key.
            tessera_core::dpop::check_code_binding(record.dpop_jkt.as_deref(), jkt)?;
            let user = active_user(user)?;
            // RFC 8707 §2.2: one of the resources the authorization request named.
            let api = token_target(state, client, resources, &record.resources).await?;
            use_proof(state, proof, now).await?;
            let grant = UserGrant {
                client,
                user: &user,
                scopes: &record.scopes,
                grant_scopes: &record.scopes,
                auth_time: record.auth_time,
                nonce: record.nonce.as_deref(),
                family_id: &family_id,
                refresh: RefreshIssue::StoreNew,
                dpop_jkt: jkt,
                api: api.as_ref(),
            };
            issue::issue_for_user(state, &grant, now).await
        }

        TokenRequest::RefreshToken { refresh_token, scope } => {
            let hash = hash_secret(&refresh_token);
            let (record, user) = store.refresh_grant(&hash).await.map_err(server_error)?.ok_or_else(|| {
                OAuthError::invalid_grant("invalid refresh token").with_detail("unknown refresh token")
            })?;
            // RFC 9700 §4.14.2: a rotated (or revoked) token presented again means a copy
            // is in the wrong hands; revoke the whole family.
            if record.rotated || record.revoked {
                let reuse = Reuse {
                    record: &record,
                    user: user.as_ref(),
                    what: "refresh token reused",
                    peer,
                };
                return Err(refuse_reuse(state, reuse, now).await);
            }
            // #18 item 9: the grant as the client is registered now. A scope removed from
            // the client since is no longer granted; without offline_access the client may
            // no longer refresh at all (OIDC Core §11).
            let mut record = record;
            record.scopes = record.scopes.intersection(&client.scopes);
            if !record.scopes.contains(tessera_core::scope::OFFLINE_ACCESS) {
                return Err(OAuthError::invalid_grant("the grant is no longer valid")
                    .with_detail("offline_access removed from the client"));
            }
            // RFC 6749 §6: same client, unexpired, scope no wider than the grant.
            let family_max_age = state.lifetimes.refresh_family_max_age;
            let scopes = check_refresh(&record, &client.client_id, scope.as_ref(), now, family_max_age)?;
            // RFC 9449 §5: a bound refresh token (a public client's) needs a proof of its
            // key; checked before rotating, so a wrong key spends nothing.
            tessera_core::dpop::check_refresh_binding(record.dpop_jkt.as_deref(), jkt)?;
            let user = active_user(user)?;
            // RFC 8707 §2.2: a resource the grant covers; checked before the token rotates.
            let api = token_target(state, client, resources, &record.resources).await?;
            use_proof(state, proof, now).await?;
            // FAPI 2.0 §5.3.2.1: "shall not use refresh token rotation except in
            // extraordinary circumstances": the token stays as it is (its family's caps
            // still apply) and the response carries no new one.
            let refresh = if client.settings.fapi2 {
                RefreshIssue::Keep
            } else {
                // RFC 9700 §4.14.2: rotate, storing the successor in the same round trip. Two
                // concurrent uses of one token: only one may rotate it; the loser is reuse.
                let successor = random_token();
                let expires_at = issue::refresh_expiry(client, record.family_created_at, family_max_age, now);
                let rotated = store
                    .rotate_refresh_token(
                        &hash,
                        &hash_secret(&successor),
                        expires_at,
                        tessera_core::dpop::refresh_token_binding(client.is_public, jkt).as_deref(),
                        now,
                    )
                    .await
                    .map_err(server_error)?;
                if !rotated {
                    let reuse = Reuse {
                        record: &record,
                        user: Some(&user),
                        what: "concurrent refresh",
                        peer,
                    };
                    return Err(refuse_reuse(state, reuse, now).await);
                }
                RefreshIssue::Stored(successor)
            };
            let grant = UserGrant {
                client,
                user: &user,
                scopes: &scopes,
                grant_scopes: &record.scopes,
                // OIDC Core §12.2: auth_time stays that of the original sign-in.
                auth_time: record.auth_time,
                nonce: None,
                family_id: &record.family_id,
                refresh,
                dpop_jkt: jkt,
                api: api.as_ref(),
            };
            issue::issue_for_user(state, &grant, now).await
        }

        TokenRequest::ClientCredentials { scope } => {
            // RFC 6749 §4.4: confidential clients only, scopes within the registration.
            let scopes = check_client_credentials(client.is_public, &client.scopes, scope.as_ref())?;
            // RFC 8707 §2: an API the client may use; none named, the sample resource.
            let api = token_target(state, client, resources, &[]).await?;
            use_proof(state, proof, now).await?;
            issue::issue_for_client(state, client, api.as_ref(), &scopes, jkt, now)
        }

        TokenRequest::DeviceCode { device_code } => {
            // RFC 8628 §3.4, §3.5: pending, slow_down (the interval grows), denied,
            // expired, or the tokens, once: the store redeems an approved code with one
            // conditional UPDATE.
            let poll = store
                .poll_device_code(
                    &hash_secret(&device_code),
                    &client.client_id,
                    now,
                    policy::DEVICE_SLOW_DOWN_STEP,
                    policy::DEVICE_POLL_INTERVAL_MAX,
                )
                .await
                .map_err(server_error)?;
            if let Some(refusal) = poll_refusal(&poll) {
                return Err(refusal);
            }
            let DevicePoll::Redeemed {
                record,
                family_id,
                user,
            } = poll
            else {
                return Err(server_error("device poll neither refused nor redeemed"));
            };
            let user = active_user(user)?;
            // RFC 8707 §2.2: one of the resources the device authorization request named.
            let api = token_target(state, client, resources, &record.resources).await?;
            use_proof(state, proof, now).await?;
            // As the code grant: a refresh token with offline_access (and the
            // refresh_token grant), an ID token with openid.
            let grant = UserGrant {
                client,
                user: &user,
                scopes: &record.scopes,
                grant_scopes: &record.scopes,
                auth_time: record.auth_time.unwrap_or(now),
                nonce: None,
                family_id: &family_id,
                refresh: RefreshIssue::StoreNew,
                dpop_jkt: jkt,
                api: api.as_ref(),
            };
            issue::issue_for_user(state, &grant, now).await
        }
    }
}

/// A refresh token presented when it was no longer current.
struct Reuse<'a> {
    record: &'a RefreshRecord,
    /// Its user, if they still exist (the audit log names them).
    user: Option<&'a User>,
    what: &'static str,
    peer: Option<IpAddr>,
}

/// RFC 9700 §4.14.2: a refresh token used twice means a copy is in the wrong hands; the
/// whole family is revoked, the request refused, and the reuse recorded in the audit log.
async fn refuse_reuse(state: &AppState, reuse: Reuse<'_>, now: i64) -> OAuthError {
    metrics::counter!("tessera_refresh_reuse_detected_total").increment(1);
    let family_id = &reuse.record.family_id;
    if let Err(e) = state.db.store.revoke_family(family_id, now).await {
        return server_error(e);
    }
    let subject = reuse
        .user
        .map_or(reuse.record.user_id.as_str(), |u| u.username.as_str());
    let event = NewEvent::new(Kind::RefreshTokenReused, Actor::Anonymous, now)
        .client(&reuse.record.client_id)
        .subject(subject)
        .address(reuse.peer)
        .detail(audit::detail(json!({ "family_id": family_id, "reason": reuse.what })));
    audit::record(state.db.store.as_ref(), event).await;
    OAuthError::invalid_grant("invalid refresh token")
        .with_detail(format!("{}; family {family_id} revoked", reuse.what))
}

/// The user a grant was made for, if they still exist and may sign in.
fn active_user(user: Option<User>) -> Result<User, OAuthError> {
    match user {
        Some(user) if !user.disabled => Ok(user),
        Some(_) => Err(OAuthError::invalid_grant("the grant is no longer valid").with_detail("user disabled")),
        None => Err(OAuthError::invalid_grant("the grant is no longer valid").with_detail("user deleted")),
    }
}
