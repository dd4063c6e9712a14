-- SPDX-License-Identifier: BUSL-1.1
-- The audit chain (SQLite): one row per write of the zone, linked by hashes.
--
-- The database itself refuses a fork. `sequence` is the primary key, so two events cannot
-- claim the same place in the chain; `previous_hash` is unique, so two events cannot follow
-- the same predecessor (the genesis event's 64 zeros included); `event_hash` is unique, so an
-- event cannot be appended twice. The application computes `event_hash` over every other
-- column (RFC 8785 canonical JSON, SHA-256) and verification recomputes it row by row.
--
-- `metadata` is the canonical JSON text that the hash covers, byte for byte, so any edit of
-- it shows. `timestamp` is the RFC 3339 text the writer hashed, kept as given.

CREATE TABLE audit_events (
    sequence      INTEGER PRIMARY KEY CHECK (sequence >= 1),
    event_type    TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    metadata      TEXT    NOT NULL,
    timestamp     TEXT    NOT NULL,
    previous_hash TEXT    NOT NULL UNIQUE
        CHECK (length(previous_hash) = 64 AND previous_hash NOT GLOB '*[^0-9a-f]*'),
    event_hash    TEXT    NOT NULL UNIQUE
        CHECK (length(event_hash) = 64 AND event_hash NOT GLOB '*[^0-9a-f]*')
);

-- A resource's history is read by (resource_type, resource_id), in sequence order.
CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, sequence);

-- The chain is append-only: the zone never changes or removes an event, so the database
-- refuses to. Someone with write access to the file can still drop these triggers; that is
-- what verification (which recomputes every hash) is for.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
