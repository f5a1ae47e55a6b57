//! What the generator knows about a booking before it is written as EDIFACT: the PNR with every
//! event that changes it over time (creation, ticketing, documents, history, check-in), so that
//! each push renders the PNR as it stood at that moment.

use chrono::{NaiveDate, NaiveDateTime};

/// A flight of the schedule: one pushed flight, inbound to or outbound from the home country.
#[derive(Debug, Clone)]
pub struct Flight {
    /// Index in the schedule (also the random stream of its background PNRs).
    pub index: usize,
    /// Operating carrier.
    pub carrier: &'static str,
    /// Flight number.
    pub number: u32,
    /// Departure airport.
    pub from: &'static str,
    /// Arrival airport.
    pub to: &'static str,
    /// Departure, UTC.
    pub dep_utc: NaiveDateTime,
    /// Arrival, UTC.
    pub arr_utc: NaiveDateTime,
    /// Seats.
    pub seats: u32,
    /// PNRs booked on it (background and planted).
    pub pnrs: usize,
    /// Route index in `world::ROUTES`.
    pub route: usize,
    /// True when the flight arrives in the home country.
    pub inbound: bool,
}

/// Passenger type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaxType {
    /// 12 or older.
    Adult,
    /// 2 to 11.
    Child,
    /// Under 2, on an adult's lap.
    Infant,
}

/// A travel document.
#[derive(Debug, Clone)]
pub struct Doc {
    /// `P` passport, `I` identity card.
    pub kind: &'static str,
    /// Issuing state (alpha-2).
    pub issuer: String,
    /// Number.
    pub number: String,
    /// Expiry date.
    pub expiry: NaiveDate,
}

/// One traveller of a PNR.
#[derive(Debug, Clone)]
pub struct Person {
    /// Surname as booked.
    pub surname: String,
    /// Given name as booked, without title.
    pub given: String,
    /// Title written after the given name (`MR`, `MRS`, `MSTR`, …).
    pub title: Option<&'static str>,
    /// `M` or `F`.
    pub gender: char,
    /// Date of birth.
    pub dob: NaiveDate,
    /// Passenger type.
    pub pax: PaxType,
    /// Nationality (alpha-2).
    pub nationality: String,
    /// Country of residence (alpha-2).
    pub residence: String,
    /// Document, when the traveller gives one.
    pub doc: Option<Doc>,
    /// Frequent-flyer programme and number.
    pub ff: Option<(String, String)>,
    /// Unaccompanied-minor service booked.
    pub umnr: bool,
    /// Checks in for the pushed flight.
    pub checks_in: bool,
    /// Checked bags and their total weight (kg).
    pub bags: (u32, u32),
    /// Bag tag destination when it differs from the journey's destination (short-checked bags).
    pub bag_tag_to: Option<String>,
    /// Planted scenario this traveller belongs to.
    pub scenario: Option<&'static str>,
    /// What check-in reads off the document when it is not what was booked (API).
    pub api: ApiDiff,
}

/// Differences between the booked traveller and the person the airline lists in API.
#[derive(Debug, Clone, Default)]
pub struct ApiDiff {
    /// Another given name.
    pub given: Option<String>,
    /// Another date of birth.
    pub dob: Option<NaiveDate>,
    /// Another document number.
    pub doc_number: Option<String>,
    /// Debarks here rather than at the booked destination.
    pub debark: Option<String>,
}

/// An air segment of the itinerary.
#[derive(Debug, Clone)]
pub struct Leg {
    /// Marketing and operating carrier.
    pub carrier: &'static str,
    /// Flight number.
    pub number: u32,
    /// Board point.
    pub from: String,
    /// Off point.
    pub to: String,
    /// Departure, UTC.
    pub dep_utc: NaiveDateTime,
    /// Arrival, UTC.
    pub arr_utc: NaiveDateTime,
    /// Booking class.
    pub class: char,
    /// Which of the traveller's tickets covers this leg (0 or 1).
    pub ticket: usize,
}

/// Form of payment.
#[derive(Debug, Clone, PartialEq)]
pub enum Fop {
    /// Cash.
    Cash,
    /// Payment card: vendor, 16-digit number, expiry MMYY.
    Card(&'static str, String, String),
    /// Invoice to an agency or company account (`MS`).
    Invoice,
}

/// Who sold the booking (`ORG` of group 1).
#[derive(Debug, Clone)]
pub struct Seller {
    /// Reservation system.
    pub system: &'static str,
    /// City or airport of the selling office.
    pub city: String,
    /// Agency IATA number (travel agents only).
    pub iata: Option<String>,
    /// Office (pseudo-city) code.
    pub office: String,
    /// `T` travel agent, `A` airline office or airport desk, `E` airline web site.
    pub agent_type: &'static str,
    /// Country of the sale.
    pub country: String,
    /// Currency of the sale.
    pub currency: &'static str,
    /// Agency phone, written as a `CTCT` contact.
    pub phone: Option<String>,
}

/// A history entry.
#[derive(Debug, Clone)]
pub enum History {
    /// A name replaced by another (SAC X then SAC A, TIF each).
    NameChange { at: NaiveDateTime, old_surname: String, old_given: String, index: usize },
    /// A segment booked and cancelled (TVL with RPI XX).
    SegmentCancelled { at: NaiveDateTime, leg: Leg },
    /// A segment rebooked (cancelled then added again).
    DateChange { at: NaiveDateTime, leg: Leg },
}

impl History {
    /// When the change was made.
    pub fn at(&self) -> NaiveDateTime {
        match self {
            History::NameChange { at, .. } | History::SegmentCancelled { at, .. } | History::DateChange { at, .. } => {
                *at
            }
        }
    }
}

/// A booking.
#[derive(Debug, Clone)]
pub struct Pnr {
    /// Record locator.
    pub locator: String,
    /// Created, UTC.
    pub created: NaiveDateTime,
    /// Seller.
    pub seller: Seller,
    /// Travellers; an infant follows the adult it sits with.
    pub people: Vec<Person>,
    /// For each infant, the index of its adult.
    pub infant_of: Vec<Option<usize>>,
    /// Group name, for group bookings.
    pub group: Option<String>,
    /// Air segments in order.
    pub legs: Vec<Leg>,
    /// Index of the pushed flight in `legs`.
    pub pushed: usize,
    /// Booking phone (international digits).
    pub phone: Option<String>,
    /// Booking e-mail.
    pub email: Option<String>,
    /// Form of payment.
    pub fop: Fop,
    /// Payer who is not travelling: name and phone.
    pub payer: Option<(String, String)>,
    /// Total fare per traveller in EUR.
    pub fare: u32,
    /// Ticketed, UTC (None: not ticketed before the flight closes).
    pub ticketed: Option<NaiveDateTime>,
    /// Documents entered, UTC.
    pub docs_at: Option<NaiveDateTime>,
    /// History entries.
    pub history: Vec<History>,
    /// Index used for ticket and bag-tag numbers.
    pub serial: u64,
}

impl Pnr {
    /// Number of tickets per traveller (separate tickets for one journey give two).
    pub fn tickets(&self) -> usize {
        self.legs.iter().map(|l| l.ticket + 1).max().unwrap_or(1)
    }

    /// The moments the PNR changed, for update pushes.
    pub fn changes(&self) -> impl Iterator<Item = NaiveDateTime> + '_ {
        std::iter::once(self.created)
            .chain(self.ticketed)
            .chain(self.docs_at)
            .chain(self.history.iter().map(History::at))
    }

    /// The last change at or before `t`.
    pub fn last_change(&self, t: NaiveDateTime) -> NaiveDateTime {
        self.changes().filter(|c| *c <= t).max().unwrap_or(self.created)
    }

    /// Where the traveller's bags are tagged to: the end of the outbound journey.
    pub fn bag_destination(&self) -> &str {
        let out = self.outbound_end();
        &self.legs[out].to
    }

    /// Index of the last leg before the longest stop (the turnaround), or the last leg.
    pub fn outbound_end(&self) -> usize {
        let mut best = (self.legs.len() - 1, chrono::TimeDelta::zero());
        for i in 0..self.legs.len().saturating_sub(1) {
            let gap = self.legs[i + 1].dep_utc - self.legs[i].arr_utc;
            if gap > chrono::TimeDelta::hours(24) && gap > best.1 {
                best = (i, gap);
            }
        }
        if self.pushed > best.0 { self.legs.len() - 1 } else { best.0 }
    }
}
