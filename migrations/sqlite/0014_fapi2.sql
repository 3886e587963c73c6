-- The FAPI 2.0 Security Profile, switched on per client (src/fapi.rs): PAR, private_key_jwt,
-- PKCE S256, DPoP-bound tokens, PS256/ES256/EdDSA only, no refresh-token rotation.
ALTER TABLE clients ADD COLUMN fapi2 BOOLEAN NOT NULL DEFAULT FALSE;
