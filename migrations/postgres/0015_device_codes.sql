-- Device authorization grant (RFC 8628): a device code from POST /device_authorization
-- until its tokens are issued (status 'redeemed') or it expires (the janitor deletes it
-- then). Both codes are stored by SHA-256: the device code by its hash, the user code by
-- the hash of its normalised form (what /device looks it up by). `user_code_hint` is its
-- first half, for the admin console. `poll_interval` grows by 5 s at each slow_down
-- (RFC 8628 §3.5); `last_poll` is when the device last asked.
CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash   TEXT NOT NULL UNIQUE,
    user_code_hint   TEXT NOT NULL,
    client_id        TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    scopes           TEXT NOT NULL,
    resources        TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'pending',
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time        BIGINT,
    poll_interval    BIGINT NOT NULL,
    last_poll        BIGINT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
-- The per-client cap counts a client's live rows at every request; the janitor and the
-- global cap go by expiry.
CREATE INDEX device_codes_client ON device_codes (client_id, expires_at);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);
