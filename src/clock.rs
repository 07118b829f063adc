//! The clock templates read: `now()`, the server's local time, formatted and optionally
//! shifted, e.g. `{{ now() }}` → `2026-11-27 11:40:12`, `{{ now("%H:%M") }}`,
//! `{{ now("%Y-%m-%d", "-1d") }}` (yesterday). Shifts use the units of `$currentDate` defaults.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Duration, Local, Months, TimeZone};
use minijinja::{Error, ErrorKind};

use crate::openbb::rules::parse_date_modifier;

/// `now()` without a format: the date and the time to the second, as Python prints a datetime.
pub const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The current local time in `format` (strftime; [`DEFAULT_FORMAT`] when `None`), moved by
/// `shift` (`-1d`, `+2h`, `-1M`; units `h d w M y`) when given.
pub fn now(format: Option<&str>, shift: Option<&str>) -> Result<String, Error> {
    let mut at = Local::now();
    if let Some(shift) = shift {
        let (n, unit) = parse_date_modifier(&format!("$currentDate{shift}"))
            .filter(|_| !shift.is_empty())
            .ok_or_else(|| {
                invalid(format!(
                    "now(): `{shift}` is not a shift like -1d or +2h (units h d w M y)"
                ))
            })?;
        at = shifted(at, n, unit)
            .ok_or_else(|| invalid(format!("now(): `{shift}` leaves the calendar")))?;
    }
    let format = format.unwrap_or(DEFAULT_FORMAT);
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(invalid(format!(
            "now(): `{format}` is not a strftime format"
        )));
    }
    let mut out = String::new();
    write!(out, "{}", at.format_with_items(items.iter()))
        .map_err(|_| invalid(format!("now(): `{format}` cannot be written")))?;
    Ok(out)
}

/// `at` moved by `n` `unit`s (`h d w M y`); `None` outside the calendar or for another unit.
pub fn shifted<Tz: TimeZone>(at: DateTime<Tz>, n: i64, unit: char) -> Option<DateTime<Tz>> {
    match unit {
        'h' => at.checked_add_signed(Duration::try_hours(n)?),
        'd' => at.checked_add_signed(Duration::try_days(n)?),
        'w' => at.checked_add_signed(Duration::try_weeks(n)?),
        'M' | 'y' => {
            let months = if unit == 'y' { n.checked_mul(12)? } else { n };
            let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            if months < 0 {
                at.checked_sub_months(m)
            } else {
                at.checked_add_months(m)
            }
        }
        _ => None,
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    #[test]
    fn formats_and_shifts() {
        let text = now(None, None).expect("now");
        assert!(
            chrono::NaiveDateTime::parse_from_str(&text, DEFAULT_FORMAT).is_ok(),
            "{text}"
        );
        let yesterday = now(Some("%Y-%m-%d"), Some("-1d")).expect("yesterday");
        let expected = (Local::now() - Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(yesterday, expected);
        assert!(
            now(Some("%H:%M:%S %z"), None).is_ok(),
            "an offset prints with local time"
        );
    }

    #[test]
    fn bad_formats_and_shifts_are_errors_not_panics() {
        for (format, shift) in [
            (Some("%Q"), None),
            (None, Some("1d")),
            (None, Some("-1x")),
            (None, Some("")),
        ] {
            let e = now(format, shift).expect_err("refused");
            assert!(e.to_string().contains("now():"), "{e}");
        }
    }

    #[test]
    fn shifts_by_calendar_units() {
        let at = Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(2024, 1, 31)
                .expect("date")
                .and_hms_opt(12, 0, 0)
                .expect("time"),
        );
        let day = |d: DateTime<Utc>| d.format("%Y-%m-%d %H").to_string();
        assert_eq!(day(shifted(at, 1, 'M').expect("month")), "2024-02-29 12");
        assert_eq!(day(shifted(at, -1, 'y').expect("year")), "2023-01-31 12");
        assert_eq!(day(shifted(at, 13, 'h').expect("hours")), "2024-02-01 01");
        assert_eq!(day(shifted(at, -2, 'w').expect("weeks")), "2024-01-17 12");
        assert!(shifted(at, i64::MAX, 'd').is_none());
    }
}
