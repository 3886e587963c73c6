-- Scopes defined by an administrator, with the text the consent screen shows. The
-- built-in OpenID Connect scopes are not rows: they come with the code.
CREATE TABLE scopes (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
