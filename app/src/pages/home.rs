//! The start page, where a newcomer lands: signed out, what this server is, Sign in and
//! the demo; signed in, the way to one's apps; as an administrator, the admin console,
//! this server's addresses and a first client walked through the flow with curl.

use leptos::prelude::*;

use crate::api::home::{home_info, server_status, HomeView, StatusView};
use crate::components::CopyButton;

#[component]
pub fn HomePage() -> impl IntoView {
    let info = Resource::new(|| (), |_| home_info());

    view! {
        <section class="hero">
            <h1>"Tessera"</h1>
            <p class="lead">
                "An OAuth 2.0 and OpenID Connect authorization server: it signs people in and hands "
                "your applications tokens they can trust."
            </p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(home) => start(home),
                    Err(_) => view! {
                        <section class="card"><p role="alert">"The session could not be read."</p></section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
        <StatusCard/>
    }
    .into_any()
}

/// The part of the page that depends on who is looking.
fn start(home: HomeView) -> AnyView {
    let HomeView {
        username,
        is_admin,
        csrf,
        issuer,
        demo,
    } = home;
    match username {
        None => view! { <Welcome demo/> }.into_any(),
        Some(name) => view! {
            <section class="card">
                <p class="first" data-testid="signed-in">
                    "Signed in as " <strong>{name}</strong>
                    {is_admin.then_some(" (administrator)")}
                </p>
                <div class="button-row">
                    {is_admin.then(|| view! { <a class="button" href="/admin">"Admin console"</a> })}
                    <a class="button secondary" href="/account/apps">"Apps you allowed"</a>
                    {demo.then(|| view! { <a class="button secondary" href="/demo">"Step-by-step demo"</a> })}
                    <form method="post" action="/ui/logout" class="inline-form">
                        <input type="hidden" name="csrf" value=csrf/>
                        <button type="submit" class="button secondary">"Sign out"</button>
                    </form>
                </div>
            </section>
            {is_admin.then(|| view! { <ServerCard issuer=issuer.clone()/> <FirstClientCard issuer/> })}
        }
        .into_any(),
    }
}

#[component]
fn Welcome(demo: bool) -> impl IntoView {
    view! {
        <section class="card" data-testid="welcome">
            <h2>"Start here"</h2>
            <p>
                "Applications send people here to sign in. Tessera asks them which of their data an "
                "app may use, then gives the app short-lived, signed tokens — with PKCE, refresh-token "
                "rotation, revocation and OpenID Connect ID tokens."
            </p>
            <p>"You are not signed in."</p>
            <div class="button-row">
                <a class="button" href="/login">"Sign in"</a>
                {demo.then(|| view! { <a class="button secondary" href="/demo">"Step-by-step demo"</a> })}
            </div>
            {demo.then(|| view! {
                <p class="hint">
                    "The demo walks the authorization code flow against this server, one message at a "
                    "time. On a server started with " <code>"make run"</code> ", the administrator's "
                    "password was printed at start and saved in " <code>"data/demo-credentials.txt"</code> "."
                </p>
            })}
        </section>
    }
}

/// The addresses a client developer configures.
#[component]
fn ServerCard(issuer: String) -> impl IntoView {
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let jwks = format!("{issuer}/jwks.json");
    view! {
        <section class="card" data-testid="server-card">
            <h2>"This server"</h2>
            <dl class="facts">
                <dt>"Issuer"</dt>
                <dd><code data-testid="issuer">{issuer}</code></dd>
                <dt>"Discovery"</dt>
                <dd><a href=discovery.clone() data-testid="discovery"><code>{discovery.clone()}</code></a></dd>
                <dt>"Signing keys (JWKS)"</dt>
                <dd><a href=jwks.clone() data-testid="jwks"><code>{jwks.clone()}</code></a></dd>
            </dl>
        </section>
    }
}

/// The redirect URI of the curl walk-through: nothing needs to listen there, the code is
/// read from the browser's address bar.
pub const TRY_IT_REDIRECT: &str = "http://127.0.0.1:8080/cb";

/// A shell session that registers a client and walks the authorization code flow with
/// PKCE against `issuer`, then calls userinfo with the access token.
pub fn first_client_snippet(issuer: &str) -> String {
    let r = TRY_IT_REDIRECT;
    format!(
        r#"# 1. Register a client (in the Tessera checkout; or Admin console → New client)
target/release/tessera client add --name "Try it" --redirect-uri {r} > client.json
CLIENT_ID=$(jq -r .client_id client.json); CLIENT_SECRET=$(jq -r .client_secret client.json)
# 2. PKCE (RFC 7636), then open the printed address, sign in and Allow
VERIFIER=$(openssl rand -base64 48 | tr -d '=+/\n' | cut -c1-64)
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
echo "{issuer}/authorize?response_type=code&client_id=$CLIENT_ID&redirect_uri={r}&scope=openid%20profile&state=xyz&code_challenge=$CHALLENGE&code_challenge_method=S256"
# 3. The browser lands on {r}?code=… (nothing listens there): copy the code
CODE=paste-the-code-here
curl -s -u "$CLIENT_ID:$CLIENT_SECRET" {issuer}/token -d grant_type=authorization_code \
  -d code="$CODE" -d redirect_uri={r} -d code_verifier="$VERIFIER" > token.json
# 4. Who signed in, asked with the access token
curl -s -H "Authorization: Bearer $(jq -r .access_token token.json)" {issuer}/userinfo
"#
    )
}

#[component]
fn FirstClientCard(issuer: String) -> impl IntoView {
    let snippet = first_client_snippet(&issuer);
    let value = snippet.clone();
    view! {
        <section class="card" data-testid="first-client">
            <h2>"Register your first client and run the flow with curl"</h2>
            <p>
                "Needs " <code>"jq"</code> " and " <code>"openssl"</code> ". The same client can be made in the "
                <a href="/admin/clients/new">"admin console"</a> "."
            </p>
            <pre class="snippet" data-testid="first-client-snippet"><code>{snippet}</code></pre>
            <CopyButton value class="button secondary small"/>
        </section>
    }
}

#[component]
fn StatusCard() -> impl IntoView {
    let status = Action::new(|_: &()| server_status());
    view! {
        <section class="card">
            <h2>"Server status"</h2>
            <button type="button" class="button secondary" on:click=move |_| { status.dispatch(()); }>
                "Check server status"
            </button>
            <p data-testid="status" aria-live="polite">
                {move || match status.value().get() {
                    None if status.pending().get() => "Checking…".to_owned(),
                    None => String::new(),
                    Some(Ok(StatusView { database, ready })) => {
                        format!("database: {database} · {}", if ready { "ready" } else { "not reachable" })
                    }
                    Some(Err(e)) => format!("status check failed: {e}"),
                }}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippet_uses_this_servers_issuer_everywhere() {
        let s = first_client_snippet("https://id.example.com");
        assert!(s.contains("https://id.example.com/authorize?response_type=code&client_id=$CLIENT_ID"));
        assert!(s.contains("https://id.example.com/token -d grant_type=authorization_code"));
        assert!(s.contains("https://id.example.com/userinfo"));
        assert!(s.contains("code_challenge_method=S256"));
        // The redirect URI is the same at authorize and token (RFC 6749 §4.1.3).
        assert_eq!(s.matches(&format!("redirect_uri={TRY_IT_REDIRECT}")).count(), 2);
        assert!(!s.contains("127.0.0.1:3000"));
    }
}
