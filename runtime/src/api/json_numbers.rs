//! JSON integers beyond 64 bits are refused, not silently read as floats (serde_json
//! would turn `18446744073709551616` into `1.8446744073709552e19`, and a counter or an
//! id would change value without a word). A scan of the raw text, outside strings.

/// The first integer in `json` that fits neither `i64` nor `u64`, if any.
pub fn oversized_integer(json: &[u8]) -> Option<String> {
    let mut in_string = false;
    let mut escaped = false;
    let mut at = 0;
    while at < json.len() {
        let byte = json[at];
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        if byte == b'"' {
            in_string = true;
            at += 1;
            continue;
        }
        if byte == b'-' || byte.is_ascii_digit() {
            let start = at;
            at += 1;
            while at < json.len()
                && (json[at].is_ascii_digit()
                    || matches!(json[at], b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                at += 1;
            }
            let token = &json[start..at];
            let integer = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
            if integer {
                let text = String::from_utf8_lossy(token);
                if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                    return Some(text.into_owned());
                }
            }
            continue;
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_past_64_bits_are_found_outside_strings_only() {
        assert_eq!(oversized_integer(b"18446744073709551615"), None);
        assert_eq!(oversized_integer(b"-9223372036854775808"), None);
        assert_eq!(
            oversized_integer(br#"{"a": [1, 18446744073709551616]}"#),
            Some("18446744073709551616".into())
        );
        assert_eq!(
            oversized_integer(br#"{"a": "18446744073709551616\" 99999999999999999999"}"#),
            None
        );
        assert_eq!(oversized_integer(b"1e400"), None);
        assert_eq!(
            oversized_integer(b"-9223372036854775809"),
            Some("-9223372036854775809".into())
        );
    }
}
