//! Decoding literal text into values with units: `1.5h` → nanoseconds, `64KiB` → bytes,
//! `500Mbps` → bits per second, `02:00..06:00` → minutes, string escapes → text.
//! Lexical knowledge only; what a literal's type means is the compiler's business.

use crate::ast::Literal;
use crate::error::LiteralProblem;

const NANOS_PER_MILLI: f64 = 1e6;

/// Units, their kind and their size in base units (nanoseconds, bytes, bits/s).
const UNITS: &[(&str, Kind, f64)] = &[
    ("ms", Kind::Duration, NANOS_PER_MILLI),
    ("s", Kind::Duration, 1e9),
    ("m", Kind::Duration, 60e9),
    ("h", Kind::Duration, 3600e9),
    ("d", Kind::Duration, 86400e9),
    ("B", Kind::Size, 1.0),
    ("KB", Kind::Size, 1e3),
    ("MB", Kind::Size, 1e6),
    ("GB", Kind::Size, 1e9),
    ("TB", Kind::Size, 1e12),
    ("KiB", Kind::Size, 1024.0),
    ("MiB", Kind::Size, 1048576.0),
    ("GiB", Kind::Size, 1073741824.0),
    ("TiB", Kind::Size, 1099511627776.0),
    ("bps", Kind::Bandwidth, 1.0),
    ("Kbps", Kind::Bandwidth, 1e3),
    ("Mbps", Kind::Bandwidth, 1e6),
    ("Gbps", Kind::Bandwidth, 1e9),
    ("Tbps", Kind::Bandwidth, 1e12),
];

#[derive(Clone, Copy)]
enum Kind {
    Duration,
    Size,
    Bandwidth,
}

/// An integer literal's magnitude. `9223372036854775808` does not fit an `i64` but is
/// valid right after a unary minus, so the parser keeps the magnitude until it knows.
pub enum IntegerText {
    Fits(i64),
    MinMagnitude,
}

pub fn decode_integer(text: &str) -> Result<IntegerText, LiteralProblem> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    match digits.parse::<u64>() {
        Ok(value) if value <= i64::MAX as u64 => Ok(IntegerText::Fits(value as i64)),
        Ok(value) if value == i64::MAX as u64 + 1 => Ok(IntegerText::MinMagnitude),
        _ => Err(LiteralProblem::IntegerOutOfRange {
            text: text.to_string(),
        }),
    }
}

/// A number without a unit: an integer unless it has a fraction or an exponent.
pub fn is_float_text(text: &str) -> bool {
    text.contains(['.', 'e', 'E'])
}

pub fn decode_float(text: &str) -> Result<f64, LiteralProblem> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    match digits.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(LiteralProblem::NumberOutOfRange {
            text: text.to_string(),
        }),
    }
}

/// A number followed directly by a unit suffix.
pub fn decode_with_unit(number: &str, unit: &str) -> Result<Literal, LiteralProblem> {
    let (_, kind, scale) = UNITS
        .iter()
        .find(|(name, _, _)| *name == unit)
        .ok_or_else(|| LiteralProblem::UnknownUnit {
            unit: unit.to_string(),
        })?;
    let text = format!("{number}{unit}");
    let magnitude = decode_float(number)? * scale;
    let out_of_range = || LiteralProblem::NumberOutOfRange { text: text.clone() };
    match kind {
        Kind::Duration => {
            if magnitude > i64::MAX as f64 {
                return Err(out_of_range());
            }
            Ok(Literal::Duration(magnitude.round() as i64))
        }
        Kind::Size | Kind::Bandwidth => {
            if magnitude > u64::MAX as f64 {
                return Err(out_of_range());
            }
            if magnitude.fract() != 0.0 {
                return Err(LiteralProblem::FractionalBytes { text });
            }
            let whole = magnitude as u64;
            Ok(match kind {
                Kind::Size => Literal::Size(whole),
                _ => Literal::Bandwidth(whole),
            })
        }
    }
}

/// `HH:MM..HH:MM`, hours 0–23, minutes 0–59.
pub fn decode_window(text: &str) -> Result<Literal, LiteralProblem> {
    let bad = || LiteralProblem::BadWindow {
        text: text.to_string(),
    };
    let (start, end) = text.split_once("..").ok_or_else(bad)?;
    let start = decode_clock(start).ok_or_else(bad)?;
    let end = decode_clock(end).ok_or_else(bad)?;
    Ok(Literal::Window { start, end })
}

fn decode_clock(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    let hours: u16 = hours.parse().ok()?;
    let minutes: u16 = minutes.parse().ok()?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

/// The text between the quotes of a string literal, with escapes resolved.
pub fn decode_string(raw: &str) -> Result<String, LiteralProblem> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = chars.next();
        match escaped {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('u') => out.push(decode_unicode_escape(&mut chars)?),
            other => {
                return Err(LiteralProblem::BadEscape {
                    escape: format!("\\{}", other.map(String::from).unwrap_or_default()),
                })
            }
        }
    }
    Ok(out)
}

fn decode_unicode_escape(chars: &mut std::str::Chars<'_>) -> Result<char, LiteralProblem> {
    let rest = chars.as_str();
    let bad = |shown: &str| LiteralProblem::BadEscape {
        escape: format!("\\u{shown}"),
    };
    let body = rest.strip_prefix('{').ok_or_else(|| bad(""))?;
    let close = body.find('}').ok_or_else(|| bad("{"))?;
    let hex = &body[..close];
    let shown = format!("{{{hex}}}");
    let code = u32::from_str_radix(hex, 16).map_err(|_| bad(&shown))?;
    let decoded = char::from_u32(code).ok_or_else(|| bad(&shown))?;
    // Skip `{`, the hex digits and `}`.
    for _ in 0..close + 2 {
        chars.next();
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_decode_to_base_units() {
        assert_eq!(
            decode_with_unit("1.5", "h"),
            Ok(Literal::Duration(5_400_000_000_000))
        );
        assert_eq!(
            decode_with_unit("250", "ms"),
            Ok(Literal::Duration(250_000_000))
        );
        assert_eq!(decode_with_unit("64", "KiB"), Ok(Literal::Size(65_536)));
        assert_eq!(
            decode_with_unit("500", "Mbps"),
            Ok(Literal::Bandwidth(500_000_000))
        );
        assert!(matches!(
            decode_with_unit("10", "q"),
            Err(LiteralProblem::UnknownUnit { .. })
        ));
        assert!(matches!(
            decode_with_unit("0.5", "B"),
            Err(LiteralProblem::FractionalBytes { .. })
        ));
    }

    #[test]
    fn windows_check_their_clock() {
        assert_eq!(
            decode_window("22:30..01:00"),
            Ok(Literal::Window {
                start: 1350,
                end: 60
            })
        );
        assert!(decode_window("25:00..06:00").is_err());
        assert!(decode_window("02:60..06:00").is_err());
    }

    #[test]
    fn strings_resolve_escapes() {
        assert_eq!(
            decode_string(r#"a\n\"b\"\u{1F600}"#).as_deref(),
            Ok("a\n\"b\"😀")
        );
        assert!(decode_string(r"\q").is_err());
        assert!(decode_string(r"\u{110000}").is_err());
    }

    #[test]
    fn integers_keep_the_minimum_magnitude() {
        assert!(matches!(
            decode_integer("1_000"),
            Ok(IntegerText::Fits(1000))
        ));
        assert!(matches!(
            decode_integer("9223372036854775808"),
            Ok(IntegerText::MinMagnitude)
        ));
        assert!(decode_integer("9223372036854775809").is_err());
    }
}
