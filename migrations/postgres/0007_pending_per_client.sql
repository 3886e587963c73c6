-- Pending authorization requests are capped per client (#18 item 1): the count of a
-- client's live ones is read on every anonymous /authorize that stores one.
CREATE INDEX auth_requests_client ON auth_requests (client_id, expires_at);
