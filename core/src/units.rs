//! Sizes and durations as people write them in manifests, policies and
//! command-line flags: one parser for all of them.

/// A byte size that [`parse_size`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// The text does not start with a number.
    #[error("`{text}` is not a size (e.g. 64MiB, 512K, 1048576)")]
    NotANumber {
        /// The text as given.
        text: String,
    },
    /// The unit after the number is not one of K, M or G.
    #[error("unknown size unit `{unit}` in `{text}` (use K, M or G)")]
    UnknownUnit {
        /// The text as given.
        text: String,
        /// The unit, lowercased.
        unit: String,
    },
    /// The size does not fit in 64 bits of bytes.
    #[error("`{text}` is too large")]
    TooLarge {
        /// The text as given.
        text: String,
    },
    /// Zero where a size must be positive (callers that need one check).
    #[error("`{text}`: the size must be greater than zero")]
    Zero {
        /// The text as given.
        text: String,
    },
}

/// A duration that [`parse_duration_ms`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text does not start with a number.
    #[error("`{text}` is not a duration (e.g. 500ms, 10s, 2m, 12h, 30d)")]
    NotANumber {
        /// The text as given.
        text: String,
    },
    /// A bare number where a unit is required ([`BareNumber::Refuse`]).
    #[error("`{text}` needs a unit ({}), e.g. \"{text}s\"", DURATION_UNITS)]
    MissingUnit {
        /// The text as given.
        text: String,
    },
    /// The unit after the number is not one of ms, s, m, h, d or w.
    #[error("unknown duration unit `{unit}` in `{text}` (use {})", DURATION_UNITS)]
    UnknownUnit {
        /// The text as given.
        text: String,
        /// The unit as given.
        unit: String,
    },
    /// The duration does not fit in 64 bits of milliseconds.
    #[error("`{text}` is too long")]
    TooLong {
        /// The text as given.
        text: String,
    },
    /// Zero where a duration must be positive (callers that need one check).
    #[error("`{text}`: the duration must be greater than zero")]
    Zero {
        /// The text as given.
        text: String,
    },
}

/// Parses a byte size: `65536`, `64K`, `64KiB`, `64M`, `64MiB`, `1G`,
/// `1GiB` (binary units: K = 1024).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let (n, unit) = split_number(text).ok_or_else(|| SizeError::NotANumber {
        text: text.to_string(),
    })?;
    let unit = unit.to_ascii_lowercase();
    let mult: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(SizeError::UnknownUnit {
                text: text.to_string(),
                unit,
            });
        }
    };
    n.checked_mul(mult).ok_or_else(|| SizeError::TooLarge {
        text: text.to_string(),
    })
}

/// Whether a duration without a unit is read as seconds or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNumber {
    /// `30` means 30 seconds (command-line flags, manifests).
    Seconds,
    /// A unit is required, so `30` is never read as the wrong one (policies).
    Refuse,
}

/// The units [`parse_duration_ms`] reads, as its messages list them.
pub const DURATION_UNITS: &str = "ms, s, m, h, d or w";

/// Parses a duration into milliseconds: `500ms`, `10s`, `2m`, `12h`, `30d`,
/// `2w` (a day is 24 hours, a week 7 days). Every duration warden reads
/// (limits, session retention, `--older-than`, `--since`) goes through here.
pub fn parse_duration_ms(text: &str, bare: BareNumber) -> Result<u64, DurationError> {
    let (n, unit) = split_number(text).ok_or_else(|| DurationError::NotANumber {
        text: text.to_string(),
    })?;
    let mult: u64 = match (unit.as_str(), bare) {
        ("ms", _) => 1,
        ("s", _) | ("", BareNumber::Seconds) => 1000,
        ("m" | "min", _) => 60_000,
        ("h", _) => 3_600_000,
        ("d", _) => 86_400_000,
        ("w", _) => 7 * 86_400_000,
        ("", BareNumber::Refuse) => {
            return Err(DurationError::MissingUnit {
                text: text.to_string(),
            });
        }
        _ => {
            return Err(DurationError::UnknownUnit {
                text: text.to_string(),
                unit,
            });
        }
    };
    n.checked_mul(mult).ok_or_else(|| DurationError::TooLong {
        text: text.to_string(),
    })
}

/// Formats bytes in the largest binary unit that divides them exactly.
pub fn format_size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Formats milliseconds as `Nm`, `Ns` or `Nms`, whichever is exact.
pub fn format_duration(ms: u64) -> String {
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Formats milliseconds in the largest of `w`, `d`, `h`, `m`, `s` and `ms`
/// that is exact (`30d`, `36h`): for ages and retention periods.
pub fn format_age(ms: u64) -> String {
    for (unit, size) in [
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The leading number of `text` and the unit after it, or `None` when it
/// does not start with a number.
fn split_number(text: &str) -> Option<(u64, String)> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    Some((n, unit.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_format_back() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(
            parse_size("12 parsecs"),
            Err(SizeError::UnknownUnit {
                text: "12 parsecs".into(),
                unit: "parsecs".into()
            })
        );
        assert_eq!(
            parse_size("99999999999G").map_err(|e| e.to_string()),
            Err("`99999999999G` is too large".into())
        );
        assert_eq!(
            parse_size("lots").map_err(|e| e.to_string()),
            Err("`lots` is not a size (e.g. 64MiB, 512K, 1048576)".into())
        );
        assert_eq!(format_size(64 << 20), "64MiB");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn durations_parse_and_format_back() {
        assert_eq!(parse_duration_ms("500ms", BareNumber::Refuse), Ok(500));
        assert_eq!(parse_duration_ms("2m", BareNumber::Refuse), Ok(120_000));
        assert_eq!(parse_duration_ms("3", BareNumber::Seconds), Ok(3000));
        assert_eq!(
            parse_duration_ms("3", BareNumber::Refuse).map_err(|e| e.to_string()),
            Err("`3` needs a unit (ms, s, m, h, d or w), e.g. \"3s\"".into())
        );
        assert_eq!(
            parse_duration_ms("soon", BareNumber::Seconds),
            Err(DurationError::NotANumber {
                text: "soon".into()
            })
        );
        assert_eq!(
            parse_duration_ms("3y", BareNumber::Seconds),
            Err(DurationError::UnknownUnit {
                text: "3y".into(),
                unit: "y".into()
            })
        );
        assert_eq!(format_duration(90_000), "90s");
        assert_eq!(format_duration(120_000), "2m");
    }

    #[test]
    fn long_durations_take_hours_days_and_weeks() {
        assert_eq!(
            parse_duration_ms("12h", BareNumber::Refuse),
            Ok(12 * 3_600_000)
        );
        assert_eq!(
            parse_duration_ms("30d", BareNumber::Seconds),
            Ok(30 * 86_400_000)
        );
        assert_eq!(
            parse_duration_ms("2w", BareNumber::Refuse),
            Ok(14 * 86_400_000)
        );
        let unknown = parse_duration_ms("3y", BareNumber::Refuse).expect_err("refused");
        assert_eq!(
            unknown,
            DurationError::UnknownUnit {
                text: "3y".into(),
                unit: "y".into()
            }
        );
        assert!(unknown.to_string().contains(DURATION_UNITS), "{unknown}");
        assert_eq!(
            parse_duration_ms("99999999999999999w", BareNumber::Refuse),
            Err(DurationError::TooLong {
                text: "99999999999999999w".into()
            })
        );
        assert_eq!(format_age(30 * 86_400_000), "30d");
        assert_eq!(format_age(14 * 86_400_000), "2w");
        assert_eq!(format_age(36 * 3_600_000), "36h");
        assert_eq!(format_age(1500), "1500ms");
    }
}
