-- Pushed authorization requests (RFC 9126): validated at POST /par and kept until the
-- browser brings their request_uri to /authorize, which takes the row (one use) and goes
-- on with an ordinary pending request (auth_requests). A table of its own rather than
-- auth_requests: a pushed row is found by request_uri AND the client that pushed it, is
-- deleted on first use rather than updated while the user signs in, lives 60 s rather
-- than 10 minutes, and is counted against its own per-client cap; its id must never be
-- accepted where a pending request's is (/login?request=..., /authorize/resume).
-- `id_hash` is the SHA-256 of the random part of the request_uri.
CREATE TABLE pushed_requests (
    id_hash    TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    request    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- The per-client cap counts a client's live rows at every push; the janitor deletes by age.
CREATE INDEX pushed_requests_client ON pushed_requests (client_id, expires_at);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- RFC 9126 §6: the client may start an authorization only by pushing it first.
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;
