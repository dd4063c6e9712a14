-- SPDX-License-Identifier: BUSL-1.1
-- Indexes for the lookups evidence-based compliance makes on every /v1 write (SQLite).
--
-- The evaluator reads an entity's identity checks and treasury by `entityId`, its attestations
-- by `entityId` and `resourceType`, and its cap table by `organizationId`. Without these, each lookup scans every record of the
-- collection, so a write's cost grew with the zone's size. The expressions are exactly the
-- ones the store's filtered lists use (`json_extract(body, '$.field')`), so SQLite's planner
-- matches them.

CREATE INDEX records_entity_id_idx
    ON records (collection, json_extract(body, '$.entityId'), json_extract(body, '$.resourceType'), seq);

CREATE INDEX records_organization_id_idx
    ON records (collection, json_extract(body, '$.organizationId'), seq);
