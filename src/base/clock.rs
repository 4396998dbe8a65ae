//! The clock: the one place Keybroker reads the time.
//!
//! Logic takes a time as a parameter (`now: &str` for audit times, `now: i64` for token
//! expiry); only the edges (CLI commands, IPC commands, the launcher) call these.
//! Deliberately not a trait object threaded everywhere: passing the value in is enough
//! for tests to fix the time.

use time::OffsetDateTime;
use time::macros::format_description;

/// RFC 3339 UTC with milliseconds, e.g. `2026-03-21T10:00:00.123Z` (the audit log's
/// time format: fixed width, so lines sort as text).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let t = t.to_offset(time::UtcOffset::UTC);
    // The description has no component that can fail for a valid UTC time; fall back to
    // the Unix epoch's text rather than panic.
    t.format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// The current time in the audit format.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Unix seconds now (token expiry, JWT checks).
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_times_have_millisecond_precision_and_fixed_width() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_774_087_200_123_456_789)
            .expect("valid time");
        assert_eq!(rfc3339(t), "2026-03-21T10:00:00.123Z");
        let whole = OffsetDateTime::from_unix_timestamp(0).expect("epoch");
        assert_eq!(rfc3339(whole), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn unix_now_is_after_2026() {
        assert!(unix_now() > 1_767_225_600);
    }
}
