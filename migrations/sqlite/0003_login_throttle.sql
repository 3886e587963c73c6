-- Failed sign-ins, per "user:<username>" and per "ip:<address>", shared by every
-- instance: the back-off (src/throttle.rs) holds however many servers run.
CREATE TABLE login_failures (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    -- When the current run of failures began; older runs start over.
    window_start  BIGINT NOT NULL,
    blocked_until BIGINT
);

-- "My apps" and consent revocation look token families up by user and client.
CREATE INDEX token_families_user_client ON token_families (user_id, client_id);
