//! Sizes and durations as people write them in manifests, policies and
//! command-line flags: one parser for all of them.

/// Parses a byte size: `65536`, `64K`, `64KiB`, `64M`, `64MiB`, `1G`,
/// `1GiB` (binary units: K = 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (n, unit) = split_number(text, "a size (e.g. 64MiB, 512K, 1048576)")?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{text}` (use K, M or G)"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too large"))
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
pub fn parse_duration_ms(text: &str, bare: BareNumber) -> Result<u64, String> {
    let (n, unit) = split_number(text, "a duration (e.g. 500ms, 10s, 2m, 12h, 30d)")?;
    let mult: u64 = match (unit.as_str(), bare) {
        ("ms", _) => 1,
        ("s", _) | ("", BareNumber::Seconds) => 1000,
        ("m" | "min", _) => 60_000,
        ("h", _) => 3_600_000,
        ("d", _) => 86_400_000,
        ("w", _) => 7 * 86_400_000,
        ("", BareNumber::Refuse) => {
            return Err(format!(
                "`{text}` needs a unit ({DURATION_UNITS}), e.g. \"{text}s\""
            ));
        }
        (other, _) => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}` (use {DURATION_UNITS})"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too long"))
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

fn split_number(text: &str, what: &str) -> Result<(u64, String), String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{text}` is not {what}"))?;
    Ok((n, unit.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_format_back() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("99999999999G").is_err());
        assert_eq!(format_size(64 << 20), "64MiB");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn durations_parse_and_format_back() {
        assert_eq!(parse_duration_ms("500ms", BareNumber::Refuse), Ok(500));
        assert_eq!(parse_duration_ms("2m", BareNumber::Refuse), Ok(120_000));
        assert_eq!(parse_duration_ms("3", BareNumber::Seconds), Ok(3000));
        assert!(parse_duration_ms("3", BareNumber::Refuse).is_err());
        assert!(parse_duration_ms("soon", BareNumber::Seconds).is_err());
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
        assert!(unknown.contains("ms, s, m, h, d or w"), "{unknown}");
        assert!(parse_duration_ms("99999999999999999w", BareNumber::Refuse).is_err());
        assert_eq!(format_age(30 * 86_400_000), "30d");
        assert_eq!(format_age(14 * 86_400_000), "2w");
        assert_eq!(format_age(36 * 3_600_000), "36h");
        assert_eq!(format_age(1500), "1500ms");
    }
}
