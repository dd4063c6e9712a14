-- SPDX-License-Identifier: BUSL-1.1
-- The signed head of the audit chain: the newest event's sequence and hash, signed with the
-- zone key. Verification checks that the chain still reaches the head, so removing the
-- newest events (which the append-only triggers refuse, but someone who drops them could do)
-- shows, and the head cannot be rewritten without the zone key, which is not in the database.
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    sequence   BIGINT  NOT NULL CHECK (sequence >= 1),
    event_hash TEXT    NOT NULL,
    signature  TEXT    NOT NULL
);

-- The head moves forward; it is never removed.
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit head is never removed');
END;
