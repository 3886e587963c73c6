-- A counter of writes that can end an access token's life early: a revoked access token,
-- a revoked token family (also one created revoked), any change to a user. Triggers bump
-- it whoever writes (any instance, the CLI), so an instance that caches "this token is
-- live" answers can tell, by reading one row, whether they still hold
-- (server/src/store/status_cache.rs). Statement-level where PostgreSQL allows: a
-- statement that changed nothing bumps it too, which only costs a cache refill.
CREATE TABLE status_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO status_epoch (id, n) VALUES (1, 0);

CREATE FUNCTION tessera_bump_status_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE status_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER status_epoch_access_token_revoked AFTER INSERT ON revoked_access_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_bump_status_epoch();

CREATE TRIGGER status_epoch_family_revoked AFTER UPDATE OF revoked_at ON token_families
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_bump_status_epoch();

CREATE TRIGGER status_epoch_family_born_revoked AFTER INSERT ON token_families
    FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION tessera_bump_status_epoch();

CREATE TRIGGER status_epoch_user_changed AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_bump_status_epoch();
