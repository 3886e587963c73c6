-- How each client authenticates and the public keys it signs with (RFC 7591 §2,
-- RFC 7523, RFC 9101). Existing clients keep what they had: public ones `none`,
-- confidential ones their secret (Basic or form body alike). `jwks` is a JWK Set as JSON
-- text (public keys only), `jwks_uri` where the client publishes one; never both.
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE is_public;
