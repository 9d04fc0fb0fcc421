//! Resource limits in policy rules. Every limit is a ceiling: the most a
//! component may use. In a policy file:
//!
//! ```toml
//! limits = { memory = "256MiB", fuel = 100000000000, wall-clock = "30s", stack = "1MiB",
//!            output = "1MiB", instances = 4, calls-per-minute = 60 }
//! ```
//!
//! Sizes take binary units (`K`, `M`, `G`, `KiB`, ...) or a number of bytes;
//! durations take `ms`, `s` or `m`; counts are whole numbers. Every value
//! must be greater than zero.

use std::fmt;

use serde::Deserialize;

use serde::de::{self, Deserializer, Visitor};
use warden_core::units::{
    BareNumber, DurationError, SizeError, format_duration, format_size, parse_duration_ms,
    parse_size,
};

/// A limit value or `KIND=VALUE` setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A count that is not a whole number.
    #[error("`{kind}`: `{text}` is not a whole number")]
    NotACount {
        /// The limit.
        kind: LimitKind,
        /// The value as given.
        text: String,
    },
    /// A size that cannot be read.
    #[error("`{kind}`: {error}")]
    Size {
        /// The limit.
        kind: LimitKind,
        /// What is wrong with the size.
        error: SizeError,
    },
    /// A duration that cannot be read.
    #[error("`{kind}`: {error}")]
    Duration {
        /// The limit.
        kind: LimitKind,
        /// What is wrong with the duration.
        error: DurationError,
    },
    /// Zero, which no limit may be.
    #[error("`{kind}` must be greater than zero")]
    Zero {
        /// The limit.
        kind: LimitKind,
    },
    /// A value larger than a TOML integer can hold.
    #[error("`{kind}` must be at most {max}")]
    TooLarge {
        /// The limit.
        kind: LimitKind,
        /// The largest value allowed.
        max: u64,
    },
    /// A setting without `=`.
    #[error("`{spec}`: expected KIND=VALUE, e.g. memory=256MiB")]
    NotASetting {
        /// The setting as given.
        spec: String,
    },
    /// A setting whose kind is not a limit.
    #[error(
        "`{key}` is not a limit; use one of {}",
        LimitKind::ALL.map(LimitKind::key).join(", ")
    )]
    UnknownKind {
        /// The kind as given.
        key: String,
    },
}

/// One kind of limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitKind {
    /// Linear memory, in bytes (`memory`).
    Memory,
    /// CPU budget, in fuel units (`fuel`).
    Fuel,
    /// Wall-clock time per call, in milliseconds (`wall-clock`).
    WallClock,
    /// WebAssembly stack, in bytes (`stack`).
    Stack,
    /// Output per call, in bytes (`output`).
    Output,
    /// Instances of the component running at once (`instances`).
    Instances,
    /// Calls per minute (`calls-per-minute`).
    CallsPerMinute,
}

/// How a kind's values are written.
#[derive(Clone, Copy)]
enum Unit {
    Bytes,
    Millis,
    Count,
}

impl LimitKind {
    /// Every kind, in the order used in files and messages.
    pub const ALL: [LimitKind; 7] = [
        LimitKind::Memory,
        LimitKind::Fuel,
        LimitKind::WallClock,
        LimitKind::Stack,
        LimitKind::Output,
        LimitKind::Instances,
        LimitKind::CallsPerMinute,
    ];

    /// The key in policy files (`memory`, `wall-clock`, ...).
    pub fn key(self) -> &'static str {
        match self {
            LimitKind::Memory => "memory",
            LimitKind::Fuel => "fuel",
            LimitKind::WallClock => "wall-clock",
            LimitKind::Stack => "stack",
            LimitKind::Output => "output",
            LimitKind::Instances => "instances",
            LimitKind::CallsPerMinute => "calls-per-minute",
        }
    }

    fn unit(self) -> Unit {
        match self {
            LimitKind::Memory | LimitKind::Stack | LimitKind::Output => Unit::Bytes,
            LimitKind::WallClock => Unit::Millis,
            LimitKind::Fuel | LimitKind::Instances | LimitKind::CallsPerMinute => Unit::Count,
        }
    }

    /// Formats a value of this kind as written in files (`256MiB`, `30s`, `4`).
    pub fn format(self, value: u64) -> String {
        match self.unit() {
            Unit::Bytes => format_size(value),
            Unit::Millis => format_duration(value),
            Unit::Count => value.to_string(),
        }
    }

    /// Parses a value of this kind from text (`256MiB`, `30s`, `4`).
    pub fn parse_value(self, text: &str) -> Result<u64, LimitError> {
        let kind = self;
        let value = match self.unit() {
            Unit::Bytes => parse_size(text).map_err(|error| LimitError::Size { kind, error })?,
            Unit::Millis => parse_duration_ms(text, BareNumber::Refuse)
                .map_err(|error| LimitError::Duration { kind, error })?,
            Unit::Count => text
                .trim()
                .parse::<u64>()
                .map_err(|_| LimitError::NotACount {
                    kind,
                    text: text.to_string(),
                })?,
        };
        self.check(value)
    }

    /// Checks a value's range (positive; TOML-representable).
    fn check(self, value: u64) -> Result<u64, LimitError> {
        if value == 0 {
            return Err(LimitError::Zero { kind: self });
        }
        if value > i64::MAX as u64 {
            return Err(LimitError::TooLarge {
                kind: self,
                max: i64::MAX as u64,
            });
        }
        Ok(value)
    }

    /// Parses `KIND=VALUE` (`memory=256MiB`), as given on a command line.
    pub fn parse_setting(spec: &str) -> Result<(LimitKind, u64), LimitError> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| LimitError::NotASetting {
                spec: spec.to_string(),
            })?;
        let kind = LimitKind::ALL
            .into_iter()
            .find(|k| k.key() == key.trim())
            .ok_or_else(|| LimitError::UnknownKind {
                key: key.to_string(),
            })?;
        Ok((kind, kind.parse_value(value)?))
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A set of limits; `None` sets nothing for that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Linear memory, in bytes.
    pub memory_bytes: Option<u64>,
    /// CPU budget, in fuel units.
    pub fuel: Option<u64>,
    /// Wall-clock time per call, in milliseconds.
    pub wall_clock_ms: Option<u64>,
    /// WebAssembly stack, in bytes.
    pub stack_bytes: Option<u64>,
    /// Output per call, in bytes.
    pub output_bytes: Option<u64>,
    /// Instances running at once.
    pub instances: Option<u64>,
    /// Calls per minute.
    pub calls_per_minute: Option<u64>,
}

impl Limits {
    /// What a component gets when nobody grants more: the host's
    /// conservative defaults (64 MiB memory, 50,000,000,000 fuel, 10 s wall
    /// clock, 1 MiB output). Stack, instances and calls per minute have no
    /// policy default; the host applies its own.
    pub const DEFAULTS: Limits = Limits {
        memory_bytes: Some(64 << 20),
        fuel: Some(50_000_000_000),
        wall_clock_ms: Some(10_000),
        stack_bytes: None,
        output_bytes: Some(1 << 20),
        instances: None,
        calls_per_minute: None,
    };

    /// The value of one kind.
    pub fn get(&self, kind: LimitKind) -> Option<u64> {
        match kind {
            LimitKind::Memory => self.memory_bytes,
            LimitKind::Fuel => self.fuel,
            LimitKind::WallClock => self.wall_clock_ms,
            LimitKind::Stack => self.stack_bytes,
            LimitKind::Output => self.output_bytes,
            LimitKind::Instances => self.instances,
            LimitKind::CallsPerMinute => self.calls_per_minute,
        }
    }

    /// Sets (or, with `None`, clears) one kind.
    pub fn set(&mut self, kind: LimitKind, value: Option<u64>) {
        let slot = match kind {
            LimitKind::Memory => &mut self.memory_bytes,
            LimitKind::Fuel => &mut self.fuel,
            LimitKind::WallClock => &mut self.wall_clock_ms,
            LimitKind::Stack => &mut self.stack_bytes,
            LimitKind::Output => &mut self.output_bytes,
            LimitKind::Instances => &mut self.instances,
            LimitKind::CallsPerMinute => &mut self.calls_per_minute,
        };
        *slot = value;
    }

    /// The kinds that are set, with their values, in [`LimitKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (LimitKind, u64)> + '_ {
        LimitKind::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|v| (k, v)))
    }

    /// Whether no kind is set.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The inline-table form (`{ memory = "256MiB", instances = 4 }`).
    pub(crate) fn to_inline_toml(self) -> String {
        let entries: Vec<String> = self
            .iter()
            .map(|(k, v)| match k.unit() {
                Unit::Count => format!("{} = {v}", k.key()),
                _ => format!("{} = \"{}\"", k.key(), k.format(v)),
            })
            .collect();
        format!("{{ {} }}", entries.join(", "))
    }
}

impl<'de> Deserialize<'de> for Limits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        struct Raw {
            memory: Option<Value<0>>,
            fuel: Option<Value<1>>,
            wall_clock: Option<Value<2>>,
            stack: Option<Value<3>>,
            output: Option<Value<4>>,
            instances: Option<Value<5>>,
            calls_per_minute: Option<Value<6>>,
        }
        let raw = Raw::deserialize(d)?;
        Ok(Limits {
            memory_bytes: raw.memory.map(|v| v.0),
            fuel: raw.fuel.map(|v| v.0),
            wall_clock_ms: raw.wall_clock.map(|v| v.0),
            stack_bytes: raw.stack.map(|v| v.0),
            output_bytes: raw.output.map(|v| v.0),
            instances: raw.instances.map(|v| v.0),
            calls_per_minute: raw.calls_per_minute.map(|v| v.0),
        })
    }
}

/// The value of the limit `LimitKind::ALL[K]`, validated as it is read.
struct Value<const K: usize>(u64);

impl<'de, const K: usize> Deserialize<'de> for Value<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V(LimitKind);
        impl Visitor<'_> for V {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0.unit() {
                    Unit::Bytes => write!(f, "`{}` as a size such as \"256MiB\"", self.0),
                    Unit::Millis => write!(f, "`{}` as a duration such as \"30s\"", self.0),
                    Unit::Count => write!(f, "`{}` as a whole number", self.0),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                match self.0.unit() {
                    Unit::Millis => Err(E::custom(format!(
                        "`{}` needs a unit: write a duration such as \"30s\" or \"500ms\"",
                        self.0
                    ))),
                    _ => self.0.check(v).map_err(E::custom),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("`{}` must be greater than zero", self.0))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                match self.0.unit() {
                    Unit::Count => Err(E::custom(format!(
                        "`{}` is a whole number, written without quotes",
                        self.0
                    ))),
                    _ => self.0.parse_value(v).map_err(E::custom),
                }
            }
        }
        d.deserialize_any(V(LimitKind::ALL[K])).map(Value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        limits: Limits,
    }

    fn parse(text: &str) -> Result<Limits, String> {
        toml::from_str::<Doc>(text)
            .map(|d| d.limits)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn every_kind_parses_with_its_units_and_round_trips() {
        let text = "limits = { memory = \"256MiB\", fuel = 1000, wall-clock = \"30s\", \
                    stack = \"1MiB\", output = 65536, instances = 4, calls-per-minute = 60 }";
        let l = parse(text).expect("valid");
        assert_eq!(l.memory_bytes, Some(256 << 20));
        assert_eq!(l.fuel, Some(1000));
        assert_eq!(l.wall_clock_ms, Some(30_000));
        assert_eq!(l.stack_bytes, Some(1 << 20));
        assert_eq!(l.output_bytes, Some(64 << 10));
        assert_eq!(l.instances, Some(4));
        assert_eq!(l.calls_per_minute, Some(60));
        let back = parse(&format!("limits = {}", l.to_inline_toml())).expect("round trip");
        assert_eq!(back, l);
    }

    #[test]
    fn bad_limits_say_why() {
        for (text, why) in [
            ("limits = { memory = 0 }", "greater than zero"),
            ("limits = { memory = \"12 parsecs\" }", "unknown size unit"),
            ("limits = { wall-clock = 30 }", "needs a unit"),
            ("limits = { wall-clock = \"30\" }", "needs a unit"),
            ("limits = { instances = \"4\" }", "without quotes"),
            ("limits = { instances = -1 }", "greater than zero"),
            ("limits = { cpu = 1 }", "unknown field `cpu`"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn settings_parse_from_the_command_line() {
        assert_eq!(
            LimitKind::parse_setting("memory=1GiB"),
            Ok((LimitKind::Memory, 1 << 30))
        );
        assert_eq!(
            LimitKind::parse_setting("wall-clock=500ms"),
            Ok((LimitKind::WallClock, 500))
        );
        assert_eq!(
            LimitKind::parse_setting("cpu=1"),
            Err(LimitError::UnknownKind { key: "cpu".into() })
        );
        assert_eq!(
            LimitKind::parse_setting("memory"),
            Err(LimitError::NotASetting {
                spec: "memory".into()
            })
        );
        assert_eq!(
            LimitKind::parse_setting("wall-clock=30"),
            Err(LimitError::Duration {
                kind: LimitKind::WallClock,
                error: DurationError::MissingUnit { text: "30".into() }
            })
        );
        assert_eq!(
            LimitKind::parse_setting("instances=0")
                .expect_err("zero")
                .to_string(),
            "`instances` must be greater than zero"
        );
    }
}
