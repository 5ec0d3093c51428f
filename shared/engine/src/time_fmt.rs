//! Timestamps as Step Functions prints them (`2024-01-02T03:04:05.678Z`).

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, as an ISO-8601 UTC timestamp with milliseconds.
pub(crate) fn iso_millis(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

/// Parses an ISO-8601 extended offset date-time (`2016-03-14T01:59:00Z`, with optional fraction
/// and offset) to milliseconds since the Unix epoch.
///
/// This is the parser the Choice rules use (Java's ISO_OFFSET_DATE_TIME): a `T` between date and
/// time, not the space RFC 3339 also allows.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let t = stepwise_asl::choice::timestamp::parse(s)?;
    i64::try_from(t.unix_nanos().div_euclid(1_000_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_iso("2016-03-14T01:59:00Z"), Some(1_457_920_740_000));
        assert_eq!(parse_iso("2016-12-05 21:29:29"), None);
        assert_eq!(parse_iso("2016-13-05T21:29:29Z"), None);
        assert_eq!(parse_iso("2016-12-05 21:29:29Z"), None);
        assert_eq!(
            parse_iso("2016-12-05T21:29:29.123456789Z"),
            Some(1_480_973_369_123)
        );
        assert_eq!(
            parse_iso("2016-12-05T22:29:29+01:00"),
            Some(1_480_973_369_000)
        );
    }
}
