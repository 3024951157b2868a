-- Sessions of the finance page (issue 24): the cookie holds a random session id, stored here
-- only as its SHA-256 hash. A session ends after an hour without a request, after ten hours
-- whatever happens, at sign-out, and with its API key (service::web_sessions).
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX web_sessions_api_key ON web_sessions (api_key_id);
