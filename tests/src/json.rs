// SPDX-License-Identifier: BUSL-1.1
//! Assertions on the JSON shapes every answer of the zone shares.
//!
//! They panic with the whole offending value, so a failing test shows what the zone sent
//! rather than only which key was wrong.

use serde_json::Value;

/// Asserts that `body` is the zone's one error shape with this `code`:
/// `{"error": {"code", "message"}}`, plus `details` (a non-empty array) exactly when the code is
/// `VALIDATION_ERROR`. No other keys, at either level. Returns the message.
pub fn assert_error(body: &Value, code: &str) -> String {
    let Some(top) = body.as_object() else {
        panic!("expected an error object, got {body}");
    };
    let top_keys: Vec<&str> = top.keys().map(String::as_str).collect();
    assert_eq!(
        top_keys,
        ["error"],
        "error body has exactly one key: {body}"
    );
    let Some(error) = body["error"].as_object() else {
        panic!("`error` must be an object: {body}");
    };
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let expected: &[&str] = if code == "VALIDATION_ERROR" {
        &["code", "details", "message"]
    } else {
        &["code", "message"]
    };
    assert_eq!(keys, expected, "error keys for {code}: {body}");
    assert_eq!(error["code"], code, "error code: {body}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        !message.trim().is_empty(),
        "error message is a non-empty string: {body}"
    );
    if code == "VALIDATION_ERROR" {
        let details = error["details"].as_array();
        assert!(
            details.is_some_and(|d| !d.is_empty()),
            "validation details are a non-empty array: {body}"
        );
    }
    message.to_owned()
}

/// The fields named in a validation error's `details`, in the order given.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map(|details| {
            details
                .iter()
                .filter_map(|d| d["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The string at `record[key]`, panicking with the record when it is missing or not a string.
pub fn str_at<'a>(record: &'a Value, key: &str) -> &'a str {
    match record.get(key).and_then(Value::as_str) {
        Some(s) => s,
        None => panic!("expected a string at `{key}` in {record}"),
    }
}

/// Asserts `record[key]` is a UUID string and returns it.
pub fn uuid_at(record: &Value, key: &str) -> String {
    let raw = str_at(record, key);
    match uuid::Uuid::parse_str(raw) {
        Ok(id) => id.to_string(),
        Err(err) => panic!("`{key}` is not a UUID ({err}) in {record}"),
    }
}

/// Asserts `record[key]` is an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`).
pub fn assert_timestamp_at(record: &Value, key: &str) {
    let raw = str_at(record, key);
    assert!(
        is_rfc3339(raw),
        "`{key}` is not an RFC 3339 timestamp: {raw:?} in {record}"
    );
}

/// Asserts the keys the store adds to every record: a UUID `id`, `createdAt`, and `updatedAt`
/// when `updated_at` is true (models declaring `timestamps: [createdAt]` have none). Returns the
/// id.
pub fn assert_record_meta(record: &Value, updated_at: bool) -> String {
    let id = uuid_at(record, "id");
    assert_timestamp_at(record, "createdAt");
    if updated_at {
        assert_timestamp_at(record, "updatedAt");
    } else {
        assert!(
            record.get("updatedAt").is_none(),
            "this model keeps only createdAt, yet the record has updatedAt: {record}"
        );
    }
    id
}

/// Asserts `record` has none of these keys.
pub fn assert_absent(record: &Value, keys: &[&str]) {
    for key in keys {
        assert!(
            record.get(*key).is_none(),
            "`{key}` must not be in {record}"
        );
    }
}

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|r| r.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b'T' || b[10] == b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_accepts_the_zone_format_and_offsets_and_rejects_others() {
        assert!(is_rfc3339("2026-11-25T10:00:00.123Z"));
        assert!(is_rfc3339("2026-11-25T10:00:00Z"));
        assert!(is_rfc3339("2026-11-25T10:00:00.5+05:00"));
        assert!(!is_rfc3339("2026-11-25 10:00:00"));
        assert!(!is_rfc3339("2026-11-25T10:00:00."));
        assert!(!is_rfc3339("yesterday"));
    }

    #[test]
    fn assert_error_accepts_the_one_shape() {
        let body = json!({"error": {"code": "NOT_FOUND", "message": "no such organization"}});
        assert_eq!(assert_error(&body, "NOT_FOUND"), "no such organization");
        let body = json!({"error": {"code": "VALIDATION_ERROR", "message": "m",
            "details": [{"field": "name", "message": "is required"}]}});
        assert_error(&body, "VALIDATION_ERROR");
        assert_eq!(error_fields(&body), ["name"]);
    }

    /// The message `check` panics with; fails the test when it does not panic.
    fn panic_message(check: impl FnOnce() + std::panic::UnwindSafe) -> String {
        match std::panic::catch_unwind(check) {
            Ok(()) => panic!("the check accepted what it must refuse"),
            Err(payload) => payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn assert_error_rejects_extra_keys() {
        let body = json!({"error": {"code": "NOT_FOUND", "message": "m", "trace": "x"}});
        let message = panic_message(|| {
            assert_error(&body, "NOT_FOUND");
        });
        assert!(message.contains("error keys"), "{message}");
    }

    #[test]
    fn assert_error_rejects_the_old_flat_shape() {
        let message = panic_message(|| {
            assert_error(&json!({"error": "m", "status": 404}), "NOT_FOUND");
        });
        assert!(message.contains("exactly one key"), "{message}");
    }
}
