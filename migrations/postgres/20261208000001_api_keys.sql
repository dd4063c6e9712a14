-- SPDX-License-Identifier: BUSL-1.1
-- API keys (PostgreSQL): the bearer credentials the zone issues to its administrators,
-- regulators and the operators of its entities (`mez-api keys ...`, `/v1/keys`).
--
-- A key's secret is shown once, when it is created, and never stored: `secret_sha256` is the
-- hex SHA-256 of the whole presented token (`mez_<id>_<secret>`). Every request looks its key
-- up here, so a key revoked through one replica is refused by every replica sharing the
-- database on its next request. A revoked key keeps its row (`revoked_at` set), so listings
-- still say who held it. Listings are ordered by `created_at` (millisecond RFC 3339 text,
-- which sorts as time does), then `id`.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('zone_admin', 'regulator', 'entity_operator')),
    entity_id     TEXT,
    name          TEXT,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    CHECK ((role = 'entity_operator') = (entity_id IS NOT NULL))
);
