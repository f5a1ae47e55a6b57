//! Writes pushes as PNRGOV EDIFACT, the way airlines' systems do, including the faults real
//! feeds have.
//!
//! Segment layouts follow `reference/pnrgov.md` §1.5. A push renders each PNR as it stood at the
//! push time: documents, tickets and history appear once entered, check-in and bags only at
//! flight close.

use std::fmt::Write as _;

use chrono::{NaiveDateTime, TimeDelta};

use super::model::{Flight, Fop, History, Leg, PaxType, Person, Pnr};
use super::world::{self, Geo};

/// Recipient written in UNB: the passenger information unit.
pub const RECIPIENT: &str = "ESPIU";

/// PNRs per message part: larger pushes go as multi-part transfers (UNH e4 `n:C` … `n:F`).
pub const PART_PNRS: usize = 60;

/// How the interchange is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Una {
    /// `UNA:+.? '`.
    Standard,
    /// No UNA: the reader must default the service characters.
    Absent,
    /// `UNA:+.?*'`: syntax 4 with a repetition separator, which text must then escape too.
    Syntax4,
}

/// Faults applied to one push file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// Lines wrapped at 80 columns, mid-segment.
    pub wrapped: bool,
    /// UNT segment counts off by one.
    pub unt_off: bool,
    /// Optional segments (booking ORG, DAT, FTI, agency contact) left out.
    pub missing_optional: bool,
}

/// One push of a flight.
#[derive(Debug, Clone, Copy)]
pub struct Push {
    /// When it was prepared (UTC).
    pub at: NaiveDateTime,
    /// 22 full, 141 update.
    pub msg_function: u32,
    /// Flight close: check-in data included.
    pub close: bool,
    /// Label in the file name (`T72`, `T24`, `FC`).
    pub label: &'static str,
}

struct Writer {
    segs: Vec<String>,
    syntax4: bool,
}

impl Writer {
    fn esc(&self, s: &str) -> String {
        let mut o = String::with_capacity(s.len() + 2);
        for c in s.chars() {
            if matches!(c, ':' | '+' | '?' | '\'') || (self.syntax4 && c == '*') {
                o.push('?');
            }
            o.push(c);
        }
        o
    }

    fn seg(&mut self, s: String) {
        self.segs.push(s);
    }
}

fn ddmmyy(t: NaiveDateTime) -> String {
    t.format("%d%m%y").to_string()
}

fn hhmm(t: NaiveDateTime) -> String {
    t.format("%H%M").to_string()
}

fn docs_date(d: chrono::NaiveDate) -> String {
    d.format("%d%b%y").to_string().to_uppercase()
}

fn local(geo: &Geo, airport: &str, utc: NaiveDateTime) -> NaiveDateTime {
    match geo.airports.get(airport) {
        Some(a) => utc.and_utc().with_timezone(&a.tz).naive_local(),
        None => utc,
    }
}

fn tvl(geo: &Geo, l: &Leg, class: bool) -> String {
    let d = local(geo, &l.from, l.dep_utc);
    let a = local(geo, &l.to, l.arr_utc);
    let num = if class { format!("{}:{}", l.number, l.class) } else { l.number.to_string() };
    format!("TVL+{}:{}:{}:{}+{}+{}+{}+{}", ddmmyy(d), hhmm(d), ddmmyy(a), hhmm(a), l.from, l.to, l.carrier, num)
}

fn ticket_number(pnr: &Pnr, traveller: usize, ticket: usize) -> String {
    let carrier = world::carrier(pnr.legs[pnr.pushed].carrier);
    let n = (pnr.serial * 37 + traveller as u64 * 5 + ticket as u64) % 10_000_000_000;
    format!("{}{:010}", carrier.prefix, n)
}

/// The given name as booked, with its title.
pub fn booked_given(p: &super::model::Person) -> String {
    match p.title {
        Some(t) => format!("{} {t}", p.given),
        None => p.given.clone(),
    }
}

fn render_pnr(w: &mut Writer, geo: &Geo, pnr: &Pnr, at: NaiveDateTime, close: bool, faults: Faults, k: u64) {
    // Faults in optional segments hit some PNRs of a faulty file, not all.
    let drop = faults.missing_optional && k.is_multiple_of(3);
    let carrier = pnr.legs[pnr.pushed].carrier;
    let created = pnr.created;
    w.seg("SRC".into());
    w.seg(format!(
        "RCI+{}:{}::{}:{}+{}:{}",
        pnr.seller.system,
        pnr.locator,
        ddmmyy(created),
        hhmm(created),
        carrier,
        pnr.locator.chars().rev().collect::<String>()
    ));
    // The booking's contacts, for the whole PNR (group 1 SSRs).
    if let Some(ph) = &pnr.phone {
        w.seg(format!("SSR+CTCM:HK:1:{carrier}:::::/{ph}"));
    }
    if let Some(e) = &pnr.email {
        let e = w.esc(&e.replace('@', "//").replace('_', ".."));
        w.seg(format!("SSR+CTCE:HK:1:{carrier}:::::/{e}"));
    }
    let ticketed = pnr.ticketed.filter(|t| *t <= at);
    if !drop {
        let last = pnr.last_change(at);
        match ticketed {
            Some(t) => w.seg(format!("DAT+700:{}:{}+710:{}:{}", ddmmyy(last), hhmm(last), ddmmyy(t), hhmm(t))),
            None => w.seg(format!("DAT+700:{}:{}", ddmmyy(last), hhmm(last))),
        }
        if let Some(ph) = &pnr.seller.phone {
            let t = w.esc(&format!("CTCT {} {}", pnr.seller.city, ph));
            w.seg(format!("IFT+4:28::{carrier}+{t}"));
        }
        let s = &pnr.seller;
        w.seg(format!(
            "ORG+{}:{}+{}:{}+{}++{}+{}:{}",
            s.system,
            if s.city == "WEB" { "HDQ" } else { &s.city },
            s.iata.as_deref().unwrap_or(""),
            s.office,
            if s.city == "WEB" { "" } else { &s.city },
            s.agent_type,
            s.country,
            s.currency
        ));
    }
    let docs_visible = pnr.docs_at.is_some_and(|d| d <= at);
    if let Some(g) = &pnr.group {
        let g = w.esc(g);
        w.seg(format!("TIF+{g}:G"));
    }
    for (i, p) in pnr.people.iter().enumerate() {
        let r = i + 1;
        let code = match p.pax {
            PaxType::Adult => "A",
            PaxType::Child => "C",
            PaxType::Infant => "IN",
        };
        let has_infant = pnr.infant_of.contains(&Some(i));
        let (sn, gn) = (w.esc(&p.surname), w.esc(&booked_given(p)));
        w.seg(format!("TIF+{sn}+{gn}:{code}:{r}{}", if has_infant { ":1" } else { "" }));
        if let Some((air, num)) = &p.ff
            && !drop
        {
            w.seg(format!("FTI+{air}:{num}"));
        }
        if docs_visible && let Some(d) = &p.doc {
            let gender = match (p.pax, p.gender) {
                (PaxType::Infant, 'M') => "MI",
                (PaxType::Infant, _) => "FI",
                (_, 'M') => "M",
                _ => "F",
            };
            let text = format!(
                "/{}/{}/{}/{}/{}/{}/{}/{}/{}",
                d.kind,
                geo.alpha3(&d.issuer),
                d.number,
                geo.alpha3(&p.nationality),
                docs_date(p.dob),
                gender,
                docs_date(d.expiry),
                p.surname,
                p.given
            );
            let text = w.esc(&text);
            w.seg(format!("SSR+DOCS:HK:1:{carrier}:::::{text}"));
            let res = geo.alpha3(&p.residence);
            w.seg(format!("SSR+DOCA:HK:1:{carrier}:::::/R/{res}"));
        }
        if p.umnr {
            w.seg(format!("SSR+UMNR:HK:1:{carrier}"));
        }
        if let Some(t) = ticketed {
            let tickets = pnr.tickets();
            for k in 0..tickets {
                w.seg(format!("TKT+{}:T", ticket_number(pnr, i, k)));
                let amount = if p.pax == PaxType::Infant { pnr.fare / 10 } else { pnr.fare / tickets as u32 };
                w.seg(format!("MON+T:{amount}.00:EUR"));
                let sale_city = if pnr.seller.city == "WEB" { "" } else { pnr.seller.city.as_str() };
                w.seg(format!("PTK+NR++{}+{carrier}+{}+{sale_city}", ddmmyy(t), world::carrier(carrier).prefix));
                w.seg(format!("DAT+710:{}:{}", ddmmyy(t), hhmm(t)));
                match &pnr.fop {
                    Fop::Cash => w.seg(format!("FOP+CA::{amount}.00")),
                    Fop::Card(v, n, exp) => {
                        let masked = format!("{}{}", "X".repeat(n.len() - 4), &n[n.len() - 4..]);
                        w.seg(format!("FOP+CC::{amount}.00:{v}:{masked}:{exp}"));
                    }
                    Fop::Invoice => w.seg(format!("FOP+MS::{amount}.00")),
                }
                if let Some((name, phone)) = &pnr.payer {
                    let name = w.esc(&name.replace('/', " "));
                    w.seg(format!("IFT+4:43+{name}++{phone}"));
                }
            }
        }
    }
    let seated = pnr.people.iter().filter(|p| p.pax != PaxType::Infant).count();
    for (li, l) in pnr.legs.iter().enumerate() {
        w.seg(tvl(geo, l, true));
        w.seg(format!("RPI+{seated}+HK"));
        if li == pnr.pushed && close {
            render_checkin(w, pnr, l, k);
        }
    }
    for h in &pnr.history {
        if h.at() > at {
            continue;
        }
        w.seg(format!(
            "ABI+1+:{}+{}++{carrier}",
            pnr.seller.office,
            if pnr.seller.city == "WEB" { "HDQ" } else { &pnr.seller.city }
        ));
        w.seg(format!("DAT+ZT:{}:{}", ddmmyy(h.at()), hhmm(h.at())));
        match h {
            History::NameChange { old_surname, old_given, index, .. } => {
                let p = &pnr.people[*index];
                w.seg("SAC+++X".into());
                let (s, g) = (w.esc(old_surname), w.esc(old_given));
                w.seg(format!("TIF+{s}+{g}"));
                w.seg("SAC+++A".into());
                let (s, g) = (w.esc(&p.surname), w.esc(&booked_given(p)));
                w.seg(format!("TIF+{s}+{g}"));
            }
            History::SegmentCancelled { leg, .. } => {
                w.seg("SAC+++X".into());
                w.seg(tvl(geo, leg, true));
                w.seg(format!("RPI+{seated}+XX"));
            }
            History::DateChange { leg, .. } => {
                w.seg("SAC+++X".into());
                w.seg(tvl(geo, leg, true));
                w.seg(format!("RPI+{seated}+HX"));
            }
        }
    }
}

fn render_checkin(w: &mut Writer, pnr: &Pnr, l: &Leg, k: u64) {
    let who: Vec<usize> = (0..pnr.people.len()).filter(|&i| pnr.people[i].checks_in).collect();
    if who.is_empty() {
        return;
    }
    let at = l.dep_utc - TimeDelta::minutes(60 + ((pnr.serial * 97 + k) % 1300) as i64);
    w.seg(format!("DAT+2:{}:{}", ddmmyy(at), hhmm(at)));
    w.seg(format!("ORG+{}:{}++++A", l.carrier, l.from));
    let dest = pnr.bag_destination().to_string();
    for (n, &i) in who.iter().enumerate() {
        let p = &pnr.people[i];
        let r = i + 1;
        let seq = (pnr.serial % 250) as usize + n + 1;
        w.seg(format!("TRI++{}-{seq}:::{r}", l.from));
        let (sn, gn) = (w.esc(&p.surname), w.esc(&booked_given(p)));
        w.seg(format!("TIF+{sn}+{gn}:{}:{r}", if p.pax == PaxType::Infant { "IN" } else { "A" }));
        if p.pax == PaxType::Infant {
            continue;
        }
        let row = 5 + (pnr.serial * 7 + n as u64) % 40;
        let seat = ['A', 'B', 'C', 'D', 'E', 'F'][((pnr.serial + n as u64) % 6) as usize];
        w.seg(format!("SSD+{row:03}{seat}++++Y"));
        let (bags, kg) = p.bags;
        if bags == 0 {
            w.seg("TBD++0".into());
        } else {
            let to = p.bag_tag_to.as_deref().unwrap_or(&dest);
            let prefix = world::carrier(l.carrier).prefix;
            let tag = (pnr.serial * 13 + i as u64 * 3) % 1_000_000;
            w.seg(format!("TBD++{bags}:{kg}:700+++{prefix}:{prefix}{tag:06}:{bags}:{to}"));
        }
    }
}

/// Writes one push of `flight` with `pnrs` (already filtered to those the push carries).
pub fn render_push(
    geo: &Geo,
    flight: &Flight,
    pnrs: &[&Pnr],
    push: Push,
    una: Una,
    faults: Faults,
    seq: u64,
) -> Vec<u8> {
    let syntax4 = una == Una::Syntax4;
    let mut w = Writer { segs: Vec::new(), syntax4 };
    let fl_leg = super::book::pushed_leg(flight, 'Y');
    let dep_local = local(geo, flight.from, flight.dep_utc);
    let access = format!("{}{}/{}/{}", flight.carrier, flight.number, ddmmyy(dep_local), push.label);
    let iref = format!("{}{:08}", &push.label[..1], seq % 100_000_000);
    let parts: Vec<&[&Pnr]> = if pnrs.len() > PART_PNRS { pnrs.chunks(PART_PNRS).collect() } else { vec![pnrs] };
    let n_parts = parts.len();
    let mut out = String::with_capacity(pnrs.len() * 1200 + 400);
    match una {
        Una::Standard => out.push_str("UNA:+.? '\n"),
        Una::Syntax4 => out.push_str("UNA:+.?*'\n"),
        Una::Absent => {}
    }
    let _ = writeln!(
        out,
        "UNB+IATA:1+{}+{RECIPIENT}+{}:{}+{iref}'",
        flight.carrier,
        push.at.format("%y%m%d"),
        hhmm(push.at)
    );
    let mut k = seq;
    for (pi, part) in parts.iter().enumerate() {
        w.segs.clear();
        let marker = if n_parts > 1 {
            format!("+{}:{}", pi + 1, if pi + 1 == n_parts { "F" } else { "C" })
        } else {
            String::new()
        };
        w.seg(format!("UNH+{}+PNRGOV:13:1:IA+{}{marker}", pi + 1, w.esc(&access)));
        if pi == 0 {
            w.seg(format!("MSG+:{}", push.msg_function));
            w.seg(format!("ORG+{}:{}", flight.carrier, flight.from));
            w.seg(tvl(geo, &fl_leg, false));
            w.seg(format!("EQN+{}", pnrs.len()));
        }
        for pnr in part.iter() {
            k += 1;
            render_pnr(&mut w, geo, pnr, push.at, push.close, faults, k);
        }
        let count = w.segs.len() + 1;
        let count = if faults.unt_off { count + 1 } else { count };
        w.seg(format!("UNT+{count}+{}", pi + 1));
        for s in &w.segs {
            out.push_str(s);
            out.push_str("'\n");
        }
    }
    let _ = writeln!(out, "UNZ+{n_parts}+{iref}'");
    if faults.wrapped {
        let flat: String = out.split('\n').collect();
        let mut wrapped = String::with_capacity(flat.len() + flat.len() / 80 + 1);
        for (i, c) in flat.chars().enumerate() {
            if i > 0 && i % 80 == 0 {
                wrapped.push('\n');
            }
            wrapped.push(c);
        }
        wrapped.push('\n');
        return wrapped.into_bytes();
    }
    out.into_bytes()
}

fn yymmdd(d: chrono::NaiveDate) -> String {
    d.format("%y%m%d").to_string()
}

/// The flight's API at check-in close: one interchange with the passenger list (`BGM+745`) of
/// everyone who checked in, consistent with their PNRs unless a scenario says otherwise, and the
/// crew list (`BGM+250`).
pub fn render_paxlst(
    geo: &Geo,
    flight: &Flight,
    pnrs: &[&Pnr],
    at: NaiveDateTime,
    crew: &[Person],
    seq: u64,
) -> Vec<u8> {
    let mut w = Writer { segs: Vec::new(), syntax4: false };
    let dep = local(geo, flight.from, flight.dep_utc);
    let arr = local(geo, flight.to, flight.arr_utc);
    let iref = format!("A{:08}", seq % 100_000_000);
    let mut out = String::with_capacity(pnrs.len() * 500 + 2000);
    out.push_str("UNA:+.? '\n");
    let _ = writeln!(out, "UNB+UNOA:4+{}+{RECIPIENT}+{}:{}+{iref}'", flight.carrier, at.format("%y%m%d"), hhmm(at));
    let header = |w: &mut Writer, n: usize, code: &str| {
        w.segs.clear();
        w.seg(format!("UNH+{n}+PAXLST:D:05B:UN:IATA+{}{}/{}", flight.carrier, flight.number, ddmmyy(dep)));
        w.seg(format!("BGM+{code}"));
        w.seg(format!("NAD+MS+++{} API DESK", flight.carrier));
        w.seg(format!("TDT+20+{}{}+++{}", flight.carrier, flight.number, flight.carrier));
        w.seg(format!("LOC+125+{}", flight.from));
        w.seg(format!("DTM+189:{}{}:201", dep.format("%y%m%d"), hhmm(dep)));
        w.seg(format!("LOC+87+{}", flight.to));
        w.seg(format!("DTM+232:{}{}:201", arr.format("%y%m%d"), hhmm(arr)));
    };
    let person = |w: &mut Writer,
                  qualifier: &str,
                  p: &Person,
                  given: &str,
                  dob: chrono::NaiveDate,
                  locator: Option<&str>,
                  debark: &str,
                  doc: Option<(&str, &str, &str, chrono::NaiveDate)>| {
        let (sn, gn) = (w.esc(&p.surname), w.esc(given));
        w.seg(format!("NAD+{qualifier}+++{sn}:{gn}"));
        w.seg(format!("ATT+2++{}", p.gender));
        w.seg(format!("DTM+329:{}", yymmdd(dob)));
        w.seg(format!("LOC+178+{}", flight.from));
        w.seg(format!("LOC+179+{debark}"));
        w.seg(format!("NAT+2+{}", geo.alpha3(&p.nationality)));
        if let Some(l) = locator {
            w.seg(format!("RFF+AVF:{l}"));
        }
        if let Some((kind, number, issuer, expiry)) = doc {
            w.seg(format!("DOC+{kind}:110:111+{number}"));
            w.seg(format!("DTM+36:{}", yymmdd(expiry)));
            w.seg(format!("LOC+91+{issuer}"));
        }
    };
    header(&mut w, 1, "745");
    let mut passengers = 0;
    for pnr in pnrs {
        let pushed = &pnr.legs[pnr.pushed];
        // Through-checked travellers debark at the end of their outbound journey.
        let end = pnr.outbound_end();
        let booked_debark = if end >= pnr.pushed { pnr.legs[end].to.clone() } else { pushed.to.clone() };
        for p in pnr.people.iter().filter(|p| p.checks_in) {
            let given = p.api.given.clone().unwrap_or_else(|| p.given.clone());
            let dob = p.api.dob.unwrap_or(p.dob);
            let debark = p.api.debark.clone().unwrap_or_else(|| booked_debark.clone());
            let doc = p.doc.as_ref().map(|d| {
                (
                    d.kind,
                    p.api.doc_number.clone().unwrap_or_else(|| d.number.clone()),
                    geo.alpha3(&d.issuer).to_string(),
                    d.expiry,
                )
            });
            let doc_ref = doc.as_ref().map(|(k, n, i, e)| (*k, n.as_str(), i.as_str(), *e));
            person(&mut w, "FL", p, &given, dob, Some(&pnr.locator), &debark, doc_ref);
            passengers += 1;
        }
    }
    w.seg(format!("CNT+42:{passengers}"));
    let count = w.segs.len() + 1;
    w.seg(format!("UNT+{count}+1"));
    for s in &w.segs {
        out.push_str(s);
        out.push_str("'\n");
    }
    header(&mut w, 2, "250");
    for p in crew {
        let issuer = geo.alpha3(&p.nationality).to_string();
        let number = p.doc.as_ref().map(|d| d.number.clone()).unwrap_or_default();
        let expiry = p.doc.as_ref().map(|d| d.expiry).unwrap_or(p.dob);
        person(
            &mut w,
            "FM",
            p,
            &p.given.clone(),
            p.dob,
            None,
            flight.to,
            Some(("P", number.as_str(), issuer.as_str(), expiry)),
        );
    }
    w.seg(format!("CNT+41:{}", crew.len()));
    let count = w.segs.len() + 1;
    w.seg(format!("UNT+{count}+2"));
    for s in &w.segs {
        out.push_str(s);
        out.push_str("'\n");
    }
    let _ = writeln!(out, "UNZ+2+{iref}'");
    out.into_bytes()
}
