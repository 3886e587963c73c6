-- A counter of writes that can end an access token's life early: a revoked access token,
-- a revoked token family (also one created revoked), any change to a user. Triggers bump
-- it whoever writes (this server, another instance, the CLI), so a server that caches
-- "this token is live" answers can tell, by reading one row, whether they still hold
-- (server/src/store/status_cache.rs).
CREATE TABLE status_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO status_epoch (id, n) VALUES (1, 0);

CREATE TRIGGER status_epoch_access_token_revoked AFTER INSERT ON revoked_access_tokens
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER status_epoch_family_revoked AFTER UPDATE OF revoked_at ON token_families
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER status_epoch_family_born_revoked AFTER INSERT ON token_families
WHEN NEW.revoked_at IS NOT NULL
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER status_epoch_user_changed AFTER UPDATE ON users
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER status_epoch_user_deleted AFTER DELETE ON users
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
END;
