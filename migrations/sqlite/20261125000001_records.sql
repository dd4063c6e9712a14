-- SPDX-License-Identifier: BUSL-1.1
-- The generic document store and the idempotency-key table (SQLite).
--
-- Every primitive's records live in one table, keyed by (collection, id). The body is the
-- record's JSON text exactly as the server wrote it, so a record reads back byte for byte.
-- `seq` gives a stable insertion order for pagination; AUTOINCREMENT guarantees that a
-- number is never handed out twice, even after the newest row is deleted. `version` is the
-- optimistic-concurrency counter that every update compares and bumps.

CREATE TABLE records (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT records_collection_id_key UNIQUE (collection, id)
);

-- Listing a collection walks it in insertion order.
CREATE INDEX records_collection_seq_idx ON records (collection, seq);

-- An idempotency key remembers which record a client's retried create already produced.
CREATE TABLE idempotency_keys (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (scope, key)
);
