-- One-time identifiers a client or its key chose and that must not be accepted twice while
-- they could still be presented: a private_key_jwt assertion's `jti` (RFC 7523 §3), a DPoP
-- proof's `jti` (RFC 9449 §11.1). Shared by every instance, so a replay to another
-- instance is refused too. `purpose` keeps the kinds apart; `jti_hash` is the SHA-256 of
-- the client's value (bounded size whatever was sent). Rows go when they expire.
CREATE TABLE seen_jtis (
    purpose    TEXT NOT NULL,
    jti_hash   TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (purpose, jti_hash)
);
CREATE INDEX seen_jtis_expires_at ON seen_jtis (expires_at);
