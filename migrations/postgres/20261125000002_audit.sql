-- SPDX-License-Identifier: BUSL-1.1
-- The audit chain (PostgreSQL): one row per write of the zone, linked by hashes.
--
-- The database itself refuses a fork, even between replicas. `sequence` is the primary key,
-- so two events cannot claim the same place in the chain; `previous_hash` is unique, so two
-- events cannot follow the same predecessor (the genesis event's 64 zeros included);
-- `event_hash` is unique, so an event cannot be appended twice. The application computes
-- `event_hash` over every other column (RFC 8785 canonical JSON, SHA-256) and verification
-- recomputes it row by row.
--
-- `metadata` is TEXT, not JSONB: it is the canonical JSON text that the hash covers, byte for
-- byte, and JSONB would re-encode it. `timestamp` is the RFC 3339 text the writer hashed.

CREATE TABLE audit_events (
    sequence      BIGINT PRIMARY KEY CHECK (sequence >= 1),
    event_type    TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    resource_id   TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    metadata      TEXT   NOT NULL,
    timestamp     TEXT   NOT NULL,
    previous_hash TEXT   NOT NULL UNIQUE CHECK (previous_hash ~ '^[0-9a-f]{64}$'),
    event_hash    TEXT   NOT NULL UNIQUE CHECK (event_hash ~ '^[0-9a-f]{64}$')
);

-- A resource's history is read by (resource_type, resource_id), in sequence order.
CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, sequence);

-- The chain is append-only: the zone never changes or removes an event, so the database
-- refuses to. A superuser can still disable the trigger; that is what verification (which
-- recomputes every hash) is for.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
