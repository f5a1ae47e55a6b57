//! Dates and times as PNRGOV writes them, and their conversion from airport-local time to UTC.
//!
//! Flight times in TVL are local to the airport; RCI, DAT and UNB times are UTC unless the
//! parties agreed otherwise (the IG's rule, which we follow). Two-digit years are resolved by
//! what the date is: a date of birth is never in the future, an expiry or flight date is in this
//! century.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::diag::{Diagnostic, Severity};
use crate::edifact::trim;
use crate::reference::Airports;

/// Parses `DDMMYY` (flight, creation, transaction dates): years are 2000 + YY.
pub fn parse_ddmmyy(s: &str) -> Option<NaiveDate> {
    let s = trim(s);
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
    let s = trim(s);
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    NaiveDate::from_ymd_opt(2000 + s[0..2].parse::<i32>().ok()?, s[2..4].parse().ok()?, s[4..6].parse().ok()?)
}

/// Parses `HHMM` or `HHMMSS`.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let s = trim(s);
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
    let s = trim(s);
    let b = s.as_bytes();
    if b.len() != 7 && b.len() != 9 {
        return None;
    }
    let d: u32 = s.get(0..2)?.parse().ok()?;
    // Upper-cased on the stack: this runs for every date of birth and document date.
    let mut month = [0u8; 3];
    month.copy_from_slice(s.get(2..5)?.as_bytes());
    month.make_ascii_uppercase();
    let m = match &month {
        b"JAN" => 1,
        b"FEB" => 2,
        b"MAR" => 3,
        b"APR" => 4,
        b"MAY" => 5,
        b"JUN" => 6,
        b"JUL" => 7,
        b"AUG" => 8,
        b"SEP" => 9,
        b"OCT" => 10,
        b"NOV" => 11,
        b"DEC" => 12,
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

/// Slots of [`RecentUtc`] (a power of two).
const RECENT_UTC: usize = 64;
const _: () = assert!(RECENT_UTC.is_power_of_two());

/// Results of [`local_to_utc`] kept for the conversions a message repeats: every PNR of a push
/// has the pushed flight's local departure and arrival, and PNRs share connections. A conversion
/// looks the airport up and searches its zone's transitions, about 860 instructions
/// (callgrind); a hit here is a hash and one comparison. Each airport and local time has one slot,
/// which a later conversion with the same slot takes over. The PNRGOV mapper keeps one for its
/// message; a PAXLST message converts one time and has none.
#[derive(Debug)]
pub struct RecentUtc {
    /// Airport code (see [`RecentUtc::code`]), local time, and result.
    slots: [Option<(u32, NaiveDateTime, LocalToUtc)>; RECENT_UTC],
}

impl Default for RecentUtc {
    fn default() -> Self {
        RecentUtc { slots: [None; RECENT_UTC] }
    }
}

impl RecentUtc {
    /// What [`local_to_utc`] gives, from the kept results when this conversion is one of them.
    pub fn local_to_utc(&mut self, airports: &Airports, airport: &str, local: NaiveDateTime) -> LocalToUtc {
        // A code longer than three bytes (not an IATA code) is converted every time.
        let Some(code) = Self::code(airport) else { return local_to_utc(airports, airport, local) };
        let seconds = local.and_utc().timestamp();
        let mixed = (u64::from(code) << 32 ^ seconds as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(mixed >> (64 - RECENT_UTC.trailing_zeros())) as usize];
        match slot {
            Some((c, l, result)) if *c == code && *l == local => *result,
            _ => {
                let result = local_to_utc(airports, airport, local);
                *slot = Some((code, local, result));
                result
            }
        }
    }

    /// [`utc_at`], converting through the kept results.
    pub fn utc_at(
        &mut self,
        airports: &Airports,
        airport: &str,
        local: NaiveDateTime,
        offset: usize,
    ) -> (Option<DateTime<Utc>>, Option<Diagnostic>) {
        with_diagnostic(self.local_to_utc(airports, airport, local), airport, local, offset)
    }

    /// An airport code of at most three bytes as one number: the bytes and the length.
    fn code(airport: &str) -> Option<u32> {
        let b = airport.as_bytes();
        if b.len() > 3 {
            return None;
        }
        let mut bytes = [0u8; 4];
        bytes[..b.len()].copy_from_slice(b);
        bytes[3] = b.len() as u8;
        Some(u32::from_le_bytes(bytes))
    }
}

/// [`local_to_utc`] for a time read at byte `offset`, with the diagnostic both formats give: a
/// time in a daylight-saving gap is read as one hour later (info), an unknown airport keeps its
/// local time and leaves UTC NULL (warning). [`RecentUtc::utc_at`] is the same for a message that
/// converts many times.
pub fn utc_at(
    airports: &Airports,
    airport: &str,
    local: NaiveDateTime,
    offset: usize,
) -> (Option<DateTime<Utc>>, Option<Diagnostic>) {
    with_diagnostic(local_to_utc(airports, airport, local), airport, local, offset)
}

/// The UTC time of a conversion's `result`, and the diagnostic of [`utc_at`].
fn with_diagnostic(
    result: LocalToUtc,
    airport: &str,
    local: NaiveDateTime,
    offset: usize,
) -> (Option<DateTime<Utc>>, Option<Diagnostic>) {
    match result {
        LocalToUtc::Ok(t) => (Some(t), None),
        LocalToUtc::Gap(t) => {
            let m = format!("{local} does not exist at {airport} (clocks went forward); read as one hour later");
            (Some(t), Some(Diagnostic::new(offset, Severity::Info, "LOCAL_TIME_IN_DST_GAP", m)))
        }
        LocalToUtc::UnknownAirport => {
            let m = format!("airport {airport:?} is not in the reference table; local time kept, UTC left NULL");
            (None, Some(Diagnostic::new(offset, Severity::Warning, "UNKNOWN_AIRPORT", m)))
        }
    }
}

/// The value of an EDIFACT `DTM` by its format code (e2 of the composite): `101` YYMMDD, `102`
/// CCYYMMDD, `201` YYMMDDHHMM, `203` CCYYMMDDHHMM. Without a code, or with one that does not fit
/// the value, the length decides, so lists that leave it out or get it wrong still read. Two-digit years come back in 20YY; the caller picks the century.
/// Returns the date, the time if the value has one, and whether the year had four digits.
pub fn parse_dtm(value: &str, format: Option<&str>) -> Option<(NaiveDate, Option<NaiveTime>, bool)> {
    let v = trim(value);
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let by_length = match v.len() {
        6 => "101",
        8 => "102",
        10 => "201",
        12 => "203",
        _ => return None,
    };
    let shape = |code: &str| match code {
        "101" => Some((6, 0, false)),
        "102" => Some((8, 0, true)),
        "201" => Some((6, 4, false)),
        "203" => Some((8, 4, true)),
        _ => None,
    };
    // A code that does not fit the value's length is a sender's slip: the length decides.
    let (date_len, time_len, long_year) =
        format.and_then(|f| shape(f.trim())).filter(|(d, t, _)| d + t == v.len()).or_else(|| shape(by_length))?;
    let date = if long_year {
        NaiveDate::from_ymd_opt(v[0..4].parse().ok()?, v[4..6].parse().ok()?, v[6..8].parse().ok()?)?
    } else {
        parse_yymmdd(&v[..6])?
    };
    let time = if time_len > 0 { Some(parse_hhmm(&v[date_len..])?) } else { None };
    Some((date, time, long_year))
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

    #[test]
    fn recent_conversions_give_what_local_to_utc_gives() {
        let airports = Airports::parse(
            "iata,icao,name,city,country,tz,lat,lon\nLHR,EGLL,Heathrow,London,GB,Europe/London,0,0\n\
             JFK,KJFK,Kennedy,New York,US,America/New_York,0,0\nLOS,DNMM,Murtala Muhammed,Lagos,NG,Africa/Lagos,0,0\n",
            std::path::Path::new("test.csv"),
        )
        .unwrap();
        let mut recent = RecentUtc::default();
        // More airports and times than it keeps, each asked several times and in an order that
        // makes it overwrite entries: gaps, repeated hours and unknown airports included.
        let mut asked = Vec::new();
        for day in [(2010, 3, 28), (2010, 3, 14), (2010, 10, 31), (2010, 11, 7), (2010, 7, 12)] {
            for hour in [0, 1, 2, 3, 12] {
                for airport in ["LHR", "JFK", "LOS", "XXX", "", "LH", "EGLL"] {
                    // Two times in the same second share a slot and must not share a result.
                    asked.push((airport, d(day.0, day.1, day.2).and_hms_opt(hour, 30, 0).unwrap()));
                    asked.push((airport, d(day.0, day.1, day.2).and_hms_milli_opt(hour, 30, 0, 500).unwrap()));
                }
            }
        }
        for round in 0..3 {
            for (i, &(airport, local)) in asked.iter().enumerate() {
                // Some asked again at once, some only after many others.
                let times = if (i + round) % 3 == 0 { 2 } else { 1 };
                for _ in 0..times {
                    assert_eq!(
                        recent.local_to_utc(&airports, airport, local),
                        local_to_utc(&airports, airport, local),
                        "{airport} {local}"
                    );
                }
            }
        }
        let gap = d(2010, 3, 28).and_hms_opt(1, 30, 0).unwrap();
        assert!(matches!(recent.local_to_utc(&airports, "LHR", gap), LocalToUtc::Gap(_)));
        assert_eq!(recent.local_to_utc(&airports, "XXX", gap), LocalToUtc::UnknownAirport);
        // A time just converted is given from its slot: asked with a table that lacks the
        // airport, it still comes back converted.
        let none =
            Airports::parse("iata,icao,name,city,country,tz,lat,lon\n", std::path::Path::new("none.csv")).unwrap();
        let summer = d(2010, 7, 12).and_hms_opt(9, 15, 0).unwrap();
        let kept = recent.local_to_utc(&airports, "LHR", summer);
        assert_eq!(kept, LocalToUtc::Ok(d(2010, 7, 12).and_hms_opt(8, 15, 0).unwrap().and_utc()));
        assert_eq!(recent.local_to_utc(&none, "LHR", summer), kept);
    }

    #[test]
    fn dtm_values_read_by_their_format_code_or_their_length() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_dtm("850312", Some("101")), Some((d(2085, 3, 12), None, false)));
        assert_eq!(parse_dtm("19850312", Some("102")), Some((d(1985, 3, 12), None, true)));
        assert_eq!(parse_dtm("2612012000", Some("201")), Some((d(2026, 12, 1), t(20, 0), false)));
        assert_eq!(parse_dtm("202612012000", Some("203")), Some((d(2026, 12, 1), t(20, 0), true)));
        // No code, or a code that does not fit: the length decides.
        assert_eq!(parse_dtm("19850312", None), Some((d(1985, 3, 12), None, true)));
        assert_eq!(parse_dtm("202612012000", Some("201")), Some((d(2026, 12, 1), t(20, 0), true)));
        assert_eq!(parse_dtm(" 850312 ", Some("")), Some((d(2085, 3, 12), None, false)));
        for bad in ["", "8503", "85031", "851312", "2612012460", "26-12-01", "1985031X"] {
            assert_eq!(parse_dtm(bad, None), None, "{bad:?}");
        }
        assert_eq!(parse_dtm("850312", Some("999")), Some((d(2085, 3, 12), None, false)));
    }
}
