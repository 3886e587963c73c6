-- Dynamic client registration (RFC 7591/7592). Server-wide settings, one row per name:
-- `registration_mode` (off, token, open) and `registration_open_scopes`, so that every
-- instance on the database agrees; no row means the default (off).
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Initial access tokens (RFC 7591 §3) an administrator created: stored by SHA-256 only;
-- `uses_left` is taken one at a time in a single UPDATE, so registrations on any instance
-- cannot exceed it.
CREATE TABLE initial_access_tokens (
    id                 TEXT PRIMARY KEY,
    token_hash         TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    allow_confidential BOOLEAN NOT NULL,
    uses_total         BIGINT NOT NULL,
    uses_left          BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    revoked_at         BIGINT
);

-- Clients registered dynamically: the hash of their registration access token (RFC 7592),
-- which initial token registered them (NULL: open mode; no foreign key, the token's row
-- may go first), the policy their updates stay within, and when they were first issued
-- a token (NULL: never; the janitor removes those after --registration-unused-ttl).
CREATE TABLE dynamic_clients (
    client_id               TEXT PRIMARY KEY REFERENCES clients(client_id) ON DELETE CASCADE,
    registration_token_hash TEXT NOT NULL,
    initial_token_id        TEXT,
    policy_scopes           TEXT NOT NULL,
    allow_confidential      BOOLEAN NOT NULL,
    registered_at           BIGINT NOT NULL,
    used_at                 BIGINT
);
CREATE INDEX dynamic_clients_unused ON dynamic_clients (registered_at) WHERE used_at IS NULL;
