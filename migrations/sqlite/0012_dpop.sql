-- DPoP (RFC 9449). Per client: every token request must carry a proof (§5
-- `dpop_bound_access_tokens`). Per code: the key thumbprint the authorization request named
-- in `dpop_jkt` (§10), which the exchange must prove. Per refresh token: the key a public
-- client's refresh tokens are bound to (§5), carried to each successor on rotation.
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE auth_codes ADD COLUMN dpop_jkt TEXT;
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
