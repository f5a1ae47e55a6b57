//! The PAXLST message grammar (UN/EDIFACT directories D:02B, D:05B, D:12B): segments in, a
//! passenger or crew list out.
//!
//! The layout (see `shared/reference/pnrgov.md` §2): `BGM` (745 passengers, 250/336 crew, 266 flight
//! status, with change and close codes), `RFF+TN`, the reporting party (`NAD+MS`, `COM`), the flight
//! legs (`TDT` each with `LOC`/`DTM` pairs; several legs make a progressive itinerary), one group per
//! person (`NAD+FL|FM|DDU|DDT` with `ATT`, `DTM`, `LOC`, `NAT`, `RFF`, `FTX`, `DOC` with its `DTM` and
//! `LOC+91`), and `CNT` totals. Like the PNRGOV grammar it is a tolerant state machine: a segment is
//! placed by its tag and where we are, and one that fits nowhere is kept in `unplaced` with a
//! diagnostic; it never fails the message. It borrows the segments and knows nothing of Arrow.

use crate::diag::{Diagnostic, Severity};
use crate::edifact::Segs;
use crate::edifact::lexer::Segment;

type Seg<'s, 'a> = &'s Segment<'a>;

/// A parsed PAXLST message.
#[derive(Debug, Default)]
pub struct PaxlstMessage<'s, 'a> {
    /// `BGM`: list type and, for changes, the change code.
    pub bgm: Option<Seg<'s, 'a>>,
    /// Message-level `RFF` (transaction reference `TN`).
    pub rff: Vec<Seg<'s, 'a>>,
    /// `NAD+MS`: the reporting party.
    pub reporting_party: Option<Seg<'s, 'a>>,
    /// The reporting party's `COM`.
    pub com: Vec<Seg<'s, 'a>>,
    /// Flight legs, in order.
    pub legs: Vec<Leg<'s, 'a>>,
    /// People listed.
    pub persons: Vec<Person<'s, 'a>>,
    /// `CNT` totals.
    pub cnt: Vec<Seg<'s, 'a>>,
    /// Segments that fit nowhere.
    pub unplaced: Vec<Seg<'s, 'a>>,
    /// Grammar faults.
    pub diagnostics: Vec<Diagnostic>,
}

/// One flight leg: `TDT` and its places and times.
#[derive(Debug)]
pub struct Leg<'s, 'a> {
    /// `TDT`: flight id (e2) and carrier (e5).
    pub tdt: Seg<'s, 'a>,
    /// `LOC` (125 departure, 87 arrival, 92 progressive leg point) each with its `DTM`
    /// (189 departure, 232 arrival).
    pub places: Vec<(Seg<'s, 'a>, Option<Seg<'s, 'a>>)>,
}

/// One listed person.
#[derive(Debug)]
pub struct Person<'s, 'a> {
    /// `NAD`: role (FL passenger, FM crew, DDU/DDT in transit) and name.
    pub nad: Seg<'s, 'a>,
    /// `ATT`: gender.
    pub att: Option<Seg<'s, 'a>>,
    /// Person-level `DTM` (329 date of birth).
    pub dtm: Segs<'s, 'a>,
    /// Person-level `LOC` (22, 174 residence, 178 embarkation, 179 debarkation, 180 birthplace).
    pub loc: Segs<'s, 'a>,
    /// `NAT`: nationality.
    pub nat: Option<Seg<'s, 'a>>,
    /// `RFF`: AVF record locator, ABO passenger reference, SEA seat, others.
    pub rff: Segs<'s, 'a>,
    /// `FTX`: bag tags and remarks.
    pub ftx: Segs<'s, 'a>,
    /// Travel documents.
    pub docs: Vec<Doc<'s, 'a>>,
    /// Other person segments kept as they are (`COM`, `EMP`, `GEI`, `MEA`).
    pub other: Segs<'s, 'a>,
}

/// One travel document.
#[derive(Debug)]
pub struct Doc<'s, 'a> {
    /// `DOC`: type (e1 c1) and number (e2).
    pub doc: Seg<'s, 'a>,
    /// `DTM` (36 expiry, 182 issue).
    pub dtm: Segs<'s, 'a>,
    /// `LOC+91`: issuing state.
    pub loc: Segs<'s, 'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Header,
    Party,
    Leg,
    Person,
    Doc,
    Trailer,
}

/// Places the body segments (UNH and UNT excluded) of one PAXLST message.
pub fn parse<'s, 'a: 's>(body: impl IntoIterator<Item = &'s Segment<'a>>) -> PaxlstMessage<'s, 'a> {
    let mut m = PaxlstMessage::default();
    let mut at = At::Header;
    for seg in body {
        let tag = seg.tag.as_ref();
        match tag {
            "BGM" if m.bgm.is_none() && m.persons.is_empty() => m.bgm = Some(seg),
            "RFF" if matches!(at, At::Header | At::Party) && m.legs.is_empty() => m.rff.push(seg),
            "NAD" => match seg.get(0, 0).unwrap_or("").trim() {
                "MS" => {
                    m.reporting_party = Some(seg);
                    at = At::Party;
                }
                _ => {
                    m.persons.push(Person {
                        nad: seg,
                        att: None,
                        dtm: Segs::new(),
                        loc: Segs::new(),
                        nat: None,
                        rff: Segs::new(),
                        ftx: Segs::new(),
                        docs: Vec::new(),
                        other: Segs::new(),
                    });
                    at = At::Person;
                }
            },
            "COM" | "CTA" if at == At::Party => m.com.push(seg),
            "TDT" => {
                m.legs.push(Leg { tdt: seg, places: Vec::new() });
                at = At::Leg;
            }
            "LOC" if at == At::Leg => {
                if let Some(l) = m.legs.last_mut() {
                    l.places.push((seg, None));
                }
            }
            "DTM" if at == At::Leg => match m.legs.last_mut().and_then(|l| l.places.last_mut()) {
                Some(p) if p.1.is_none() => p.1 = Some(seg),
                _ => unplaced(&mut m, seg, "DTM of a flight leg without its LOC"),
            },
            "DOC" if matches!(at, At::Person | At::Doc) => {
                if let Some(p) = m.persons.last_mut() {
                    p.docs.push(Doc { doc: seg, dtm: Segs::new(), loc: Segs::new() });
                }
                at = At::Doc;
            }
            // In a document group, DTM 36/182 and LOC 91 belong to the document; anything else
            // goes back to the person (some senders put the person's LOCs after the DOC).
            "DTM" if at == At::Doc && matches!(seg.get(0, 0), Some("36") | Some("182")) => {
                if let Some(d) = m.persons.last_mut().and_then(|p| p.docs.last_mut()) {
                    d.dtm.push(seg);
                }
            }
            "LOC" if at == At::Doc && seg.get(0, 0) == Some("91") => {
                if let Some(d) = m.persons.last_mut().and_then(|p| p.docs.last_mut()) {
                    d.loc.push(seg);
                }
            }
            "ATT" | "DTM" | "LOC" | "NAT" | "RFF" | "FTX" | "COM" | "EMP" | "GEI" | "MEA"
                if matches!(at, At::Person | At::Doc) =>
            {
                let Some(p) = m.persons.last_mut() else { continue };
                match tag {
                    "ATT" if p.att.is_none() => p.att = Some(seg),
                    "DTM" => p.dtm.push(seg),
                    "LOC" => p.loc.push(seg),
                    "NAT" if p.nat.is_none() => p.nat = Some(seg),
                    "RFF" => p.rff.push(seg),
                    "FTX" => p.ftx.push(seg),
                    _ => p.other.push(seg),
                }
            }
            "CNT" => {
                m.cnt.push(seg);
                at = At::Trailer;
            }
            _ => unplaced(&mut m, seg, "segment out of its place in the PAXLST grammar"),
        }
    }
    m
}

fn unplaced<'s, 'a>(m: &mut PaxlstMessage<'s, 'a>, seg: Seg<'s, 'a>, why: &str) {
    m.diagnostics.push(Diagnostic::new(
        seg.offset,
        Severity::Warning,
        "SEGMENT_UNPLACED",
        format!("{} segment: {why}; kept unmapped", seg.tag),
    ));
    m.unplaced.push(seg);
}

/// The role a `NAD` qualifier gives a person.
pub fn role(qualifier: &str) -> &'static str {
    match qualifier.trim() {
        "FL" => "passenger",
        "FM" => "crew",
        "DDU" => "in_transit_passenger",
        "DDT" => "in_transit_crew",
        _ => "other",
    }
}

/// The list type a `BGM` document code gives.
pub fn list_type(code: &str) -> &'static str {
    match code.trim() {
        "745" => "passenger",
        "250" => "crew",
        "336" => "master_crew",
        "266" => "flight_status",
        "655" => "gate_pass",
        _ => "unknown",
    }
}
