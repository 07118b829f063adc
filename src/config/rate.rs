//! Request rates such as `20/s`: how many requests one client may make per second, minute or
//! hour. A client may spend the whole amount at once (a dashboard loading all its widgets).

use std::fmt;
use std::num::NonZeroU32;

use governor::Quota;

/// A rate: `count` requests per `per`, with a burst of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Requests allowed per period (and at once).
    pub count: NonZeroU32,
    /// The period.
    pub per: Period,
}

/// The period of a [`Rate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
}

/// What a rate looks like, for error messages.
pub const RATE_SYNTAX: &str = "a rate like 20/s, 100/m or 1000/h";

impl Rate {
    /// Parses `20/s`, `100/m`, `1000/h` (also `/sec`, `/min`, `/hour`).
    pub fn parse(text: &str) -> Option<Rate> {
        let (count, unit) = text.split_once('/')?;
        let count = count.trim().parse::<NonZeroU32>().ok()?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            _ => return None,
        };
        Some(Rate { count, per })
    }

    /// The governor quota: `count` cells replenished evenly over the period, burst `count`.
    pub fn quota(&self) -> Quota {
        match self.per {
            Period::Second => Quota::per_second(self.count),
            Period::Minute => Quota::per_minute(self.count),
            Period::Hour => Quota::per_hour(self.count),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per {
            Period::Second => "s",
            Period::Minute => "m",
            Period::Hour => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, shown) in [("20/s", "20/s"), ("100/min", "100/m"), (" 5 / hour", "5/h")] {
            assert_eq!(
                Rate::parse(text).map(|r| r.to_string()).as_deref(),
                Some(shown)
            );
        }
        for bad in ["0/s", "20", "20/d", "-1/s", "x/s", ""] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
    }
}
