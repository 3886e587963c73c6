-- Per-client protocol settings (defaults are the secure ones).
ALTER TABLE clients ADD COLUMN description TEXT;
ALTER TABLE clients ADD COLUMN logo_uri TEXT;
-- Space-separated grant types; empty means the defaults for the client's type.
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_pkce BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE clients ADD COLUMN access_token_ttl BIGINT NOT NULL DEFAULT 3600;
ALTER TABLE clients ADD COLUMN refresh_token_ttl BIGINT NOT NULL DEFAULT 2592000;
ALTER TABLE clients ADD COLUMN access_token_alg TEXT NOT NULL DEFAULT 'ES256';
ALTER TABLE clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'RS256';

-- Signing keys, shared by every instance on this database. A retired key still verifies
-- (and is published) until the tokens it signed have expired.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

-- Authorization requests waiting for login or consent; the browser carries only the id.
CREATE TABLE auth_requests (
    id_hash    TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    request    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- One row per grant (one code redemption, and every token refreshed from it): revoking
-- the family revokes its access and refresh tokens at once.
CREATE TABLE token_families (
    family_id  TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Authorization codes, by SHA-256; single use (used_at), 60 seconds.
CREATE TABLE auth_codes (
    code_hash          TEXT PRIMARY KEY,
    family_id          TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri       TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    scopes             TEXT NOT NULL,
    nonce              TEXT,
    code_challenge     TEXT,
    auth_time          BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    used_at            BIGINT
);

-- Refresh tokens, by SHA-256; rotated on every use, reuse revokes the family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES token_families(family_id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    auth_time  BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Access tokens are JWTs and are not stored; one revoked by RFC 7009 is remembered here
-- until it would have expired anyway.
CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- What each user allowed each client, so the consent screen is shown only when needed.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
