-- The audit log (#20): security events, newest first in the admin console, trimmed by the
-- janitor after --audit-retention-days. The actor is NULL for an anonymous caller and
-- "cli" for the command line; detail is a small JSON object.
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT,
    client_id   TEXT,
    subject     TEXT,
    address     TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
-- Newest first is the primary key read backwards; the janitor deletes by time, the
-- console filters by kind (paging by id within it).
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_kind ON audit_events (kind, id);
