//! Dates and times as PNRGOV writes them, and their conversion from airport-local time to UTC.
//!
//! Flight times in TVL are local to the airport; RCI, DAT and UNB times are UTC unless the
//! parties agreed otherwise (the IG's rule, which we follow). Two-digit years are resolved by
//! what the date is: a date of birth is never in the future, an expiry or flight date is in this
//! century.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::reference::Airports;

/// Parses `DDMMYY` (flight, creation, transaction dates): years are 2000 + YY.
pub fn parse_ddmmyy(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d: u32 = s[0..2].parse().ok()?;
    let m: u32 = s[2..4].parse().ok()?;
    let y: i32 = s[4..6].parse().ok()?;
    NaiveDate::from_ymd_opt(2000 + y, m, d)
}

/// Parses `YYMMDD` (UNB, PAXLST): years are 2000 + YY.
pub fn parse_yymmdd(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    NaiveDate::from_ymd_opt(2000 + s[0..2].parse::<i32>().ok()?, s[2..4].parse().ok()?, s[4..6].parse().ok()?)
}

/// Parses `HHMM` or `HHMMSS`.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let b = s.as_bytes();
    if !(b.len() == 4 || b.len() == 6) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sec = if b.len() == 6 { s[4..6].parse().ok()? } else { 0 };
    NaiveTime::from_hms_opt(s[0..2].parse().ok()?, s[2..4].parse().ok()?, sec)
}

/// What a two-digit year stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearKind {
    /// Date of birth: the latest century that does not put it after `reference`.
    Birth,
    /// Expiry, issue or travel date: 2000 + YY.
    Recent,
}

/// Parses `DDMMMYY` (`12JUL64`), as in SSR DOCS. `reference` is the date the message speaks
/// from (the flight date), used to keep dates of birth out of the future.
pub fn parse_ddmmmyy(s: &str, kind: YearKind, reference: Option<NaiveDate>) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 7 && b.len() != 9 {
        return None;
    }
    let d: u32 = s.get(0..2)?.parse().ok()?;
    let m = match s.get(2..5)?.to_ascii_uppercase().as_str() {
        "JAN" => 1,
        "FEB" => 2,
        "MAR" => 3,
        "APR" => 4,
        "MAY" => 5,
        "JUN" => 6,
        "JUL" => 7,
        "AUG" => 8,
        "SEP" => 9,
        "OCT" => 10,
        "NOV" => 11,
        "DEC" => 12,
        _ => return None,
    };
    let year_text = s.get(5..)?;
    if !year_text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if year_text.len() == 4 {
        return NaiveDate::from_ymd_opt(year_text.parse().ok()?, m, d);
    }
    let yy: i32 = year_text.parse().ok()?;
    match kind {
        YearKind::Recent => NaiveDate::from_ymd_opt(2000 + yy, m, d),
        YearKind::Birth => {
            let reference = reference.unwrap_or_else(|| Utc::now().date_naive());
            let candidate =
                NaiveDate::from_ymd_opt(2000 + yy, m, d).or_else(|| NaiveDate::from_ymd_opt(2000 + yy, m, 28))?;
            if candidate > reference { NaiveDate::from_ymd_opt(1900 + yy, m, d) } else { Some(candidate) }
        }
    }
}

/// A date and optional time read as UTC.
pub fn utc(date: Option<NaiveDate>, time: Option<NaiveTime>) -> Option<DateTime<Utc>> {
    Some(date?.and_time(time.unwrap_or(NaiveTime::MIN)).and_utc())
}

/// Outcome of converting an airport-local time to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalToUtc {
    /// Converted.
    Ok(DateTime<Utc>),
    /// The airport is not in the reference table.
    UnknownAirport,
    /// The local time falls in a daylight-saving gap; converted as if one hour later.
    Gap(DateTime<Utc>),
}

/// Converts a local time at `airport` to UTC. An ambiguous time (the hour repeated when clocks go
/// back) takes the earlier instant, as schedules do.
pub fn local_to_utc(airports: &Airports, airport: &str, local: NaiveDateTime) -> LocalToUtc {
    let Some(a) = airports.get(airport) else { return LocalToUtc::UnknownAirport };
    match a.tz.from_local_datetime(&local) {
        LocalResult::Single(t) => LocalToUtc::Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(early, _) => LocalToUtc::Ok(early.with_timezone(&Utc)),
        LocalResult::None => {
            let later = local + chrono::Duration::hours(1);
            match a.tz.from_local_datetime(&later) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => LocalToUtc::Gap(t.with_timezone(&Utc)),
                LocalResult::None => LocalToUtc::UnknownAirport,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn birth_years_are_never_in_the_future() {
        let flight = Some(d(2013, 5, 27));
        assert_eq!(parse_ddmmmyy("12JUL64", YearKind::Birth, flight), Some(d(1964, 7, 12)));
        assert_eq!(parse_ddmmmyy("20SEP12", YearKind::Birth, flight), Some(d(2012, 9, 20)));
        assert_eq!(parse_ddmmmyy("01JUN13", YearKind::Birth, flight), Some(d(1913, 6, 1)));
    }

    #[test]
    fn expiry_years_are_after_2000() {
        assert_eq!(parse_ddmmmyy("23AUG19", YearKind::Recent, None), Some(d(2019, 8, 23)));
        assert_eq!(parse_ddmmmyy("05JUL96", YearKind::Recent, None), Some(d(2096, 7, 5)));
    }

    #[test]
    fn malformed_dates_are_none() {
        assert_eq!(parse_ddmmmyy("12XYZ64", YearKind::Recent, None), None);
        assert_eq!(parse_ddmmyy("311312"), None);
        assert_eq!(parse_hhmm("2561"), None);
    }

    #[test]
    fn local_times_convert_with_the_airport_zone() {
        let airports = Airports::parse(
            "iata,icao,name,city,country,tz,lat,lon\nLHR,EGLL,Heathrow,London,GB,Europe/London,0,0\n",
            std::path::Path::new("test.csv"),
        )
        .unwrap();
        let summer = d(2010, 7, 12).and_hms_opt(9, 15, 0).unwrap();
        assert_eq!(
            local_to_utc(&airports, "LHR", summer),
            LocalToUtc::Ok(d(2010, 7, 12).and_hms_opt(8, 15, 0).unwrap().and_utc())
        );
        assert_eq!(local_to_utc(&airports, "XXX", summer), LocalToUtc::UnknownAirport);
        let gap = d(2010, 3, 28).and_hms_opt(1, 30, 0).unwrap();
        assert_eq!(
            local_to_utc(&airports, "LHR", gap),
            LocalToUtc::Gap(d(2010, 3, 28).and_hms_opt(1, 30, 0).unwrap().and_utc())
        );
    }
}
