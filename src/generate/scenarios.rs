//! Planted scenarios and their decoys.
//!
//! Each scenario is a story from the indicator table of `reference/indicators-and-law.md` §5,
//! told through booking data only: the generator never writes a "risk" field. A scenario starts
//! from an ordinary booking on a suitable flight and changes only what its story needs, with
//! some randomness, so that not every courier shows every sign. Decoys are honest travellers who
//! share one sign with a scenario (cash, a late booking, a child of another surname, a company
//! card, a tour group, a one-way move), so that no single feature identifies a scenario.

use chrono::{NaiveDate, TimeDelta};

use super::book::{self, Ctx, Trip};
use super::model::{Flight, Fop, Leg, PaxType, Person, Pnr, Seller};
use super::rng::Rng;
use super::world::{self, Geo, HOME_COUNTRY};

/// A scenario kind: id, the indicators it draws on, and whether it is a decoy.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Id written to `labels.parquet`.
    pub id: &'static str,
    /// What it stands for (for `generate --help` and the README).
    pub story: &'static str,
    /// Decoy (honest) or planted (to be found).
    pub decoy: bool,
}

/// Every kind, planted first.
pub const KINDS: &[Kind] = &[
    Kind {
        id: "courier_cash_one_way",
        story: "drug courier: cash, one-way, booked at the last minute from a source country, little or no luggage (ind. 1-5, 21, 27)",
        decoy: false,
    },
    Kind {
        id: "courier_short_stay",
        story: "drug courier: a return trip to a source country with a stay of two or three days, paid cash or by someone else (ind. 2, 6, 20, 21)",
        decoy: false,
    },
    Kind {
        id: "smuggling_group_shared_contact",
        story: "migrant smuggling: unrelated travellers on separate PNRs sharing one phone, e-mail and card, through a transit hub, recent passports (ind. 8, 9, 12, 15, 22)",
        decoy: false,
    },
    Kind {
        id: "group_unrelated_one_pnr",
        story: "migrant smuggling: one PNR of unrelated travellers booked in a transit country, one-way, recent passports (ind. 11, 12, 15)",
        decoy: false,
    },
    Kind {
        id: "minor_unrelated_adult",
        story: "child trafficking: minors with an adult of another surname, one-way, recent passports (ind. 13, 15)",
        decoy: false,
    },
    Kind {
        id: "minor_alone_undeclared",
        story: "child trafficking: a child under 16 alone without unaccompanied-minor service, paid by someone not travelling (ind. 6, 14)",
        decoy: false,
    },
    Kind {
        id: "throwaway_onward",
        story: "migrant smuggling: one-way arrival with a separate onward ticket to a third country, long connection (ind. 22, 23, 24)",
        decoy: false,
    },
    Kind {
        id: "escort_repeat",
        story: "migrant smuggling: one escort on several flights, each time paying for and sharing a phone with new travellers (ind. 8, 9, 31)",
        decoy: false,
    },
    Kind {
        id: "circuitous_separate_tickets",
        story: "drug courier: from a source country by a roundabout route on separate tickets and carriers, long dwell (ind. 21, 22, 23)",
        decoy: false,
    },
    Kind {
        id: "document_fraud_third_party",
        story: "document fraud: passport of another state, recently issued, paid by a third party, no contact, booked late (ind. 3, 6, 7, 15, 16)",
        decoy: false,
    },
    Kind {
        id: "backpack_long_stay",
        story: "migrant smuggling: weeks-long 'tourist' trip with no checked bag, throwaway e-mail, booked in a third country (ind. 11, 15, 27, 34)",
        decoy: false,
    },
    Kind {
        id: "impostor_lookalike",
        story: "impostor: the ticket is flown by a look-alike of the same surname; API at check-in shows another given name, birth date and passport (ind. 17, 18)",
        decoy: false,
    },
    Kind { id: "decoy_honest_cash", story: "honest cash payer on a return trip booked weeks ahead", decoy: true },
    Kind {
        id: "decoy_last_minute",
        story: "honest last-minute business traveller with a frequent-flyer number",
        decoy: true,
    },
    Kind { id: "decoy_family_other_surname", story: "family whose children carry another surname", decoy: true },
    Kind {
        id: "decoy_one_way_mover",
        story: "student or expatriate moving abroad: one-way, new passport, heavy bags",
        decoy: true,
    },
    Kind {
        id: "decoy_corporate_card",
        story: "colleagues on separate PNRs paid by one company card, frequent flyers",
        decoy: true,
    },
    Kind {
        id: "decoy_self_connect",
        story: "budget traveller with a separate onward ticket to another country",
        decoy: true,
    },
    Kind {
        id: "decoy_renewed_passport",
        story: "honest traveller who renewed the passport after booking: API shows the new number",
        decoy: true,
    },
];

/// Airports of cocaine source countries among the routes and feeders.
fn is_source_route(geo: &Geo, f: &Flight) -> bool {
    let foreign = if f.inbound { f.from } else { f.to };
    matches!(geo.country(foreign), "CO" | "BR" | "VE" | "EC" | "PE" | "BO")
}

fn is_transit_hub(f: &Flight) -> bool {
    matches!(if f.inbound { f.from } else { f.to }, "IST" | "DXB" | "DOH" | "CMN" | "ADD" | "ALG" | "DSS")
}

fn long_haul(geo: &Geo, f: &Flight) -> bool {
    geo.km(f.from, f.to) >= 4000.0
}

/// Whether a flight suits a kind (only its first flight; the escort picks more).
pub fn suits(kind: &str, geo: &Geo, f: &Flight) -> bool {
    match kind {
        "courier_cash_one_way" | "courier_short_stay" => f.inbound && is_source_route(geo, f),
        "smuggling_group_shared_contact" | "group_unrelated_one_pnr" | "document_fraud_third_party" => {
            f.inbound && is_transit_hub(f)
        }
        "minor_unrelated_adult" | "minor_alone_undeclared" | "backpack_long_stay" | "escort_repeat" => {
            f.inbound && (is_transit_hub(f) || long_haul(geo, f))
        }
        "throwaway_onward" => f.inbound && !world::ROUTES[f.route].feeders.is_empty() && !is_source_route(geo, f),
        "circuitous_separate_tickets" => {
            f.inbound
                && !is_source_route(geo, f)
                && matches!(f.from, "LIS" | "CDG" | "AMS" | "PTY" | "MEX" | "CMN" | "SDQ" | "MIA" | "FRA")
        }
        "decoy_honest_cash" | "decoy_last_minute" | "decoy_one_way_mover" => long_haul(geo, f),
        _ => true,
    }
}

/// What a scenario needs from the caller to build its bookings.
pub struct Planter<'a> {
    /// Geography.
    pub geo: &'a Geo,
    /// Random stream of this instance.
    pub rng: Rng,
    /// Next serial number for a planted PNR.
    pub serial: &'a mut u64,
}

impl Planter<'_> {
    fn base(&mut self, f: &Flight) -> Pnr {
        let ctx = Ctx { geo: self.geo, flight: f };
        *self.serial += 1;
        let mut p = book::background(&mut self.rng, &ctx, *self.serial);
        p.group = None;
        p.history.clear();
        p
    }

    fn adult(&mut self, country: &str, on: NaiveDate, age: (i64, i64)) -> Person {
        let mut p = book::person(&mut self.rng, country, PaxType::Adult, on, None);
        let a = self.rng.range(age.0, age.1);
        p.dob = book::birth_date(&mut self.rng, on, a);
        p.title = Some(if p.gender == 'M' { "MR" } else { "MS" });
        p
    }

    /// A document issued some time in its validity, replaced with probability `recent` by a
    /// passport issued `days` ago.
    fn passport(&mut self, p: &mut Person, on: NaiveDate, recent: f64, days: (i64, i64)) {
        p.doc = Some(book::usual_document(&mut self.rng, p, on, false));
        if self.rng.chance(recent) {
            self.recent_passport(p, on, days);
        }
    }

    fn recent_passport(&mut self, p: &mut Person, on: NaiveDate, days: (i64, i64)) {
        let d = self.rng.range(days.0, days.1);
        p.doc = Some(book::document(&mut self.rng, p, on, d, "P"));
    }

    fn one_way(&mut self, pnr: &mut Pnr, f: &Flight, before: &[String], after: &[String]) {
        let ctx = Ctx { geo: self.geo, flight: f };
        let (legs, pushed) = book::itinerary(&mut self.rng, &ctx, before, after, Trip::OneWay, 0, false);
        pnr.legs = legs;
        pnr.pushed = pushed;
    }

    fn round_trip(&mut self, pnr: &mut Pnr, f: &Flight, stay_hours: i64, pushed_on_return: bool) {
        let ctx = Ctx { geo: self.geo, flight: f };
        let (legs, pushed) = book::itinerary(&mut self.rng, &ctx, &[], &[], Trip::Return, stay_hours, pushed_on_return);
        pnr.legs = legs;
        pnr.pushed = pushed;
    }

    fn late(&mut self, pnr: &mut Pnr, f: &Flight, hours: (i64, i64)) {
        pnr.created = f.dep_utc - TimeDelta::minutes(self.rng.range(hours.0 * 60, hours.1 * 60));
        pnr.ticketed =
            Some((pnr.created + TimeDelta::minutes(self.rng.range(5, 90))).min(f.dep_utc - TimeDelta::minutes(45)));
        pnr.docs_at = Some(pnr.created);
    }

    fn solo(&mut self, pnr: &mut Pnr, p: Person) {
        self.set_people(pnr, vec![p]);
    }

    fn set_people(&mut self, pnr: &mut Pnr, people: Vec<Person>) {
        pnr.infant_of = vec![None; people.len()];
        pnr.people = people;
    }

    /// A first-time traveller of `country`: no frequent-flyer record, no bag with probability
    /// `no_bag` (else one of `kg` kilograms), a passport issued in the last 90 days with
    /// probability `recent`.
    fn first_timer(
        &mut self,
        country: &str,
        on: NaiveDate,
        age: (i64, i64),
        no_bag: f64,
        kg: (i64, i64),
        recent: f64,
    ) -> Person {
        let mut p = self.adult(country, on, age);
        p.ff = None;
        p.bags = if self.rng.chance(no_bag) { (0, 0) } else { (1, self.rng.range(kg.0, kg.1) as u32) };
        if self.rng.chance(recent) {
            self.recent_passport(&mut p, on, (10, 90));
        } else {
            p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
        }
        p
    }

    /// A feeder airport of the flight's route in one of `countries` (any feeder when none is),
    /// and the country travellers from there live in (the flight's origin country without one).
    fn feeder_of(&mut self, f: &Flight, countries: &[&str]) -> (Option<String>, String) {
        let feeders = world::ROUTES[f.route].feeders;
        let fitting: Vec<&str> = feeders.iter().copied().filter(|a| countries.contains(&self.geo.country(a))).collect();
        let airport = if fitting.is_empty() {
            feeders.first().map(|s| s.to_string())
        } else {
            Some((*self.rng.pick(&fitting)).to_string())
        };
        let country = self.geo.country(airport.as_deref().unwrap_or(f.from)).to_string();
        (airport, country)
    }

    /// Builds one instance of `kind` on `flights` (the first is the main flight; the escort uses
    /// the others). Every traveller it returns is tagged with the kind.
    pub fn plant(&mut self, kind: &'static str, flights: &[&Flight]) -> Vec<(usize, Pnr)> {
        let f = flights[0];
        let on = f.dep_utc.date();
        let foreign_country = self.geo.country(f.from).to_string();
        let mut out: Vec<(usize, Pnr)> = Vec::new();
        match kind {
            "courier_cash_one_way" => {
                let mut pnr = self.base(f);
                let mut p = self.adult(&foreign_country, on, (19, 45));
                p.ff = None;
                p.bags = if self.rng.chance(0.7) { (0, 0) } else { (1, self.rng.range(6, 12) as u32) };
                if self.rng.chance(0.5) {
                    self.recent_passport(&mut p, on, (10, 120));
                } else {
                    p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                }
                self.solo(&mut pnr, p);
                self.one_way(&mut pnr, f, &[], &[]);
                self.late(&mut pnr, f, (5, 40));
                pnr.fop = Fop::Cash;
                pnr.payer = None;
                pnr.seller = if self.rng.chance(0.5) {
                    book::airline_office(f.carrier, f.from, &foreign_country, "A")
                } else {
                    book::agency(&mut self.rng, &foreign_country, f.from)
                };
                out.push((f.index, pnr));
            }
            "courier_short_stay" => {
                let mut pnr = self.base(f);
                let mut p = self.adult(HOME_COUNTRY, on, (20, 50));
                if self.rng.chance(0.3) {
                    p.nationality = foreign_country.clone();
                }
                p.ff = None;
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                p.bags = if self.rng.chance(0.5) { (0, 0) } else { (1, self.rng.range(18, 30) as u32) };
                self.solo(&mut pnr, p);
                let stay = self.rng.range(40, 72);
                self.round_trip(&mut pnr, f, stay, true);
                let first_dep = pnr.legs[0].dep_utc;
                pnr.created = first_dep - TimeDelta::hours(self.rng.range(20, 120));
                pnr.ticketed = Some(pnr.created + TimeDelta::minutes(self.rng.range(10, 240)));
                pnr.docs_at = Some(pnr.created);
                if self.rng.chance(0.65) {
                    pnr.fop = Fop::Cash;
                    pnr.payer = None;
                } else {
                    pnr.fop = book::card(&mut self.rng);
                    let payer = self.adult(HOME_COUNTRY, on, (30, 60));
                    pnr.payer =
                        Some((format!("{}/{}", payer.surname, payer.given), book::phone(&mut self.rng, HOME_COUNTRY)));
                }
                pnr.seller = book::agency(&mut self.rng, HOME_COUNTRY, "MAD");
                out.push((f.index, pnr));
            }
            "smuggling_group_shared_contact" => {
                let (origin, origin_country) =
                    self.feeder_of(f, &["IR", "AF", "SY", "IQ", "PK", "BD", "NG", "GH", "LK", "NP"]);
                let facilitator_phone = book::phone(&mut self.rng, &foreign_country);
                let facilitator_mail = format!(
                    "{}{}@{}",
                    self.rng.pick(&["travel", "viajes", "service", "info"]),
                    self.rng.digits(3),
                    self.rng.pick(&world::MAIL_DOMAINS[..3]).0
                );
                let card = book::card(&mut self.rng);
                let pays_card = self.rng.chance(0.85);
                let shares_mail = self.rng.chance(0.75);
                let n_pnrs = self.rng.range(3, 5);
                let one_way = self.rng.chance(0.8);
                for _ in 0..n_pnrs {
                    let mut pnr = self.base(f);
                    let n = self.rng.range(1, 2);
                    let people =
                        (0..n).map(|_| self.first_timer(&origin_country, on, (18, 40), 0.6, (7, 15), 0.7)).collect();
                    self.set_people(&mut pnr, people);
                    let before: Vec<String> = origin.iter().cloned().collect();
                    if one_way {
                        self.one_way(&mut pnr, f, &before, &[]);
                    } else {
                        let stay = self.rng.range(5, 14) * 24;
                        self.round_trip(&mut pnr, f, stay, false);
                    }
                    self.late(&mut pnr, f, (20, 200));
                    pnr.phone = Some(facilitator_phone.clone());
                    pnr.email = if shares_mail { Some(facilitator_mail.clone()) } else { None };
                    pnr.fop = if pays_card { card.clone() } else { Fop::Cash };
                    pnr.payer = None;
                    pnr.seller = book::agency(&mut self.rng, &foreign_country, f.from);
                    out.push((f.index, pnr));
                }
            }
            "group_unrelated_one_pnr" => {
                let (origin, origin_country) =
                    self.feeder_of(f, &["IR", "AF", "SY", "IQ", "PK", "BD", "NG", "GH", "LK", "NP"]);
                let mut pnr = self.base(f);
                let n = self.rng.range(4, 7) as usize;
                let mut people: Vec<Person> = Vec::new();
                while people.len() < n {
                    let p = self.first_timer(&origin_country, on, (17, 40), 0.5, (7, 18), 0.7);
                    if people.iter().all(|q| q.surname != p.surname) {
                        people.push(p);
                    }
                }
                self.set_people(&mut pnr, people);
                let before: Vec<String> = origin.iter().cloned().collect();
                self.one_way(&mut pnr, f, &before, &[]);
                self.late(&mut pnr, f, (24, 300));
                // Booked by an agency of a third country, on neither the route nor the
                // travellers' residence.
                let thirds: Vec<&str> = ["AE", "RU", "IN", "LB", "EG"]
                    .into_iter()
                    .filter(|c| *c != foreign_country && *c != origin_country)
                    .collect();
                let third = *self.rng.pick(&thirds);
                pnr.seller = book::agency(&mut self.rng, third, f.from);
                pnr.fop = if self.rng.chance(0.5) { Fop::Cash } else { book::card(&mut self.rng) };
                pnr.payer = None;
                out.push((f.index, pnr));
            }
            "minor_unrelated_adult" => {
                let (origin, origin_country) =
                    self.feeder_of(f, &["NG", "GH", "SN", "GN", "CI", "ML", "CM", "ET", "KE", "CD"]);
                let mut pnr = self.base(f);
                let mut adult = self.adult(&origin_country, on, (24, 50));
                adult.ff = None;
                self.passport(&mut adult, on, 0.5, (20, 150));
                adult.bags = (1, self.rng.range(12, 23) as u32);
                let mut people = vec![adult.clone()];
                for _ in 0..self.rng.range(1, 2) {
                    let mut child = book::person(&mut self.rng, &origin_country, PaxType::Child, on, None);
                    if child.surname == adult.surname {
                        child.surname = format!("{}A", child.surname);
                    }
                    let age = self.rng.range(5, 15);
                    child.dob = book::birth_date(&mut self.rng, on, age);
                    if self.rng.chance(0.7) {
                        self.recent_passport(&mut child, on, (10, 90));
                    } else {
                        child.doc = Some(book::usual_document(&mut self.rng, &child, on, false));
                    }
                    child.bags = (0, 0);
                    people.push(child);
                }
                self.set_people(&mut pnr, people);
                let before: Vec<String> = origin.iter().cloned().collect();
                self.one_way(&mut pnr, f, &before, &[]);
                self.late(&mut pnr, f, (10, 150));
                out.push((f.index, pnr));
            }
            "minor_alone_undeclared" => {
                let mut pnr = self.base(f);
                let country = if self.rng.chance(0.5) {
                    foreign_country.clone()
                } else {
                    self.geo.country(world::ROUTES[f.route].feeders.first().copied().unwrap_or(f.from)).to_string()
                };
                let mut child = book::person(&mut self.rng, &country, PaxType::Child, on, None);
                let age = self.rng.range(9, 15);
                child.dob = book::birth_date(&mut self.rng, on, age);
                child.title = None;
                self.passport(&mut child, on, 0.5, (10, 90));
                child.bags = if self.rng.chance(0.5) { (0, 0) } else { (1, self.rng.range(5, 12) as u32) };
                self.solo(&mut pnr, child);
                self.one_way(&mut pnr, f, &[], &[]);
                self.late(&mut pnr, f, (12, 200));
                let payer = self.adult(HOME_COUNTRY, on, (30, 60));
                pnr.payer =
                    Some((format!("{}/{}", payer.surname, payer.given), book::phone(&mut self.rng, HOME_COUNTRY)));
                pnr.fop = book::card(&mut self.rng);
                out.push((f.index, pnr));
            }
            "throwaway_onward" => {
                let (origin, origin_country) = self.feeder_of(f, &[]);
                let origin = origin.unwrap_or_else(|| f.from.to_string());
                let mut pnr = self.base(f);
                let mut p = self.adult(&origin_country, on, (19, 45));
                p.ff = None;
                self.passport(&mut p, on, 0.5, (10, 120));
                p.bags = (0, 0);
                // At check-in the airline lists the arrival as the end of the journey.
                if self.rng.chance(0.6) {
                    p.api.debark = Some(f.to.to_string());
                }
                self.solo(&mut pnr, p);
                self.one_way(&mut pnr, f, &[origin], &[]);
                // The onward leg: another carrier, a separate ticket, a long wait.
                let onwards: Vec<&str> = world::ONWARD_THIRD_COUNTRY
                    .iter()
                    .copied()
                    .filter(|a| self.geo.country(a) != origin_country && self.geo.country(a) != foreign_country)
                    .collect();
                let onward = (*self.rng.pick(&onwards)).to_string();
                let dep = f.arr_utc + TimeDelta::hours(self.rng.range(8, 22));
                let arr = dep + TimeDelta::minutes(self.geo.block_minutes(f.to, &onward));
                let carrier = *self.rng.pick(
                    &["UX", "AM", "AA", "LA", "IB"].iter().copied().filter(|c| *c != f.carrier).collect::<Vec<_>>(),
                );
                pnr.legs.push(Leg {
                    carrier,
                    number: self.rng.range(10, 999) as u32,
                    from: f.to.to_string(),
                    to: onward,
                    dep_utc: dep,
                    arr_utc: arr,
                    class: 'O',
                    ticket: 1,
                });
                self.late(&mut pnr, f, (30, 400));
                pnr.fop = if self.rng.chance(0.5) { Fop::Cash } else { book::card(&mut self.rng) };
                out.push((f.index, pnr));
            }
            "escort_repeat" => {
                let (origin, origin_country) =
                    self.feeder_of(f, &["NG", "GH", "SN", "IR", "AF", "PK", "BD", "IQ", "SY"]);
                let mut escort = self.adult(&foreign_country, on, (30, 55));
                escort.ff = None;
                escort.doc = Some(book::usual_document(&mut self.rng, &escort, on, false));
                let card = book::card(&mut self.rng);
                let phone = book::phone(&mut self.rng, &foreign_country);
                for fl in flights {
                    let fon = fl.dep_utc.date();
                    // The escort's own PNR on this flight.
                    let mut pnr = self.base(fl);
                    let mut e = escort.clone();
                    e.bags = (1, self.rng.range(12, 20) as u32);
                    self.solo(&mut pnr, e);
                    let stay = self.rng.range(3, 10) * 24;
                    self.round_trip(&mut pnr, fl, stay, false);
                    self.late(&mut pnr, fl, (24, 240));
                    pnr.fop = card.clone();
                    pnr.payer = None;
                    pnr.phone = Some(phone.clone());
                    let created = pnr.created;
                    out.push((fl.index, pnr));
                    // The companions, first-time travellers, booked alongside.
                    let mut c = self.base(fl);
                    let mut people = Vec::new();
                    for _ in 0..self.rng.range(1, 2) {
                        let mut p = self.adult(&origin_country, fon, (18, 35));
                        p.ff = None;
                        self.recent_passport(&mut p, fon, (10, 200));
                        p.bags = (0, 0);
                        people.push(p);
                    }
                    self.set_people(&mut c, people);
                    let before: Vec<String> = origin.iter().cloned().collect();
                    self.one_way(&mut c, fl, &before, &[]);
                    c.created = created + TimeDelta::minutes(self.rng.range(1, 30));
                    c.ticketed = Some(c.created + TimeDelta::minutes(20));
                    c.docs_at = Some(c.created);
                    c.fop = card.clone();
                    c.payer = Some((format!("{}/{}", escort.surname, escort.given), phone.clone()));
                    c.phone = Some(phone.clone());
                    c.email = None;
                    out.push((fl.index, c));
                }
            }
            "circuitous_separate_tickets" => {
                let source = *self.rng.pick(&["BOG", "LIM", "GRU", "CCS", "GYE", "VVI"]);
                let via = *self.rng.pick(&["PTY", "SDQ", "MEX", "CUN", "MIA"]);
                let mut pnr = self.base(f);
                let mut p = self.adult(self.geo.country(source), on, (20, 50));
                p.ff = None;
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                p.bags = if self.rng.chance(0.5) { (1, self.rng.range(15, 23) as u32) } else { (0, 0) };
                self.solo(&mut pnr, p);
                self.one_way(&mut pnr, f, &[], &[]);
                // source -> via (ticket 0), via -> f.from (ticket 1, another carrier), then the
                // pushed flight (ticket 1), with a long dwell somewhere.
                let mut t = f.dep_utc - TimeDelta::hours(self.rng.range(3, 16));
                let mut legs = Vec::new();
                let hops: Vec<(&str, &str, &'static str, usize)> = if via == f.from {
                    vec![(source, f.from, "AV", 0)]
                } else {
                    vec![(source, via, "CM", 0), (via, f.from, *self.rng.pick(&["UX", "AA", "TP", "AT", "KL"]), 1)]
                };
                for (i, (a, b, carrier, ticket)) in hops.iter().rev().enumerate() {
                    let block = TimeDelta::minutes(self.geo.block_minutes(a, b));
                    let arr = t;
                    let dep = arr - block;
                    legs.push(Leg {
                        carrier,
                        number: self.rng.range(100, 999) as u32,
                        from: a.to_string(),
                        to: b.to_string(),
                        dep_utc: dep,
                        arr_utc: arr,
                        class: 'V',
                        ticket: *ticket,
                    });
                    t = dep - TimeDelta::hours(if i == 0 { self.rng.range(12, 22) } else { self.rng.range(2, 6) });
                }
                legs.reverse();
                let mut pushed = pnr.legs[pnr.pushed].clone();
                pushed.ticket = 1;
                let n = legs.len();
                legs.push(pushed);
                pnr.legs = legs;
                pnr.pushed = n;
                self.late(&mut pnr, f, (30, 200));
                pnr.created = pnr.legs[0].dep_utc - TimeDelta::hours(self.rng.range(10, 120));
                pnr.ticketed = Some(pnr.created + TimeDelta::hours(1));
                pnr.docs_at = Some(pnr.created);
                pnr.fop = if self.rng.chance(0.6) { Fop::Cash } else { book::card(&mut self.rng) };
                out.push((f.index, pnr));
            }
            "document_fraud_third_party" => {
                let (origin, origin_country) = self.feeder_of(f, &["IR", "AF", "SY", "IQ", "PK", "NG", "GH"]);
                let mut pnr = self.base(f);
                let mut p = self.adult(&origin_country, on, (19, 40));
                p.ff = None;
                self.recent_passport(&mut p, on, (5, 90));
                if let Some(d) = &mut p.doc {
                    d.issuer = (*self.rng.pick(&["GR", "PT", "IT", "BG", "RO", "HR"])).to_string();
                }
                p.bags = (0, 0);
                // The document shown at check-in is not the one booked (a swap in transit).
                if self.rng.chance(0.6) {
                    p.api.doc_number =
                        Some(format!("{}{}", self.rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ", 2), self.rng.digits(7)));
                }
                self.solo(&mut pnr, p);
                let before: Vec<String> = origin.iter().cloned().collect();
                self.one_way(&mut pnr, f, &before, &[]);
                self.late(&mut pnr, f, (4, 30));
                pnr.phone = None;
                pnr.email = None;
                pnr.fop = book::card(&mut self.rng);
                let payer = self.adult(&foreign_country, on, (30, 60));
                pnr.payer =
                    Some((format!("{}/{}", payer.surname, payer.given), book::phone(&mut self.rng, &foreign_country)));
                out.push((f.index, pnr));
            }
            "backpack_long_stay" => {
                let mut pnr = self.base(f);
                let origin_country = foreign_country.clone();
                let mut p = self.adult(&origin_country, on, (19, 35));
                p.ff = None;
                self.passport(&mut p, on, 0.7, (10, 120));
                p.bags = (0, 0);
                p.checks_in = true;
                let domain = *self.rng.pick(world::DISPOSABLE_DOMAINS);
                pnr.email = Some(book::email(&mut self.rng, &p, domain));
                self.solo(&mut pnr, p);
                let stay = self.rng.range(14, 45) * 24;
                self.round_trip(&mut pnr, f, stay, false);
                self.late(&mut pnr, f, (48, 500));
                let third = *self.rng.pick(&["TR", "AE", "RU", "IN", "NG"]);
                let mut s: Seller = book::agency(&mut self.rng, third, "IST");
                s.city = match third {
                    "AE" => "DXB",
                    "RU" => "MOW",
                    "IN" => "DEL",
                    "NG" => "LOS",
                    _ => "IST",
                }
                .to_string();
                pnr.seller = s;
                out.push((f.index, pnr));
            }
            "impostor_lookalike" => {
                let mut pnr = self.base(f);
                let country = pnr.people[0].residence.clone();
                let mut p = self.adult(&country, on, (20, 45));
                p.ff = None;
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                p.bags = if self.rng.chance(0.5) { (0, 0) } else { (1, self.rng.range(8, 20) as u32) };
                // A relative or look-alike of the same surname flies: API reads their document.
                let pool = world::name_pool(&country);
                let other = if p.gender == 'M' { self.rng.pick(pool.male) } else { self.rng.pick(pool.female) };
                p.api.given = Some(if *other == p.given { format!("{other}A") } else { other.to_string() });
                let age = self.rng.range(18, 50);
                p.api.dob = Some(book::birth_date(&mut self.rng, on, age));
                p.api.doc_number =
                    Some(format!("{}{}", self.rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ", 2), self.rng.digits(7)));
                self.solo(&mut pnr, p);
                let stay = self.rng.range(5, 20) * 24;
                self.round_trip(&mut pnr, f, stay, false);
                out.push((f.index, pnr));
            }
            // Decoys.
            "decoy_renewed_passport" => {
                let mut pnr = self.base(f);
                let country = pnr.people[0].residence.clone();
                let mut p = self.adult(&country, on, (25, 70));
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                p.api.doc_number =
                    Some(format!("{}{}", self.rng.chars(b"ABCDEFGHJKLMNPRSTUVWXYZ", 2), self.rng.digits(7)));
                p.bags = (1, 18);
                self.solo(&mut pnr, p);
                let stay = self.rng.range(5, 20) * 24;
                self.round_trip(&mut pnr, f, stay, !f.inbound);
                out.push((f.index, pnr));
            }
            "decoy_honest_cash" => {
                let mut pnr = self.base(f);
                let stay = self.rng.range(7, 25) * 24;
                self.round_trip(&mut pnr, f, stay, !f.inbound);
                pnr.fop = Fop::Cash;
                pnr.seller = book::agency(&mut self.rng, &pnr.people[0].residence.clone(), &pnr.legs[0].from.clone());
                for p in &mut pnr.people {
                    if p.pax != PaxType::Infant && p.bags.0 == 0 {
                        p.bags = (1, 20);
                    }
                }
                out.push((f.index, pnr));
            }
            "decoy_last_minute" => {
                let mut pnr = self.base(f);
                let mut p = self.adult(HOME_COUNTRY, on, (30, 60));
                p.ff = Some((f.carrier.to_string(), self.rng.digits(10)));
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                self.solo(&mut pnr, p);
                let stay = self.rng.range(30, 96);
                self.round_trip(&mut pnr, f, stay, f.inbound);
                self.late(&mut pnr, f, (3, 22));
                pnr.fop = book::card(&mut self.rng);
                out.push((f.index, pnr));
            }
            "decoy_family_other_surname" => {
                let mut pnr = self.base(f);
                let country = pnr.people[0].residence.clone();
                let mut mother = self.adult(&country, on, (28, 45));
                mother.gender = 'F';
                mother.title = Some("MRS");
                mother.doc = Some(book::usual_document(&mut self.rng, &mother, on, false));
                let surname = self.rng.pick(world::name_pool(&country).surnames).to_string();
                let mut people = vec![mother];
                for _ in 0..self.rng.range(1, 3) {
                    let mut c = book::person(&mut self.rng, &country, PaxType::Child, on, Some(&surname));
                    if c.surname == people[0].surname {
                        c.surname = format!("{} {}", c.surname, people[0].surname);
                    }
                    c.doc = Some(book::usual_document(&mut self.rng, &c, on, false));
                    people.push(c);
                }
                self.set_people(&mut pnr, people);
                let stay = self.rng.range(7, 20) * 24;
                self.round_trip(&mut pnr, f, stay, !f.inbound);
                out.push((f.index, pnr));
            }
            "decoy_one_way_mover" => {
                let mut pnr = self.base(f);
                let country = pnr.people[0].residence.clone();
                let mut p = self.adult(&country, on, (19, 30));
                p.ff = None;
                self.recent_passport(&mut p, on, (20, 80));
                p.bags = (2, self.rng.range(38, 46) as u32);
                self.solo(&mut pnr, p);
                self.one_way(&mut pnr, f, &[], &[]);
                pnr.created = f.dep_utc - TimeDelta::days(self.rng.range(20, 90));
                pnr.ticketed = Some(pnr.created + TimeDelta::hours(2));
                pnr.fop = book::card(&mut self.rng);
                out.push((f.index, pnr));
            }
            "decoy_corporate_card" => {
                let card = book::card(&mut self.rng);
                let domain = *self.rng.pick(world::COMPANY_DOMAINS);
                for _ in 0..self.rng.range(3, 5) {
                    let mut pnr = self.base(f);
                    let mut p = self.adult(HOME_COUNTRY, on, (28, 60));
                    p.ff = Some((f.carrier.to_string(), self.rng.digits(10)));
                    p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                    pnr.email = Some(book::email(&mut self.rng, &p, domain));
                    self.solo(&mut pnr, p);
                    let stay = self.rng.range(24, 100);
                    self.round_trip(&mut pnr, f, stay, f.inbound);
                    pnr.fop = card.clone();
                    pnr.payer = None;
                    out.push((f.index, pnr));
                }
            }
            _ => {
                // decoy_self_connect: one-way, arriving and flying on to another country on a
                // separate low-cost ticket an hour or three later.
                let mut pnr = self.base(f);
                let country = pnr.people[0].residence.clone();
                let mut p = self.adult(&country, on, (19, 35));
                p.ff = None;
                p.doc = Some(book::usual_document(&mut self.rng, &p, on, false));
                p.bags = (1, 15);
                self.solo(&mut pnr, p);
                self.one_way(&mut pnr, f, &[], &[]);
                let onward = (*self.rng.pick(&["LHR", "CDG", "FRA", "AMS", "LIS"])).to_string();
                let onward = if onward == f.from || onward == f.to { "DUB".to_string() } else { onward };
                let dep = f.arr_utc + TimeDelta::minutes(self.rng.range(120, 300));
                let arr = dep + TimeDelta::minutes(self.geo.block_minutes(f.to, &onward));
                pnr.legs.push(Leg {
                    carrier: "VY",
                    number: self.rng.range(1000, 8999) as u32,
                    from: f.to.to_string(),
                    to: onward,
                    dep_utc: dep,
                    arr_utc: arr,
                    class: 'O',
                    ticket: 1,
                });
                out.push((f.index, pnr));
            }
        }
        for (_, pnr) in &mut out {
            for p in &mut pnr.people {
                p.scenario = Some(kind);
                p.checks_in = true;
            }
            if pnr.docs_at.is_none() && pnr.people.iter().any(|p| p.doc.is_some()) {
                pnr.docs_at = Some(pnr.created);
            }
            if let Some(t) = pnr.ticketed {
                pnr.ticketed = Some(t.max(pnr.created));
            }
        }
        out
    }
}
