-- SPDX-License-Identifier: BUSL-1.1
-- Credential status (W3C Bitstring Status List v1.0): the allocator of status list positions.
--
-- Every credential the zone issues takes the next position `n` of one counter; it is bit
-- `n % 131072` of the lists `revocation-K` and `suspension-K`, K = n / 131072 + 1. The counter
-- only moves forward (one UPDATE ... RETURNING, atomic on both engines, so replicas sharing
-- the database never get the same position); a write that fails after taking a position
-- leaves a gap, and no position is ever handed out twice. The bits themselves are records of
-- the `credential_status` collection, changed through the audit log's commit path.
CREATE TABLE credential_status_allocator (
    name       TEXT   PRIMARY KEY,
    next_index BIGINT NOT NULL CHECK (next_index >= 0)
);

INSERT INTO credential_status_allocator (name, next_index) VALUES ('credentials', 0);
