-- APIs (resource servers, RFC 8707) an administrator registered: a token requested with
-- `resource=<identifier>` has that `aud`, is signed with `access_token_alg`, lives
-- `access_token_ttl` seconds and carries the granted scopes among `scopes`
-- (space-separated). The sample resource's API is added by the server at start.
CREATE TABLE apis (
    identifier       TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    access_token_alg TEXT NOT NULL,
    access_token_ttl BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

-- The APIs a client may name (space-separated identifiers); '' = the sample resource's only.
ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '';
-- The resources an authorization request named, kept with its code and then its grant
-- (token family), so that a token request may choose only among them.
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN resources TEXT NOT NULL DEFAULT '';
