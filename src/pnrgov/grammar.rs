//! The PNRGOV message grammar (versions 10.1 to 17.1): segments in, a tree of groups out.
//!
//! The implementation guide numbers the groups 1 to 12 (see `shared/reference/pnrgov.md`). Real
//! feeds put segments where the guide does not, so this is a tolerant state machine rather than a
//! strict grammar: each segment is placed by its tag and by where we are, and a segment whose
//! meaning is still clear from context is accepted there. A segment that fits nowhere is kept in
//! `unplaced` with a diagnostic; it never fails the message. The tree borrows the segments, so the
//! mapping layer decides what each field means. It knows nothing of Arrow.

use crate::diag::{Diagnostic, Severity};
use crate::edifact::Segs;
use crate::edifact::lexer::Segment;

type Seg<'s, 'a> = &'s Segment<'a>;

/// A parsed PNRGOV message.
#[derive(Debug, Default)]
pub struct PnrgovMessage<'s, 'a> {
    /// `MSG`: push type (22 full, 141 update).
    pub msg: Option<Seg<'s, 'a>>,
    /// Level-0 `ORG`: the sending system.
    pub originator: Option<Seg<'s, 'a>>,
    /// Level-0 `TVL`: the pushed flight.
    pub flight: Option<Seg<'s, 'a>>,
    /// Level-0 `EQN`: number of PNRs declared for the push.
    pub eqn: Option<Seg<'s, 'a>>,
    /// Group 1, one per `SRC`.
    pub pnrs: Vec<Pnr<'s, 'a>>,
    /// Level-0 segments that fit nowhere.
    pub unplaced: Segs<'s, 'a>,
    /// Grammar faults.
    pub diagnostics: Vec<Diagnostic>,
}

/// Group 1: one PNR.
#[derive(Debug)]
pub struct Pnr<'s, 'a> {
    /// The `SRC` that opened the PNR.
    pub src: Seg<'s, 'a>,
    /// Byte offset just past the last segment of this PNR.
    pub end: usize,
    /// `RCI`: record locators and creation date.
    pub rci: Segs<'s, 'a>,
    /// PNR-level `SSR`s.
    pub ssr: Segs<'s, 'a>,
    /// `DAT`: last transaction (700), ticketing (710).
    pub dat: Segs<'s, 'a>,
    /// PNR-level `IFT`s (OSI, contacts).
    pub ift: Segs<'s, 'a>,
    /// Booking originator `ORG`.
    pub org: Option<Seg<'s, 'a>>,
    /// PNR contact `ADD`s.
    pub add: Segs<'s, 'a>,
    /// PNR-level excess baggage `EBD`.
    pub ebd: Segs<'s, 'a>,
    /// Group 2.
    pub travellers: Vec<Traveller<'s, 'a>>,
    /// Forms of payment not under a ticket.
    pub payments: Vec<Payment<'s, 'a>>,
    /// Group 5.
    pub legs: Vec<Leg<'s, 'a>>,
    /// Group 8.
    pub splits: Vec<Split<'s, 'a>>,
    /// Group 9.
    pub non_air: Vec<NonAir<'s, 'a>>,
    /// Groups 10 to 12.
    pub history: Vec<History<'s, 'a>>,
    /// `LTS`: unstructured history lines.
    pub lts: Segs<'s, 'a>,
    /// Segments that fit nowhere in this PNR.
    pub unplaced: Segs<'s, 'a>,
}

/// Group 2: one traveller.
#[derive(Debug)]
pub struct Traveller<'s, 'a> {
    /// `TIF`: name, type, reference.
    pub tif: Seg<'s, 'a>,
    /// `FTI`: frequent traveller.
    pub fti: Segs<'s, 'a>,
    /// `IFT`: free text for this traveller.
    pub ift: Segs<'s, 'a>,
    /// `REF`: unique passenger reference.
    pub reference: Option<Seg<'s, 'a>>,
    /// `EBD`: excess baggage.
    pub ebd: Segs<'s, 'a>,
    /// `FAR`: fare information.
    pub far: Option<Seg<'s, 'a>>,
    /// `SSR`s of this traveller.
    pub ssr: Segs<'s, 'a>,
    /// `ADD`: emergency contact, UMNR delivery and collection.
    pub add: Segs<'s, 'a>,
    /// Group 3.
    pub tickets: Vec<Ticket<'s, 'a>>,
}

/// Group 3: a ticket.
#[derive(Debug, Default)]
pub struct Ticket<'s, 'a> {
    /// `TKT`; `None` for a payment that came with no ticket segment.
    pub tkt: Option<Seg<'s, 'a>>,
    /// `MON`: fares.
    pub mon: Option<Seg<'s, 'a>>,
    /// `PTK`: pricing and ticketing details.
    pub ptk: Option<Seg<'s, 'a>>,
    /// `TXD`: taxes.
    pub txd: Segs<'s, 'a>,
    /// `DAT`: ticket issue date.
    pub dat: Segs<'s, 'a>,
    /// `IFT`s that production feeds place after TXD/DAT.
    pub ift: Segs<'s, 'a>,
    /// Group 4.
    pub payments: Vec<Payment<'s, 'a>>,
}

/// Group 4: a form of payment.
#[derive(Debug)]
pub struct Payment<'s, 'a> {
    /// `FOP`.
    pub fop: Seg<'s, 'a>,
    /// `IFT` 4:43: sponsor (card holder) name, address, phone.
    pub ift: Segs<'s, 'a>,
    /// `ADD`: payer address.
    pub add: Segs<'s, 'a>,
}

/// Group 5: an itinerary segment.
#[derive(Debug)]
pub struct Leg<'s, 'a> {
    /// `TVL`.
    pub tvl: Seg<'s, 'a>,
    /// Second `TVL` holding the operating flight of a code-share (before version 14.1).
    pub operating_tvl: Option<Seg<'s, 'a>>,
    /// `TRA`: operating carrier and flight (14.1 and later).
    pub tra: Option<Seg<'s, 'a>>,
    /// `RPI`: number in party and status.
    pub rpi: Option<Seg<'s, 'a>>,
    /// `APD`: equipment.
    pub apd: Option<Seg<'s, 'a>>,
    /// Segment-level `SSR`s.
    pub ssr: Segs<'s, 'a>,
    /// `RCI`: locator of the operating carrier.
    pub rci: Segs<'s, 'a>,
    /// `IFT`: free text.
    pub ift: Segs<'s, 'a>,
    /// Group 6.
    pub checkins: Vec<CheckinGroup<'s, 'a>>,
}

/// Group 6: a check-in transaction.
#[derive(Debug, Default)]
pub struct CheckinGroup<'s, 'a> {
    /// `DAT` 2 (time) or 3 (free text); a bare `DAT` opens a group with no time.
    pub dat: Option<Seg<'s, 'a>>,
    /// `ORG`: agent or station.
    pub org: Option<Seg<'s, 'a>>,
    /// Group 7.
    pub records: Vec<CheckinRecord<'s, 'a>>,
}

/// Group 7: one traveller's check-in.
#[derive(Debug, Default)]
pub struct CheckinRecord<'s, 'a> {
    /// `TRI`: boarding sequence and traveller reference.
    pub tri: Option<Seg<'s, 'a>>,
    /// `TIF`: the traveller.
    pub tif: Option<Seg<'s, 'a>>,
    /// `SSD`: seat.
    pub ssd: Option<Seg<'s, 'a>>,
    /// `TBD`: bags.
    pub tbd: Segs<'s, 'a>,
}

/// Group 8: split or divided PNR.
#[derive(Debug)]
pub struct Split<'s, 'a> {
    /// `EQN`: number of travellers split.
    pub eqn: Seg<'s, 'a>,
    /// `RCI`: the other record's locator(s).
    pub rci: Segs<'s, 'a>,
}

/// Group 9: a non-air segment (hotel, car, rail).
#[derive(Debug)]
pub struct NonAir<'s, 'a> {
    /// `MSG`: the segment type.
    pub msg: Seg<'s, 'a>,
    /// `TVL`s describing it.
    pub tvl: Segs<'s, 'a>,
}

/// Group 10: a history transaction.
#[derive(Debug, Default)]
pub struct History<'s, 'a> {
    /// `ABI`: who made the change.
    pub abi: Option<Seg<'s, 'a>>,
    /// `DAT`: when.
    pub dat: Option<Seg<'s, 'a>>,
    /// Group 11.
    pub items: Vec<HistoryItem<'s, 'a>>,
}

/// Group 11 (with group 12): one item added or cancelled.
#[derive(Debug)]
pub struct HistoryItem<'s, 'a> {
    /// `SAC`: source and action.
    pub sac: Seg<'s, 'a>,
    /// The item: `TIF`, `SSR`, `IFT`, `TBD`, or `TVL` + `RPI`.
    pub segments: Segs<'s, 'a>,
}

/// Where the last segment was placed; decides where the next one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Header,
    Pnr,
    Traveller,
    Ticket,
    Payment,
    PnrPayment,
    Leg,
    Checkin,
    CheckinRecord,
    Split,
    NonAir,
    History,
    HistoryItem,
}

impl<'s, 'a> Pnr<'s, 'a> {
    fn new(src: Seg<'s, 'a>) -> Self {
        Pnr {
            src,
            end: src.end,
            rci: Segs::new(),
            ssr: Segs::new(),
            dat: Segs::new(),
            ift: Segs::new(),
            org: None,
            add: Segs::new(),
            ebd: Segs::new(),
            travellers: Vec::new(),
            payments: Vec::new(),
            legs: Vec::new(),
            splits: Vec::new(),
            non_air: Vec::new(),
            history: Vec::new(),
            lts: Segs::new(),
            unplaced: Segs::new(),
        }
    }
}

fn traveller<'s, 'a>(tif: Seg<'s, 'a>) -> Traveller<'s, 'a> {
    Traveller {
        tif,
        fti: Segs::new(),
        ift: Segs::new(),
        reference: None,
        ebd: Segs::new(),
        far: None,
        ssr: Segs::new(),
        add: Segs::new(),
        tickets: Vec::new(),
    }
}

fn leg<'s, 'a>(tvl: Seg<'s, 'a>) -> Leg<'s, 'a> {
    Leg {
        tvl,
        operating_tvl: None,
        tra: None,
        rpi: None,
        apd: None,
        ssr: Segs::new(),
        rci: Segs::new(),
        ift: Segs::new(),
        checkins: Vec::new(),
    }
}

/// A `TVL+++++972:M` that carries only a flight number: the operating half of a pre-14.1
/// code-share pair.
fn is_operating_only_tvl(seg: &Segment<'_>) -> bool {
    seg.get(0, 0).is_none() && seg.get(1, 0).is_none() && seg.get(2, 0).is_none() && seg.get(4, 0).is_some()
}

/// Parses the body of a PNRGOV message (the segments between UNH and UNT).
pub fn parse<'s, 'a: 's>(body: impl IntoIterator<Item = &'s Segment<'a>>) -> PnrgovMessage<'s, 'a> {
    let mut m = PnrgovMessage::default();
    let mut ctx = Ctx::Header;
    let mut prev_tag: &str = "";
    for seg in body {
        let tag = seg.tag.as_ref();
        if tag == "SRC" {
            m.pnrs.push(Pnr::new(seg));
            ctx = Ctx::Pnr;
            prev_tag = tag;
            continue;
        }
        let Some(pnr) = m.pnrs.last_mut() else {
            match tag {
                "MSG" if m.msg.is_none() => m.msg = Some(seg),
                "ORG" if m.originator.is_none() => m.originator = Some(seg),
                "TVL" if m.flight.is_none() => m.flight = Some(seg),
                "EQN" if m.eqn.is_none() => m.eqn = Some(seg),
                _ => {
                    m.diagnostics.push(Diagnostic::new(
                        seg.offset,
                        Severity::Warning,
                        "SEGMENT_BEFORE_FIRST_PNR",
                        format!(
                            "{} segment before the first SRC does not belong to the message header; kept unplaced",
                            tag_name(tag)
                        ),
                    ));
                    m.unplaced.push(seg);
                }
            }
            prev_tag = tag;
            continue;
        };
        pnr.end = seg.end;
        ctx = place(pnr, seg, ctx, prev_tag, &mut m.diagnostics);
        prev_tag = tag;
    }
    m
}

fn tag_name(tag: &str) -> String {
    // Tags come from input: show at most a few characters so a garbage tag cannot flood a log.
    let t: String = tag.chars().take(6).collect();
    format!("{t:?}")
}

/// A three-letter tag as one number, so that [`place`]'s dispatch on the tag is a few integer
/// comparisons rather than a string comparison per arm, for every segment (`u32::MAX`, which no
/// tag has, for a tag of another length).
fn tag_key(tag: &str) -> u32 {
    match tag.as_bytes() {
        &[a, b, c] => tags::key(&[a, b, c]),
        _ => u32::MAX,
    }
}

/// The tags [`place`] dispatches on, as [`tag_key`] numbers them.
mod tags {
    /// The bytes of a three-letter tag, first byte lowest.
    pub const fn key(tag: &[u8; 3]) -> u32 {
        tag[0] as u32 | (tag[1] as u32) << 8 | (tag[2] as u32) << 16
    }
    pub const ABI: u32 = key(b"ABI");
    pub const ADD: u32 = key(b"ADD");
    pub const APD: u32 = key(b"APD");
    pub const DAT: u32 = key(b"DAT");
    pub const EBD: u32 = key(b"EBD");
    pub const EQN: u32 = key(b"EQN");
    pub const FAR: u32 = key(b"FAR");
    pub const FOP: u32 = key(b"FOP");
    pub const FTI: u32 = key(b"FTI");
    pub const IFT: u32 = key(b"IFT");
    pub const LTS: u32 = key(b"LTS");
    pub const MON: u32 = key(b"MON");
    pub const MSG: u32 = key(b"MSG");
    pub const ORG: u32 = key(b"ORG");
    pub const PTK: u32 = key(b"PTK");
    pub const RCI: u32 = key(b"RCI");
    pub const REF: u32 = key(b"REF");
    pub const RPI: u32 = key(b"RPI");
    pub const SAC: u32 = key(b"SAC");
    pub const SSD: u32 = key(b"SSD");
    pub const SSR: u32 = key(b"SSR");
    pub const TBD: u32 = key(b"TBD");
    pub const TIF: u32 = key(b"TIF");
    pub const TKT: u32 = key(b"TKT");
    pub const TRA: u32 = key(b"TRA");
    pub const TRI: u32 = key(b"TRI");
    pub const TVL: u32 = key(b"TVL");
    pub const TXD: u32 = key(b"TXD");
}

/// Places one segment inside the current PNR and returns the new context.
fn place<'s, 'a>(
    pnr: &mut self::Pnr<'s, 'a>,
    seg: Seg<'s, 'a>,
    ctx: Ctx,
    prev_tag: &str,
    diags: &mut Vec<Diagnostic>,
) -> Ctx {
    use Ctx::*;
    let tag = seg.tag.as_ref();
    let in_leg = matches!(ctx, Leg | Checkin | CheckinRecord);
    let in_traveller = matches!(ctx, Traveller | Ticket | Payment);
    let mut unplaced = |pnr: &mut self::Pnr<'s, 'a>, why: &str| {
        diags.push(Diagnostic::new(
            seg.offset,
            Severity::Warning,
            "SEGMENT_UNPLACED",
            format!("{} segment {why}; kept unplaced", tag_name(tag)),
        ));
        pnr.unplaced.push(seg);
        ctx
    };
    match tag_key(tag) {
        tags::RCI => match ctx {
            Split => {
                if let Some(s) = pnr.splits.last_mut() {
                    s.rci.push(seg);
                }
                Split
            }
            _ if in_leg => {
                if let Some(l) = pnr.legs.last_mut() {
                    l.rci.push(seg);
                }
                Leg
            }
            _ => {
                pnr.rci.push(seg);
                ctx
            }
        },
        tags::SSR => {
            if ctx == HistoryItem {
                push_history_item(pnr, seg);
                HistoryItem
            } else if in_leg {
                if let Some(l) = pnr.legs.last_mut() {
                    l.ssr.push(seg);
                }
                ctx
            } else if in_traveller {
                if let Some(t) = pnr.travellers.last_mut() {
                    t.ssr.push(seg);
                }
                ctx
            } else {
                pnr.ssr.push(seg);
                ctx
            }
        }
        tags::DAT => match ctx {
            Pnr | Split | NonAir | PnrPayment => {
                pnr.dat.push(seg);
                ctx
            }
            Traveller => {
                // A ticket date with no TKT before it belongs to the PNR.
                pnr.dat.push(seg);
                ctx
            }
            Ticket | Payment => {
                match pnr.travellers.last_mut().and_then(|t| t.tickets.last_mut()) {
                    Some(t) => t.dat.push(seg),
                    None => pnr.dat.push(seg),
                }
                ctx
            }
            Leg | Checkin | CheckinRecord => {
                if let Some(l) = pnr.legs.last_mut() {
                    l.checkins.push(CheckinGroup { dat: Some(seg), ..Default::default() });
                }
                Checkin
            }
            History => {
                let h = pnr.history.last_mut();
                match h {
                    Some(h) if h.dat.is_none() => h.dat = Some(seg),
                    _ => pnr.history.push(self::History { dat: Some(seg), ..Default::default() }),
                }
                History
            }
            HistoryItem => {
                pnr.history.push(self::History { dat: Some(seg), ..Default::default() });
                History
            }
            Header => unplaced(pnr, "out of place"),
        },
        tags::ORG => match ctx {
            Checkin | Leg | CheckinRecord => {
                if let Some(l) = pnr.legs.last_mut() {
                    match l.checkins.last_mut() {
                        Some(g) if g.org.is_none() && g.records.is_empty() => g.org = Some(seg),
                        _ => l.checkins.push(CheckinGroup { org: Some(seg), ..Default::default() }),
                    }
                }
                Checkin
            }
            _ if pnr.org.is_none() => {
                pnr.org = Some(seg);
                ctx
            }
            _ => unplaced(pnr, "repeats the booking originator"),
        },
        tags::IFT => {
            match ctx {
                Payment => push_payment_part(pnr, seg, true),
                PnrPayment => match pnr.payments.last_mut() {
                    Some(p) => p.ift.push(seg),
                    None => pnr.ift.push(seg),
                },
                Ticket => match pnr.travellers.last_mut().and_then(|t| t.tickets.last_mut()) {
                    Some(t) => t.ift.push(seg),
                    None => pnr.ift.push(seg),
                },
                HistoryItem => push_history_item(pnr, seg),
                Leg | Checkin | CheckinRecord => {
                    if let Some(l) = pnr.legs.last_mut() {
                        l.ift.push(seg);
                    }
                }
                Traveller => {
                    if let Some(t) = pnr.travellers.last_mut() {
                        t.ift.push(seg);
                    }
                }
                _ => pnr.ift.push(seg),
            }
            ctx
        }
        tags::ADD => {
            match ctx {
                Payment => push_payment_part(pnr, seg, false),
                PnrPayment => match pnr.payments.last_mut() {
                    Some(p) => p.add.push(seg),
                    None => pnr.add.push(seg),
                },
                Traveller | Ticket => {
                    if let Some(t) = pnr.travellers.last_mut() {
                        t.add.push(seg);
                    }
                }
                _ => pnr.add.push(seg),
            }
            ctx
        }
        tags::EBD => {
            match pnr.travellers.last_mut() {
                Some(t) if in_traveller => t.ebd.push(seg),
                _ => pnr.ebd.push(seg),
            }
            ctx
        }
        tags::TIF => match prev_tag {
            "TRI" => {
                if let Some(r) = last_record(pnr) {
                    r.tif = Some(seg);
                }
                CheckinRecord
            }
            "SAC" => {
                push_history_item(pnr, seg);
                HistoryItem
            }
            _ => {
                if !matches!(ctx, Pnr | Traveller | Ticket | Payment | PnrPayment) {
                    diags.push(Diagnostic::new(
                        seg.offset,
                        Severity::Info,
                        "TRAVELLER_OUT_OF_ORDER",
                        "TIF after the itinerary or history of the PNR; read as a traveller of this PNR",
                    ));
                }
                pnr.travellers.push(traveller(seg));
                Traveller
            }
        },
        tags::FTI | tags::REF | tags::FAR => match pnr.travellers.last_mut() {
            Some(t) if in_traveller || !matches!(ctx, Leg | Checkin | CheckinRecord | HistoryItem) => {
                match tag {
                    "FTI" => t.fti.push(seg),
                    "REF" => t.reference = Some(seg),
                    _ => t.far = Some(seg),
                }
                ctx
            }
            _ => unplaced(pnr, "outside a traveller"),
        },
        tags::TKT => match pnr.travellers.last_mut() {
            Some(t) => {
                t.tickets.push(self::Ticket { tkt: Some(seg), ..Default::default() });
                Ticket
            }
            None => unplaced(pnr, "before any traveller"),
        },
        tags::MON | tags::PTK | tags::TXD => match pnr.travellers.last_mut().and_then(|t| t.tickets.last_mut()) {
            Some(t) if matches!(ctx, Ticket | Payment) => {
                match tag {
                    "MON" => t.mon = Some(seg),
                    "PTK" => t.ptk = Some(seg),
                    _ => t.txd.push(seg),
                }
                Ticket
            }
            _ => unplaced(pnr, "outside a ticket"),
        },
        tags::FOP => match ctx {
            Ticket | Payment | Traveller => match pnr.travellers.last_mut() {
                Some(t) => {
                    if t.tickets.is_empty() || ctx == Traveller {
                        t.tickets.push(self::Ticket::default());
                    }
                    if let Some(tk) = t.tickets.last_mut() {
                        tk.payments.push(self::Payment { fop: seg, ift: Segs::new(), add: Segs::new() });
                    }
                    Payment
                }
                None => {
                    pnr.payments.push(self::Payment { fop: seg, ift: Segs::new(), add: Segs::new() });
                    PnrPayment
                }
            },
            _ => {
                pnr.payments.push(self::Payment { fop: seg, ift: Segs::new(), add: Segs::new() });
                PnrPayment
            }
        },
        tags::TVL => match ctx {
            HistoryItem => {
                push_history_item(pnr, seg);
                HistoryItem
            }
            NonAir => {
                if let Some(n) = pnr.non_air.last_mut() {
                    n.tvl.push(seg);
                }
                NonAir
            }
            _ => {
                if is_operating_only_tvl(seg)
                    && let Some(l) = pnr.legs.last_mut().filter(|_| in_leg)
                    && l.operating_tvl.is_none()
                {
                    l.operating_tvl = Some(seg);
                    return Leg;
                }
                pnr.legs.push(leg(seg));
                Leg
            }
        },
        tags::TRA | tags::RPI | tags::APD => {
            if ctx == HistoryItem && tag == "RPI" {
                push_history_item(pnr, seg);
                return HistoryItem;
            }
            match pnr.legs.last_mut() {
                Some(l) if in_leg => {
                    match tag {
                        "TRA" => l.tra = Some(seg),
                        "RPI" => l.rpi = Some(seg),
                        _ => l.apd = Some(seg),
                    }
                    Leg
                }
                _ => unplaced(pnr, "outside an itinerary segment"),
            }
        }
        tags::TRI => match pnr.legs.last_mut() {
            Some(l) if in_leg => {
                if l.checkins.is_empty() || ctx == Leg {
                    l.checkins.push(CheckinGroup::default());
                }
                if let Some(g) = l.checkins.last_mut() {
                    g.records.push(self::CheckinRecord { tri: Some(seg), ..Default::default() });
                }
                CheckinRecord
            }
            _ => unplaced(pnr, "outside an itinerary segment"),
        },
        tags::SSD | tags::TBD => {
            if ctx == HistoryItem && tag == "TBD" {
                push_history_item(pnr, seg);
                return HistoryItem;
            }
            match pnr.legs.last_mut() {
                Some(l) if in_leg => {
                    if l.checkins.is_empty() {
                        l.checkins.push(CheckinGroup::default());
                    }
                    if let Some(g) = l.checkins.last_mut() {
                        if g.records.is_empty() || (tag == "SSD" && g.records.last().is_some_and(|r| r.ssd.is_some())) {
                            g.records.push(self::CheckinRecord::default());
                        }
                        if let Some(r) = g.records.last_mut() {
                            if tag == "SSD" {
                                r.ssd = Some(seg);
                            } else {
                                r.tbd.push(seg);
                            }
                        }
                    }
                    CheckinRecord
                }
                _ => unplaced(pnr, "outside a check-in"),
            }
        }
        tags::EQN => {
            pnr.splits.push(self::Split { eqn: seg, rci: Segs::new() });
            Split
        }
        tags::MSG => {
            pnr.non_air.push(self::NonAir { msg: seg, tvl: Segs::new() });
            NonAir
        }
        tags::ABI => {
            pnr.history.push(self::History { abi: Some(seg), ..Default::default() });
            History
        }
        tags::SAC => {
            if pnr.history.is_empty() {
                pnr.history.push(self::History::default());
            }
            if let Some(h) = pnr.history.last_mut() {
                h.items.push(self::HistoryItem { sac: seg, segments: Segs::new() });
            }
            HistoryItem
        }
        tags::LTS => {
            pnr.lts.push(seg);
            ctx
        }
        _ => unplaced(pnr, "is not part of the PNRGOV grammar"),
    }
}

fn last_record<'p, 's, 'a>(pnr: &'p mut Pnr<'s, 'a>) -> Option<&'p mut CheckinRecord<'s, 'a>> {
    pnr.legs.last_mut()?.checkins.last_mut()?.records.last_mut()
}

fn push_history_item<'s, 'a>(pnr: &mut Pnr<'s, 'a>, seg: Seg<'s, 'a>) {
    if let Some(item) = pnr.history.last_mut().and_then(|h| h.items.last_mut()) {
        item.segments.push(seg);
    }
}

fn push_payment_part<'s, 'a>(pnr: &mut Pnr<'s, 'a>, seg: Seg<'s, 'a>, is_ift: bool) {
    let payment = pnr.travellers.last_mut().and_then(|t| t.tickets.last_mut()).and_then(|t| t.payments.last_mut());
    match payment {
        Some(p) if is_ift => p.ift.push(seg),
        Some(p) => p.add.push(seg),
        None if is_ift => pnr.ift.push(seg),
        None => pnr.add.push(seg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edifact::lexer::Lexer;

    fn segs(text: &str) -> Vec<Segment<'_>> {
        Lexer::new(text.as_bytes()).collect()
    }

    #[test]
    fn tags_are_numbered_by_their_three_bytes_and_other_lengths_by_none() {
        assert_eq!(tag_key("TIF"), tags::TIF);
        assert_eq!(tag_key("TIF"), u32::from_le_bytes([b'T', b'I', b'F', 0]));
        assert_ne!(tag_key("TIF"), tag_key("FIT"));
        assert_ne!(tag_key("tif"), tags::TIF);
        for other in ["", "TI", "TIFF", "\u{e9}"] {
            assert_eq!(tag_key(other), u32::MAX, "{other:?}");
        }
        // A three-byte tag beyond ASCII is a number no listed tag has.
        assert_ne!(tag_key("\u{e9}A"), u32::MAX);
    }

    #[test]
    fn groups_are_nested_by_context() {
        let body = segs(
            "MSG+:22'TVL+121210:0915+LHR+JFK+DL+324'EQN+1'SRC'RCI+DL:MFN4TI'TIF+SMITH+JOHNMR:A:1'\
             SSR+DOCS:HK::DL:::::/P/GBR/1/GBR/12JUL64/M/23AUG19/SMITH/JOHN'TKT+0062120234533:T:1'\
             FOP+CC:::VI:XXXXXXXX1186:0211'IFT+4:43+TIMOTHY SIMS'TVL+121210:0915::1230+LHR+JFK+DL+324:B'\
             RPI+1+HK'DAT+2:111210:0915'TRI++108:::1'TIF+SMITH+JOHNMR:A:1'SSD+15A++++Y'TBD++1:20:700'\
             ABI+1'DAT+ZT:071210:1010'SAC+++X'TIF+SMITH+JOHNMR:A:1'LTS+0/O/NM'",
        );
        let m = parse(&body);
        assert!(m.flight.is_some());
        assert_eq!(m.pnrs.len(), 1);
        let p = &m.pnrs[0];
        assert_eq!(p.travellers.len(), 1, "check-in and history TIFs are not travellers");
        let t = &p.travellers[0];
        assert_eq!(t.ssr.len(), 1);
        assert_eq!(t.tickets.len(), 1);
        assert_eq!(t.tickets[0].payments[0].ift.len(), 1);
        assert_eq!(p.legs.len(), 1);
        let rec = &p.legs[0].checkins[0].records[0];
        assert_eq!(rec.ssd.and_then(|s| s.get(0, 0)), Some("15A"));
        assert_eq!(rec.tbd.len(), 1);
        assert_eq!(p.history[0].items[0].segments.len(), 1);
        assert_eq!(p.lts.len(), 1);
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    }

    #[test]
    fn codeshare_operating_tvl_pairs_with_the_marketing_leg() {
        let body = segs("SRC'TVL+010410:2235:020410:1200+ATL+AMS+DL:KL+9362:K'TVL+++++972:M'");
        let m = parse(&body);
        let l = &m.pnrs[0].legs;
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].operating_tvl.and_then(|s| s.get(4, 0)), Some("972"));
    }

    #[test]
    fn unknown_segment_is_kept_with_a_diagnostic() {
        let body = segs("SRC'XYZ+1'TIF+A+B:A'");
        let m = parse(&body);
        assert_eq!(m.pnrs[0].unplaced.len(), 1);
        assert_eq!(m.pnrs[0].travellers.len(), 1);
        assert_eq!(m.diagnostics[0].code, "SEGMENT_UNPLACED");
    }
}
