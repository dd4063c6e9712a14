// SPDX-License-Identifier: BUSL-1.1
//! Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and SHA-256 digests over it.
//!
//! Anything the zone signs or hashes goes through [`canonical_bytes`], so that two parties
//! holding the same JSON value compute the same bytes whatever order its keys arrived in and
//! however its numbers were spelled. The earlier implementation called its own format "JCS"
//! but sorted keys by UTF-8 bytes, refused fractional numbers and rewrote every string that
//! looked like a timestamp, so nobody else could reproduce its hashes. This module does the
//! RFC and nothing more: user data is never altered, only serialised.
//!
//! The serialisation itself comes from `serde_jcs`. What it buys over a hand-written walk is
//! the two parts of RFC 8785 that are easy to get subtly wrong: object members sorted by
//! their UTF-16 code units (not by UTF-8 bytes, which order characters outside the Basic
//! Multilingual Plane differently), and numbers written the way ECMAScript's
//! `Number.prototype.toString` writes them (through `ryu-js`: `1e+21`, `0.000001`, `1e-7`,
//! `-0` as `0`). Its cost is two small crates (`serde_jcs`, `ryu-js`) on top of the
//! `serde_json` the zone already builds.
//!
//! One gap is closed here: `serde_jcs` writes 64-bit integers as they are, while RFC 8785
//! reads every number as an IEEE 754 double. An integer too large for a double to hold
//! exactly is therefore rounded to the nearest double first, which is what a JavaScript (or
//! any other conforming) implementation computes for the same input.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The largest magnitude up to which every integer is exactly representable as an IEEE 754
/// double (2^53). Integers beyond it are where `serde_jcs` and RFC 8785 part ways.
const MAX_EXACT_DOUBLE_INTEGER: u64 = 1 << 53;

/// The RFC 8785 canonical form of `value`, as UTF-8 bytes.
///
/// Key order in `value` does not matter (the workspace's `serde_json` keeps insertion order,
/// and the canonical form sorts regardless). Fails only if `value` holds something JSON
/// cannot express, which a `serde_json::Value` cannot; the error is an internal one.
pub fn canonical_bytes(value: &Value) -> Result<Vec<u8>, ApiError> {
    let result = if holds_inexact_integer(value) {
        serde_jcs::to_vec(&integers_as_doubles(value))
    } else {
        serde_jcs::to_vec(value)
    };
    result.map_err(|err| ApiError::internal(format!("canonical JSON: {err}")))
}

/// SHA-256 of `bytes`, as 64 lowercase hexadecimal characters.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether any integer in `value` is too large to survive the trip through a double.
///
/// Checked first so that the common case (no such integer) serialises `value` without
/// copying it.
fn holds_inexact_integer(value: &Value) -> bool {
    match value {
        Value::Number(number) => is_inexact_integer(number),
        Value::Array(items) => items.iter().any(holds_inexact_integer),
        Value::Object(members) => members.values().any(holds_inexact_integer),
        Value::Null | Value::Bool(_) | Value::String(_) => false,
    }
}

fn is_inexact_integer(number: &serde_json::Number) -> bool {
    if let Some(unsigned) = number.as_u64() {
        unsigned > MAX_EXACT_DOUBLE_INTEGER
    } else if let Some(signed) = number.as_i64() {
        signed.unsigned_abs() > MAX_EXACT_DOUBLE_INTEGER
    } else {
        false
    }
}

/// A copy of `value` in which every integer beyond 2^53 is replaced by the double nearest to
/// it, as RFC 8785's number model requires.
fn integers_as_doubles(value: &Value) -> Value {
    match value {
        Value::Number(number) if is_inexact_integer(number) => {
            // A 64-bit integer always converts to a finite double, so `from_f64` succeeds;
            // the fallback keeps the original number rather than inventing one.
            number
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| value.clone(), Value::Number)
        }
        Value::Array(items) => Value::Array(items.iter().map(integers_as_doubles).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, member)| (key.clone(), integers_as_doubles(member)))
                .collect(),
        ),
        Value::Null | Value::Bool(_) | Value::String(_) | Value::Number(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        String::from_utf8(canonical_bytes(value).unwrap()).unwrap()
    }

    fn canonical_text(json_text: &str) -> String {
        canonical(&serde_json::from_str(json_text).unwrap())
    }

    #[test]
    fn key_order_of_the_input_does_not_change_the_output() {
        let one = canonical_text(r#"{"b":1,"a":{"y":[1,{"q":1,"p":2}],"x":null},"c":"s"}"#);
        let two = canonical_text(r#"{"c":"s","a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}"#);
        assert_eq!(one, two);
        assert_eq!(
            one,
            r#"{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1,"c":"s"}"#
        );
    }

    #[test]
    fn output_is_compact_and_array_order_is_kept() {
        assert_eq!(
            canonical_text("[ 3 , 1 , { \"k\" : [ true , false ] } ]"),
            r#"[3,1,{"k":[true,false]}]"#
        );
    }

    // RFC 8785 section 3.2.2: the whole-document example, covering numbers, string escapes
    // and literals.
    #[test]
    fn rfc8785_main_example() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        assert_eq!(
            canonical_text(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\
             \"string\":\"\u{20ac}$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"
        );
    }

    // RFC 8785 section 3.2.3: members sorted by UTF-16 code units. The emoji (a surrogate
    // pair starting 0xD83D) sorts before U+FB33, the opposite of UTF-8 byte order, which is
    // exactly where the earlier implementation's BTreeMap ordering went wrong.
    #[test]
    fn rfc8785_sorting_example_uses_utf16_order() {
        let input = r#"{
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\ud83d\ude00": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canonical_text(input), expected);
    }

    #[test]
    fn strings_escape_only_what_rfc8785_requires() {
        // Control characters get the short escapes where JSON has them and lowercase \u00xx
        // otherwise; '/', DEL and non-ASCII characters are written as they are.
        let value = json!({ "s": "\u{8}\t\n\u{c}\r\u{1f}/\u{7f}é\u{1d11e}" });
        assert_eq!(
            canonical(&value),
            "{\"s\":\"\\b\\t\\n\\f\\r\\u001f/\u{7f}é\u{1d11e}\"}"
        );
    }

    #[test]
    fn numbers_follow_ecmascript_formatting() {
        let cases = [
            ("1e21", "1e+21"),
            ("1E21", "1e+21"),
            ("100000000000000000000", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("1.0", "1"),
            ("4.50", "4.5"),
            ("-1.5e-3", "-0.0015"),
            ("9007199254740992", "9007199254740992"),
            ("-9007199254740992", "-9007199254740992"),
            // Beyond 2^53 an integer becomes the nearest double, as RFC 8785 reads it.
            ("9007199254740993", "9007199254740992"),
            ("18446744073709551615", "18446744073709552000"),
            ("-9223372036854775808", "-9223372036854776000"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical_text(input), expected, "input {input}");
        }
    }

    // RFC 8785 appendix B: IEEE 754 bit patterns and their canonical text.
    #[test]
    fn rfc8785_appendix_b_number_samples() {
        let cases: [(u64, &str); 22] = [
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in cases {
            let value = Value::Number(serde_json::Number::from_f64(f64::from_bits(bits)).unwrap());
            assert_eq!(canonical(&value), expected, "bits {bits:#018x}");
        }
    }

    #[test]
    fn sha256_hex_is_lowercase_hex_of_the_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn equal_values_in_any_key_order_hash_equally() {
        let one = json!({ "z": 1, "a": [1.5, "x"] });
        let two = serde_json::from_str::<Value>(r#"{"a":[1.50,"x"],"z":1}"#).unwrap();
        assert_eq!(
            sha256_hex(&canonical_bytes(&one).unwrap()),
            sha256_hex(&canonical_bytes(&two).unwrap())
        );
    }
}
