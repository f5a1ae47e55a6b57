//! Maps one PAXLST message to a `push` row and one `api_traveller` row per listed person.
//!
//! Every `NAD` person of the message is loaded (crew as crew, never as passengers); nothing is
//! dropped. Faults become diagnostics: `CNT` totals that disagree with the list, a message without
//! a flight leg, dates that do not parse, an unknown airport.

use chrono::{NaiveDate, NaiveDateTime};

use super::pnrgov_map::{Counts, MapContext, Mapped, diagnostic_row, envelope_row, message_diagnostic_rows, owned};
use super::times;
use crate::diag::{Diagnostic, Severity};
use crate::edifact::interchange::Message;
use crate::edifact::lexer::Segment;
use crate::landing::schema::{ApiTravellerRow, PushRow, Shared, Text};
use crate::paxlst::{self, Leg, PaxlstMessage};

/// A leg's `DTM` 189/232 as a local date and time (formats 201 and 203).
fn dtm_datetime(dtm: &Segment<'_>) -> Option<NaiveDateTime> {
    let (date, time, _) = times::parse_dtm(dtm.get(0, 1)?, dtm.get(0, 2))?;
    Some(date.and_time(time?))
}

/// A `DTM` date (formats 101 and 102; a date and time gives its date).
fn dtm_date(dtm: &Segment<'_>) -> Option<NaiveDate> {
    times::parse_dtm(dtm.get(0, 1)?, dtm.get(0, 2)).map(|(d, _, _)| d)
}

/// A `DTM+329` date of birth: a two-digit year takes the latest century that keeps it on or
/// before `reference`; a four-digit year (format 102, D:12B) is taken as it is.
fn birth_date(dtm: &Segment<'_>, reference: Option<NaiveDate>) -> Option<NaiveDate> {
    let (d, _, long_year) = times::parse_dtm(dtm.get(0, 1)?, dtm.get(0, 2))?;
    match reference {
        Some(r) if d > r && !long_year => chrono::Datelike::with_year(&d, chrono::Datelike::year(&d) - 100),
        _ => Some(d),
    }
}

/// Splits a TDT flight id (`UA0989`, `AA123`) into carrier and number; `carrier` (TDT e5) wins
/// when given.
fn flight_of(tdt: &Segment<'_>) -> (Option<Text>, Option<Text>) {
    let id = tdt.get(1, 0).unwrap_or("").trim().to_string();
    let carrier = owned(tdt.get(4, 0));
    let split = id.char_indices().find(|&(i, c)| i >= 2 && c.is_ascii_digit()).map(|(i, _)| i);
    match (carrier, split) {
        (Some(c), _) if id.starts_with(c.as_str()) => (Some(c.clone()), owned(Some(&id[c.len()..]))),
        (Some(c), Some(i)) => (Some(c), owned(Some(&id[i..]))),
        (Some(c), None) => (Some(c), owned(Some(&id))),
        (None, Some(i)) => (owned(Some(&id[..i])), owned(Some(&id[i..]))),
        (None, None) => (None, owned(Some(&id))),
    }
}

/// Departure and arrival place and local time of a leg.
struct LegInfo {
    carrier: Option<Text>,
    number: Option<Text>,
    from: Option<Text>,
    to: Option<Text>,
    dep: Option<NaiveDateTime>,
    /// The leg crosses into or out of the receiving state (LOC 125/87), not a progressive leg.
    reported: bool,
}

fn leg_info(l: &Leg<'_, '_>) -> LegInfo {
    let (carrier, number) = flight_of(l.tdt);
    let mut info = LegInfo { carrier, number, from: None, to: None, dep: None, reported: false };
    for (loc, dtm) in &l.places {
        let place = owned(loc.get(1, 0));
        let when = dtm.and_then(dtm_datetime);
        let departure = dtm.and_then(|d| d.get(0, 0)) == Some("189");
        match loc.get(0, 0).map(str::trim) {
            Some("125") => {
                info.from = place;
                info.dep = when.or(info.dep);
                info.reported = true;
            }
            Some("87") => {
                info.to = place;
                info.reported = true;
            }
            _ if departure || info.from.is_none() => {
                info.from = info.from.take().or(place);
                if departure {
                    info.dep = when;
                }
            }
            _ => info.to = place,
        }
    }
    info
}

struct Mapper<'c, 'm> {
    ctx: &'c MapContext<'c>,
    msg: &'m Message<'m>,
    push_id: Shared,
    out: Mapped,
}

impl Mapper<'_, '_> {
    fn diag(&mut self, origin: u32, d: &Diagnostic) {
        let row = diagnostic_row(self.ctx, &self.push_id, origin, d);
        self.out.rows.diagnostics.push(row);
    }

    fn warn(&mut self, seg: &Segment<'_>, code: &'static str, message: String) {
        let d = Diagnostic::new(seg.offset, Severity::Warning, code, message);
        self.diag(seg.origin, &d);
    }

    fn utc(
        &mut self,
        seg: &Segment<'_>,
        airport: Option<&str>,
        local: Option<NaiveDateTime>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let (utc, diag) = times::utc_at(self.ctx.airports, airport?, local?, seg.offset);
        if let Some(d) = diag {
            self.diag(seg.origin, &d);
        }
        utc
    }

    fn map(&mut self, g: &PaxlstMessage<'_, '_>) {
        let legs: Vec<LegInfo> = g.legs.iter().map(leg_info).collect();
        // The reported leg: the one crossing the border (LOC 125/87), else the last one.
        let main = legs.iter().position(|l| l.reported).or(legs.len().checked_sub(1));
        let leg = main.map(|i| &legs[i]);
        let leg_seg = main.map(|i| g.legs[i].tdt);
        let (carrier, number) = (leg.and_then(|l| l.carrier.clone()), leg.and_then(|l| l.number.clone()));
        let (from, to, dep_local) =
            (leg.and_then(|l| l.from.clone()), leg.and_then(|l| l.to.clone()), leg.and_then(|l| l.dep));
        let dep_utc = match leg_seg {
            Some(s) => self.utc(s, from.as_deref(), dep_local),
            None => None,
        };
        let dep_date = dep_local.map(|d| d.date());
        if g.legs.is_empty() {
            let d = Diagnostic::new(
                self.msg.offset,
                Severity::Warning,
                "NO_PUSHED_FLIGHT",
                "PAXLST message has no TDT flight leg; flight columns left NULL",
            );
            self.diag(self.msg.origin, &d);
        }
        let legs_text = legs
            .iter()
            .map(|l| {
                format!(
                    "{}{}:{}-{}",
                    l.carrier.as_deref().unwrap_or(""),
                    l.number.as_deref().unwrap_or(""),
                    l.from.as_deref().unwrap_or(""),
                    l.to.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(";");
        let bgm_code = g.bgm.and_then(|b| owned(b.get(0, 0)));
        let list_type = bgm_code.as_deref().map(paxlst::list_type).map(Text::from);
        let list_change = g.bgm.and_then(|b| owned(b.get(1, 0)));
        let push = PushRow {
            originator: g.reporting_party.and_then(|n| owned(n.get(3, 0))),
            flight_carrier: carrier.clone(),
            flight_number: number.clone(),
            dep_airport: from.clone(),
            arr_airport: to.clone(),
            dep_local,
            dep_utc,
            dep_date,
            ..envelope_row(self.msg, &self.push_id, "PAXLST", self.ctx)
        };
        let prepared = push.prepared_at_utc;
        self.out.rows.push.push(push);

        let reference = dep_date.or(prepared.map(|p| p.date_naive()));
        let mut counted: [u64; 2] = [0, 0];
        self.out.rows.api_traveller.reserve(g.persons.len());
        for p in &g.persons {
            let nad = p.nad;
            let role = paxlst::role(nad.get(0, 0).unwrap_or(""));
            if role.ends_with("crew") {
                counted[1] += 1;
            } else {
                counted[0] += 1;
            }
            let (surname, given, middle) = (owned(nad.get(3, 0)), owned(nad.get(3, 1)), owned(nad.get(3, 2)));
            let mut row = ApiTravellerRow {
                push_id: self.push_id.clone(),
                role: role.into(),
                list_type: list_type.clone(),
                list_change: list_change.clone(),
                flight_carrier: carrier.clone(),
                flight_number: number.clone(),
                dep_airport: from.clone(),
                arr_airport: to.clone(),
                dep_local,
                dep_utc,
                dep_date,
                legs: Some(Text::from(legs_text.as_str())).filter(|s| !s.is_empty()),
                surname,
                given_name: given,
                middle_name: middle,
                gender: p.att.and_then(|a| owned(a.get(2, 0))),
                nationality: p.nat.and_then(|n| owned(n.get(1, 0))),
                source_file: self.ctx.file(nad.origin),
                source_offset: nad.offset as i64,
                ..Default::default()
            };
            for d in &p.dtm {
                if d.get(0, 0) == Some("329") {
                    row.date_of_birth = birth_date(d, reference);
                    if row.date_of_birth.is_none() {
                        self.warn(
                            d,
                            "BAD_DATE",
                            format!("date of birth {:?} is not YYMMDD or CCYYMMDD", d.get(0, 1).unwrap_or("")),
                        );
                    }
                }
            }
            for l in &p.loc {
                let place = owned(l.get(1, 0)).or_else(|| owned(l.get(1, 3)));
                match l.get(0, 0).map(str::trim) {
                    Some("22") => row.first_arrival_airport = place,
                    Some("174") => row.residence_country = place,
                    Some("178") => row.embark_airport = place,
                    Some("179") => row.debark_airport = place,
                    Some("180") => row.birth_place = place,
                    _ => {}
                }
            }
            for r in &p.rff {
                match r.get(0, 0).map(str::trim) {
                    Some("AVF") => row.record_locator = owned(r.get(0, 1)),
                    Some("ABO") => row.passenger_ref = owned(r.get(0, 1)),
                    Some("SEA") => row.seat = owned(r.get(0, 1)),
                    _ => {}
                }
            }
            let mut others = Vec::new();
            for (k, d) in p.docs.iter().enumerate() {
                let kind = owned(d.doc.get(0, 0));
                let number = owned(d.doc.get(1, 0));
                let issuer = d.loc.iter().find_map(|l| owned(l.get(1, 0)));
                let mut expiry = None;
                let mut issued = None;
                for t in &d.dtm {
                    let date = dtm_date(t);
                    match t.get(0, 0) {
                        Some("36") => expiry = date,
                        Some("182") => issued = date,
                        _ => {}
                    }
                }
                if k == 0 {
                    (row.doc_type, row.doc_number, row.doc_issuer, row.doc_expiry, row.doc_issued) =
                        (kind, number, issuer, expiry, issued);
                } else {
                    others.push(format!(
                        "{}:{}:{}",
                        kind.unwrap_or_default(),
                        number.unwrap_or_default(),
                        issuer.unwrap_or_default()
                    ));
                }
            }
            row.other_documents = Some(Text::from(others.join(";"))).filter(|s| !s.is_empty());
            let dob = row.date_of_birth.map(super::ids::iso_date).unwrap_or_default();
            row.api_traveller_id = super::ids::api_traveller_id(&[
                carrier.as_deref().unwrap_or(""),
                number.as_deref().unwrap_or(""),
                &dep_date.map(super::ids::iso_date).unwrap_or_default(),
                row.surname.as_deref().unwrap_or(""),
                row.given_name.as_deref().unwrap_or(""),
                &dob,
                row.doc_number.as_deref().unwrap_or(""),
            ]);
            self.out.rows.api_traveller.push(row);
        }
        for c in &g.cnt {
            let declared = c.get(0, 1).and_then(|n| n.trim().parse::<u64>().ok());
            let (what, actual) = match c.get(0, 0).map(str::trim) {
                Some("42") => ("passengers", counted[0]),
                Some("41") => ("crew", counted[1]),
                _ => continue,
            };
            if let Some(d) = declared
                && d != actual
            {
                let diag = Diagnostic::new(
                    c.offset,
                    Severity::Info,
                    "CNT_COUNT_MISMATCH",
                    format!("CNT declares {d} {what}, the list has {actual}"),
                );
                self.diag(c.origin, &diag);
            }
        }
        let n = g.persons.len() as u64;
        self.out.counts = Counts { api_persons_read: n, api_persons_loaded: n, ..Default::default() };
    }
}

/// Maps a PAXLST message (after multi-part reassembly).
pub fn map_message(msg: &Message<'_>, push_id: String, ctx: &MapContext<'_>) -> Mapped {
    let g = paxlst::parse(msg.segments());
    let mut m = Mapper { ctx, msg, push_id: Shared::from(push_id), out: Mapped::default() };
    m.out.rows.diagnostics = message_diagnostic_rows(msg, &g.diagnostics, &m.push_id, ctx);
    m.map(&g);
    m.out
}
