// SPDX-License-Identifier: BUSL-1.1
//! Wall-clock timestamps in the one format the zone writes: RFC 3339, UTC, millisecond
//! precision (`2026-11-25T10:00:00.123Z`).
//!
//! Fixing the precision keeps stored timestamps comparable as strings and stable across the
//! SQLite and PostgreSQL backends, which both store the text as given.

use time::OffsetDateTime;
use time::macros::format_description;

/// The current time, formatted as RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// Formats any instant the way [`now_rfc3339`] does.
pub fn format_rfc3339(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    // Formatting a UTC instant with a fixed, valid description cannot fail; fall back to the
    // library's own RFC 3339 rendering rather than panicking if it ever did.
    at.format(&format).unwrap_or_else(|_| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let at = time::macros::datetime!(2026-11-25 10:00:00.123456 UTC);
        assert_eq!(format_rfc3339(at), "2026-11-25T10:00:00.123Z");
    }
}
