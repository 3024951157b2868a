-- The audit trail (README "Audit trail"): one row per resource a successful write touched:
-- who (API key), when, the request (id, method, route pattern, status) and what (resource type,
-- id where known, action: created, updated, deleted, issued, voided, credited, imported).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    api_key_id BIGINT,
    request_id TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id BIGINT,
    action TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
