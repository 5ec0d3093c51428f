//! Timestamps as the `Timestamp*` and `IsTimestamp` operators read them.
//!
//! At run time Step Functions parses with Java's `ISO_OFFSET_DATE_TIME` (its Wait state error
//! names "a valid ISO-8601 extended offset date-time format string"), which is more lenient than
//! RFC 3339: seconds are optional, `T`/`Z` are case-insensitive, the fraction has up to nine
//! digits and the offset may be `+HH`, `+HHMM`, `+HH:MM` or carry seconds. An offset is required
//! (`2012-10-09T19:00:55` is not a timestamp). [`parse`] mirrors that grammar; [`is_rfc3339`] is
//! the stricter shape `CreateStateMachine` demands of a literal in the definition.

use time::{Date, Month};

/// An instant, in nanoseconds since the Unix epoch (UTC).
///
/// Two timestamps with different offsets that name the same instant are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub fn unix_nanos(self) -> i128 {
        self.0
    }
}

/// The Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A cursor over the ASCII bytes of a candidate timestamp.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` if it is next (ASCII case-insensitively, as Java's `parseCaseInsensitive`).
    fn eat_ci(&mut self, b: u8) -> bool {
        match self.peek() {
            Some(c) if c.eq_ignore_ascii_case(&b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        let mut v: u32 = 0;
        for &c in slice {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        self.pos += n;
        Some(v)
    }

    fn two_digits_if_present(&mut self) -> Option<u32> {
        match self.peek() {
            Some(c) if c.is_ascii_digit() => self.digits(2),
            _ => None,
        }
    }
}

/// Parses a timestamp the way Step Functions does at run time; `None` when it is not one.
pub fn parse(text: &str) -> Option<Timestamp> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    // Date: yyyy-MM-dd (Java accepts a signed year of more digits; nobody sends one).
    let year = c.digits(4)?;
    c.eat_ci(b'-').then_some(())?;
    let month = c.digits(2)?;
    c.eat_ci(b'-').then_some(())?;
    let day = c.digits(2)?;
    c.eat_ci(b'T').then_some(())?;
    // Time: HH:mm[:ss[.fffffffff]]
    let hour = c.digits(2)?;
    c.eat_ci(b':').then_some(())?;
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut nanos: u32 = 0;
    if c.eat_ci(b':') {
        second = c.digits(2)?;
        if c.eat_ci(b'.') {
            // Java's fraction parser takes zero to nine digits after the point.
            let mut count = 0;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                if count == 9 {
                    return None;
                }
                nanos = nanos * 10 + u32::from(d - b'0');
                count += 1;
                c.pos += 1;
            }
            nanos *= 10u32.pow(9 - count);
        }
    }
    // Offset: Z, or ±HH[[:]MM[[:]SS]].
    let offset_seconds: i64 = if c.eat_ci(b'Z') {
        0
    } else {
        let sign = match c.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        c.pos += 1;
        let oh = c.digits(2)?;
        let colon = c.eat_ci(b':');
        let om = if colon {
            c.digits(2)?
        } else {
            c.two_digits_if_present().unwrap_or(0)
        };
        let os = if colon {
            if c.eat_ci(b':') {
                c.digits(2)?
            } else {
                0
            }
        } else {
            c.two_digits_if_present().unwrap_or(0)
        };
        if om > 59 || os > 59 {
            return None;
        }
        let total = i64::from(oh * 3600 + om * 60 + os);
        // ZoneOffset's range is ±18:00.
        if total > 18 * 3600 {
            return None;
        }
        sign * total
    };
    if c.pos != c.bytes.len() {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let days = i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY;
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(Timestamp(
        i128::from(secs) * 1_000_000_000 + i128::from(nanos),
    ))
}

/// Whether `text` has the RFC 3339 shape `CreateStateMachine` requires of a timestamp literal:
/// `yyyy-MM-ddTHH:mm:ss[.f+](Z|±HH:MM)` with uppercase `T` and `Z`, naming a real date and time.
pub fn is_rfc3339(text: &str) -> bool {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let head = (0..4).all(digit)
        && at(4, b'-')
        && digit(5)
        && digit(6)
        && at(7, b'-')
        && digit(8)
        && digit(9)
        && at(10, b'T')
        && digit(11)
        && digit(12)
        && at(13, b':')
        && digit(14)
        && digit(15)
        && at(16, b':')
        && digit(17)
        && digit(18);
    if !head {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while digit(i) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    let tail_ok = if at(i, b'Z') {
        i + 1 == b.len()
    } else if at(i, b'+') || at(i, b'-') {
        digit(i + 1)
            && digit(i + 2)
            && at(i + 3, b':')
            && digit(i + 4)
            && digit(i + 5)
            && i + 6 == b.len()
    } else {
        false
    };
    tail_ok && parse(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i128 {
        parse(s).map(Timestamp::unix_nanos).unwrap_or(i128::MIN)
    }

    #[test]
    fn accepts_what_java_iso_offset_date_time_accepts() {
        let ok = [
            "2012-10-09T19:00:55Z",
            "2012-10-09T19:00:55.000000Z",
            "2012-10-09T19:00:55.00Z",
            "2012-10-09T19:00:55.123456789Z",
            "2012-10-09T19:00:55+01:00",
            "2012-10-09T19:00:55-05:30",
            "2012-10-09T19:00:55+0100",
            "2012-10-09T19:00:55+01",
            "2012-10-09T19:00:55+01:00:30",
            "2012-10-09T19:00Z",
            "2012-10-09t19:00:55z",
            "2016-02-29T00:00:00Z",
        ];
        for s in ok {
            assert!(parse(s).is_some(), "{s} should parse");
        }
    }

    #[test]
    fn rejects_non_timestamps() {
        let bad = [
            "",
            "date",
            "2012-10-09T19:00:55",
            "2012-10-09T19:00:55.000000",
            "2023-02-24",
            "2023-02-24 12:15:56.832957",
            "2012-10-09 19:00:55Z",
            "2012-13-09T19:00:55Z",
            "2015-02-29T00:00:00Z",
            "2012-10-09T24:00:00Z",
            "2012-10-09T19:60:00Z",
            "2012-10-09T19:00:60Z",
            "2012-10-09T19:00:55.1234567890Z",
            "2012-10-09T19:00:55+19:00",
            "2012-10-09T19:00:55Zjunk",
            " 2012-10-09T19:00:55Z",
        ];
        for s in bad {
            assert!(parse(s).is_none(), "{s} should not parse");
        }
    }

    #[test]
    fn compares_instants_across_offsets_and_fractions() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), 0);
        assert_eq!(ts("2012-10-09T19:00:55+01:00"), ts("2012-10-09T18:00:55Z"));
        assert_eq!(ts("2012-10-09T19:00:55.0Z"), ts("2012-10-09T19:00:55Z"));
        assert!(ts("2012-10-09T19:00:55.001Z") > ts("2012-10-09T19:00:55Z"));
        assert!(ts("2012-10-09T19:00:55.000000001Z") > ts("2012-10-09T19:00:55Z"));
        assert_eq!(ts("2012-10-09T19:00Z"), ts("2012-10-09T19:00:00Z"));
        assert_eq!(ts("1969-12-31T23:59:59Z"), -1_000_000_000);
    }

    #[test]
    fn rfc3339_literal_shape() {
        assert!(is_rfc3339("2012-10-09T19:00:55Z"));
        assert!(is_rfc3339("2012-10-09T19:00:55.5Z"));
        assert!(is_rfc3339("2012-10-09T19:00:55+01:00"));
        assert!(!is_rfc3339("2012-10-09T19:00Z"));
        assert!(!is_rfc3339("2012-10-09t19:00:55Z"));
        assert!(!is_rfc3339("2012-10-09T19:00:55z"));
        assert!(!is_rfc3339("2012-10-09T19:00:55+0100"));
        assert!(!is_rfc3339("2012-10-09T19:00:55.Z"));
        assert!(!is_rfc3339("2012-02-30T19:00:55Z"));
    }
}
