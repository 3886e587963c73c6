-- Bumped every time a user's password is set. A browser session remembers the epoch it
-- signed in under and is signed out once the user's epoch has moved on, so a password
-- change (by the user or an administrator) ends every other session of that user.
ALTER TABLE users ADD COLUMN password_epoch BIGINT NOT NULL DEFAULT 0;
