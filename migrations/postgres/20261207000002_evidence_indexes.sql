-- SPDX-License-Identifier: BUSL-1.1
-- Indexes for the lookups evidence-based compliance makes on every /v1 write (PostgreSQL).
--
-- The evaluator reads an entity's identity checks and treasury by `entityId`, its attestations
-- by `entityId` and `resourceType`, and its cap table by `organizationId`. Without these, each lookup scans (and casts to
-- jsonb) every record of the collection. The expressions are exactly the ones the store's
-- filtered lists use (`(body::jsonb ->> 'field')`), so the planner matches them.
--
-- A database written before the store refused U+0000 may hold a body with a `\u0000` escape,
-- which jsonb refuses: building the index would then fail and stop the zone from starting.
-- Such a database keeps working without the indexes (the lists stay correct, only slower),
-- and the migration says so.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM records WHERE strpos(body, '\u0000') > 0) THEN
        RAISE WARNING 'records hold a \u0000 escape; the evidence lookup indexes are not built';
    ELSE
        CREATE INDEX records_entity_id_idx
            ON records (collection, (body::jsonb ->> 'entityId'), (body::jsonb ->> 'resourceType'), seq);
        CREATE INDEX records_organization_id_idx
            ON records (collection, (body::jsonb ->> 'organizationId'), seq);
    END IF;
END
$$;
