-- Idempotency keys (README "Idempotency"): one row per (API key, Idempotency-Key). `status` is
-- NULL while the first request runs; then it holds the stored response (2xx or 4xx), replayed
-- byte for byte to retries with the same fingerprint (SHA-256 of method, path and body) until
-- `expires_at`. Expired rows are purged by the next claim.
CREATE TABLE idempotency_keys (
    id BIGSERIAL PRIMARY KEY,
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id),
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    headers TEXT NOT NULL DEFAULT '[]',
    body BYTEA,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    UNIQUE (api_key_id, idem_key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
