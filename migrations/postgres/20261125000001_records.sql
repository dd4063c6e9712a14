-- SPDX-License-Identifier: BUSL-1.1
-- The generic document store and the idempotency-key table (PostgreSQL).
--
-- Every primitive's records live in one table, keyed by (collection, id). The body is TEXT
-- rather than JSONB on purpose: JSONB reorders keys and normalises numbers, and a record must
-- read back byte for byte. Filters cast the body to JSONB when they need a field. `seq` gives
-- a stable insertion order for pagination. `version` is the optimistic-concurrency counter
-- that every update compares and bumps.

CREATE TABLE records (
    seq        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    version    BIGINT      NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT records_collection_id_key UNIQUE (collection, id)
);

-- Listing a collection walks it in insertion order.
CREATE INDEX records_collection_seq_idx ON records (collection, seq);

-- An idempotency key remembers which record a client's retried create already produced.
CREATE TABLE idempotency_keys (
    scope      TEXT        NOT NULL,
    key        TEXT        NOT NULL,
    record_id  TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
