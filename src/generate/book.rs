//! Ordinary bookings: who flies, how they booked and paid, where they go and for how long.
//!
//! Every choice is a weighted draw from shares that look like a European hub's traffic: most
//! travellers book weeks ahead, pay by card and fly return; some book at the last minute, pay
//! cash, travel one-way, with children of another surname, in tour groups or on a company card.
//! Scenarios (`scenarios.rs`) start from the same bookings and change what their story needs, so
//! a planted traveller differs from the crowd only where the scenario says.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};

use super::model::{Doc, Flight, Fop, History, Leg, PaxType, Person, Pnr, Seller};
use super::rng::Rng;
use super::world::{self, Geo, HOME_COUNTRY};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOCATOR: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// What a booking is drawn from: the geography and the flight.
pub struct Ctx<'a> {
    /// Geography.
    pub geo: &'a Geo,
    /// The pushed flight.
    pub flight: &'a Flight,
}

/// A record locator for a serial number: a bijection on 0..32^6, so locators never repeat.
pub fn locator(serial: u64) -> String {
    let space = 32u64.pow(6);
    // Multiplying by an odd constant is a bijection modulo a power of two.
    let mut x = (serial.wrapping_mul(0x2545_F491) ^ 0x15_A3C1) % space;
    let mut s = [0u8; 6];
    for c in s.iter_mut().rev() {
        *c = LOCATOR[(x % 32) as usize];
        x /= 32;
    }
    String::from_utf8(s.to_vec()).unwrap_or_default()
}

/// A person of `country`, of this passenger type, travelling on `on`.
pub fn person(rng: &mut Rng, country: &str, pax: PaxType, on: NaiveDate, surname: Option<&str>) -> Person {
    let pool = world::name_pool(country);
    let gender = if rng.chance(0.5) { 'M' } else { 'F' };
    let age = match pax {
        PaxType::Adult => {
            if rng.chance(0.04) {
                rng.range(12, 17)
            } else {
                rng.range(18, 78)
            }
        }
        PaxType::Child => rng.range(2, 11),
        PaxType::Infant => rng.range(0, 1),
    };
    let dob = birth_date(rng, on, age);
    let given = if gender == 'M' { rng.pick(pool.male) } else { rng.pick(pool.female) };
    let title = match (pax, gender, age) {
        (PaxType::Infant, _, _) => None,
        (_, 'M', a) if a < 12 => Some("MSTR"),
        (_, 'F', a) if a < 12 => Some("MISS"),
        (_, 'M', _) => Some("MR"),
        (_, _, _) => Some(if rng.chance(0.5) { "MRS" } else { "MS" }),
    };
    let title = if rng.chance(0.15) { None } else { title };
    Person {
        surname: surname.map(str::to_string).unwrap_or_else(|| rng.pick(pool.surnames).to_string()),
        given: given.to_string(),
        title,
        gender,
        dob,
        pax,
        nationality: country.to_string(),
        residence: country.to_string(),
        doc: None,
        ff: None,
        umnr: false,
        checks_in: true,
        bags: (0, 0),
        bag_tag_to: None,
        scenario: None,
        api: Default::default(),
    }
}

/// A date of birth for someone `age` years old on `on`.
pub fn birth_date(rng: &mut Rng, on: NaiveDate, age: i64) -> NaiveDate {
    on - TimeDelta::days(age * 365 + rng.range(0, 364))
}

/// A passport or identity card, issued `issued_days_ago` days before `on`.
pub fn document(rng: &mut Rng, p: &Person, on: NaiveDate, issued_days_ago: i64, kind: &'static str) -> Doc {
    let age = (on - p.dob).num_days() / 365;
    let validity_years = if age < 18 { 5 } else { 10 };
    let issued = on - TimeDelta::days(issued_days_ago);
    let expiry = issued
        .with_year(issued.year() + validity_years)
        .unwrap_or_else(|| issued + TimeDelta::days(365 * validity_years as i64));
    Doc { kind, issuer: p.nationality.clone(), number: format!("{}{}", rng.chars(UPPER, 2), rng.digits(7)), expiry }
}

/// A document issued some time in its validity, as most are.
pub fn usual_document(rng: &mut Rng, p: &Person, on: NaiveDate, schengen_trip: bool) -> Doc {
    let age = (on - p.dob).num_days() / 365;
    let max = if age < 18 { 5 * 365 } else { 10 * 365 } - 30;
    let kind = if schengen_trip && p.nationality == HOME_COUNTRY && rng.chance(0.4) { "I" } else { "P" };
    let days = rng.range(0, max);
    document(rng, p, on, days, kind)
}

/// A random phone number of `country`, in international digits.
pub fn phone(rng: &mut Rng, country: &str) -> String {
    format!("{}{}", world::calling_code(country), rng.digits(9))
}

/// An e-mail address for a person.
///
/// Free-mail addresses are unique per mailbox, so common names carry digits or initials: the
/// shapes below keep two travellers of one name from sharing an address by chance, which would
/// make shared-contact rules fire on coincidence.
pub fn email(rng: &mut Rng, p: &Person, domain: &str) -> String {
    let clean = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_alphanumeric()).collect() };
    let (g, s) = (clean(&p.given), clean(&p.surname));
    let initial = g.chars().next().unwrap_or('X');
    let local = match rng.range(0, 3) {
        0 => format!("{g}.{s}{}", rng.range(100, 9999)),
        1 => format!("{initial}{s}{}", rng.range(10, 99_999)),
        2 => format!("{g}{}{}", &s[..s.len().min(3)], rng.range(1000, 99_999)),
        _ => format!("{s}.{g}.{}", rng.chars(b"abcdefghijklmnopqrstuvwxyz", 3)),
    };
    format!("{local}@{domain}")
}

/// A payment card.
pub fn card(rng: &mut Rng) -> Fop {
    let vendor = *rng.weighted(&[("VI", 0.5), ("CA", 0.35), ("AX", 0.1), ("DC", 0.05)]);
    let number = match vendor {
        "VI" => format!("4{}", rng.digits(15)),
        "CA" => format!("5{}", rng.digits(15)),
        "AX" => format!("37{}", rng.digits(13)),
        _ => format!("36{}", rng.digits(12)),
    };
    Fop::Card(vendor, number, format!("{:02}{:02}", rng.range(1, 12), rng.range(27, 32)))
}

/// A travel agency of `country`: one of a fixed set per country, so agencies recur.
pub fn agency(rng: &mut Rng, country: &str, city: &str) -> Seller {
    let n = rng.range(0, 39);
    let code: u64 = country.bytes().fold(7, |h, b| h.wrapping_mul(131).wrapping_add(b as u64));
    Seller {
        system: ["1A", "1A", "1S", "1G"][rng.range(0, 3) as usize],
        city: city.to_string(),
        iata: Some(format!("{:08}", (code.wrapping_mul(1_000_003).wrapping_add(n as u64 * 7919)) % 100_000_000)),
        office: format!("{}{}{:02}", city, country, n),
        agent_type: "T",
        country: country.to_string(),
        currency: currency(country),
        phone: Some(format!("{}{}", world::calling_code(country), (code + n as u64 * 104_729) % 1_000_000_000)),
    }
}

/// The currency of a country's sales.
pub fn currency(country: &str) -> &'static str {
    match country {
        "GB" => "GBP",
        "US" => "USD",
        "CO" => "COP",
        "BR" => "BRL",
        "MX" => "MXN",
        "AR" => "ARS",
        "TR" => "TRY",
        "MA" => "MAD",
        "AE" => "AED",
        "NG" => "NGN",
        _ => "EUR",
    }
}

/// Connecting legs on `carrier` through `airports` (in travel order), the last arriving a
/// connection time before `depart_by`.
fn chain_before(
    rng: &mut Rng,
    geo: &Geo,
    airports: &[String],
    carrier: &'static str,
    depart_by: NaiveDateTime,
) -> Vec<Leg> {
    let mut legs = Vec::new();
    let mut next_dep = depart_by;
    for w in airports.windows(2).rev() {
        let block = TimeDelta::minutes(geo.block_minutes(&w[0], &w[1]));
        let arr = next_dep - TimeDelta::minutes(rng.range(90, 300));
        let dep = arr - block;
        legs.push(leg(rng, carrier, &w[0], &w[1], dep, arr));
        next_dep = dep;
    }
    legs.reverse();
    legs
}

/// Connecting legs on `carrier` through `airports` (in travel order), the first leaving a
/// connection time after `arrive_at`.
fn chain_after(
    rng: &mut Rng,
    geo: &Geo,
    airports: &[String],
    carrier: &'static str,
    arrive_at: NaiveDateTime,
) -> Vec<Leg> {
    let mut legs = Vec::new();
    let mut prev_arr = arrive_at;
    for w in airports.windows(2) {
        let block = TimeDelta::minutes(geo.block_minutes(&w[0], &w[1]));
        let dep = prev_arr + TimeDelta::minutes(rng.range(90, 240));
        let arr = dep + block;
        legs.push(leg(rng, carrier, &w[0], &w[1], dep, arr));
        prev_arr = arr;
    }
    legs
}

fn leg(rng: &mut Rng, carrier: &'static str, from: &str, to: &str, dep: NaiveDateTime, arr: NaiveDateTime) -> Leg {
    Leg {
        carrier,
        number: rng.range(100, 8999) as u32,
        from: from.to_string(),
        to: to.to_string(),
        dep_utc: round5(dep),
        arr_utc: round5(arr),
        class: *rng.pick(&['Y', 'B', 'M', 'H', 'Q', 'V', 'K', 'L', 'O']),
        ticket: 0,
    }
}

fn round5(t: NaiveDateTime) -> NaiveDateTime {
    let m = t.and_utc().timestamp().div_euclid(300) * 300;
    chrono::DateTime::from_timestamp(m, 0).map(|d| d.naive_utc()).unwrap_or(t)
}

/// The pushed flight as a leg.
pub fn pushed_leg(f: &Flight, class: char) -> Leg {
    Leg {
        carrier: f.carrier,
        number: f.number,
        from: f.from.to_string(),
        to: f.to.to_string(),
        dep_utc: f.dep_utc,
        arr_utc: f.arr_utc,
        class,
        ticket: 0,
    }
}

/// How the journey around the pushed flight is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trip {
    /// No return.
    OneWay,
    /// Back to the origin after `stay` hours.
    Return,
    /// Back from another airport of the destination country.
    OpenJaw,
}

/// Itinerary of a journey that includes the pushed flight: feeder legs before it, onward legs
/// after it, and the way back after `stay_hours` for return trips. `pushed_on_return` puts the
/// pushed flight on the way back (a resident of the far end going home).
pub fn itinerary(
    rng: &mut Rng,
    ctx: &Ctx<'_>,
    before: &[String],
    after: &[String],
    trip: Trip,
    stay_hours: i64,
    pushed_on_return: bool,
) -> (Vec<Leg>, usize) {
    let f = ctx.flight;
    let class = if rng.chance(0.08) {
        *rng.pick(&['J', 'C', 'D'])
    } else {
        *rng.pick(&['Y', 'B', 'M', 'H', 'Q', 'V', 'K', 'L', 'O'])
    };
    let pushed = pushed_leg(f, class);
    // The part of the journey that holds the pushed flight, in travel order.
    let mut pre: Vec<String> = before.to_vec();
    pre.push(f.from.to_string());
    let mut post: Vec<String> = vec![f.to.to_string()];
    post.extend(after.iter().cloned());
    let feeder_carrier = f.carrier;
    let mut part = chain_before(rng, ctx.geo, &pre, feeder_carrier, f.dep_utc);
    let pushed_index_in_part = part.len();
    part.push(pushed);
    part.extend(chain_after(rng, ctx.geo, &post, feeder_carrier, f.arr_utc));
    if trip == Trip::OneWay {
        return (part, pushed_index_in_part);
    }
    // The other direction: reversed path, `stay_hours` away.
    let mut path: Vec<String> = part.iter().map(|l| l.from.clone()).collect();
    path.push(part.last().map(|l| l.to.clone()).unwrap_or_default());
    path.reverse();
    if trip == Trip::OpenJaw {
        let alt = if pushed_on_return { path.last().cloned() } else { path.first().cloned() };
        let swap = alt.map(|a| alternative_airport(ctx.geo, &a)).unwrap_or_default();
        if !swap.is_empty() {
            if pushed_on_return {
                *path.last_mut().unwrap_or(&mut String::new()) = swap;
            } else {
                path[0] = swap;
            }
        }
    }
    let stay = TimeDelta::hours(stay_hours.max(2));
    if pushed_on_return {
        // The pushed flight is on the way back: the way out ended `stay` before it started.
        let first_dep = part[0].dep_utc;
        let mut out = chain_before(rng, ctx.geo, &path, feeder_carrier, first_dep - stay);
        // chain_before leaves a connection gap before `depart_by`; that gap is the stay.
        for l in &mut out {
            l.number = reverse_number(l.number);
        }
        let idx = out.len() + pushed_index_in_part;
        out.extend(part);
        (out, idx)
    } else {
        let last_arr = part.last().map(|l| l.arr_utc).unwrap_or(f.arr_utc);
        let back = chain_after(rng, ctx.geo, &path, feeder_carrier, last_arr + stay);
        let mut legs = part;
        legs.extend(back);
        (legs, pushed_index_in_part)
    }
}

fn reverse_number(n: u32) -> u32 {
    if n.is_multiple_of(2) { n + 1 } else { n - 1 }
}

/// Another airport of the same country, for open-jaw trips.
fn alternative_airport(geo: &Geo, code: &str) -> String {
    let country = geo.country(code);
    if country == HOME_COUNTRY {
        return if code == "MAD" { "BCN".into() } else { "MAD".into() };
    }
    world::ROUTES
        .iter()
        .flat_map(|r| std::iter::once(r.foreign).chain(r.feeders.iter().copied()))
        .find(|a| *a != code && geo.country(a) == country)
        .unwrap_or(code)
        .to_string()
}

/// Hours before departure a booking is made: mostly weeks ahead, a tail of late bookings.
pub fn lead_hours(rng: &mut Rng) -> f64 {
    match *rng.weighted(&[(0, 0.04), (1, 0.10), (2, 0.26), (3, 0.60)]) {
        0 => rng.uniform(3.0, 24.0),
        1 => rng.uniform(24.0, 72.0),
        2 => rng.uniform(72.0, 14.0 * 24.0),
        _ => rng.uniform(14.0 * 24.0, 150.0 * 24.0),
    }
}

/// An ordinary booking on the flight of `ctx`, with serial number `serial`.
pub fn background(rng: &mut Rng, ctx: &Ctx<'_>, serial: u64) -> Pnr {
    let f = ctx.flight;
    let geo = ctx.geo;
    let route = &world::ROUTES[f.route];
    let foreign = if f.inbound { f.from } else { f.to };
    let foreign_country = geo.country(foreign).to_string();
    // Residents of the far end fly out on the pushed flight when it leaves their side.
    let lives_abroad = rng.chance(0.55);
    let pushed_on_return = lives_abroad != f.inbound;
    let kind = *rng.weighted(&[("leisure", 0.55), ("business", 0.22), ("family", 0.17), ("vfr", 0.06)]);
    let feeder = !route.feeders.is_empty() && rng.chance(0.22);
    let mut residence = if lives_abroad { foreign_country.clone() } else { HOME_COUNTRY.to_string() };
    let mut before = Vec::new();
    let mut after = Vec::new();
    if feeder {
        let fd = (*rng.pick(route.feeders)).to_string();
        if lives_abroad {
            residence = geo.country(&fd).to_string();
        }
        if f.inbound { before.push(fd) } else { after.push(fd) }
    } else if rng.chance(0.1) {
        let d = (*rng.pick(world::DOMESTIC)).to_string();
        if f.inbound { after.push(d) } else { before.push(d) }
    }
    // Families mostly fly return; one-way tickets are for movers and open returns.
    let trip = if kind == "family" {
        *rng.weighted(&[(Trip::Return, 0.86), (Trip::OneWay, 0.08), (Trip::OpenJaw, 0.06)])
    } else {
        *rng.weighted(&[(Trip::Return, 0.74), (Trip::OneWay, 0.19), (Trip::OpenJaw, 0.07)])
    };
    let stay_hours = match kind {
        "business" => rng.range(20, 5 * 24),
        "vfr" => rng.range(14 * 24, 60 * 24),
        _ => rng.range(4 * 24, 21 * 24),
    };
    let (legs, pushed) = itinerary(rng, ctx, &before, &after, trip, stay_hours, pushed_on_return);

    let on = f.dep_utc.date();
    let nationality = if rng.chance(0.9) { residence.clone() } else { foreign_country.clone() };
    let mut people = Vec::new();
    let mut infant_of = Vec::new();
    let mut group = None;
    match kind {
        "family" => {
            let lead = person(rng, &nationality, PaxType::Adult, on, None);
            // Spanish and Latin-American children carry the father's surname first: a mother
            // travelling with them has another surname. Elsewhere, some families have two.
            let mixed = nationality_pool_is_hispanic(&nationality) && lead.gender == 'F' || rng.chance(0.08);
            let child_surname = if mixed {
                rng.pick(world::name_pool(&nationality).surnames).to_string()
            } else {
                lead.surname.clone()
            };
            people.push(lead.clone());
            infant_of.push(None);
            if rng.chance(0.6) {
                let partner = person(rng, &nationality, PaxType::Adult, on, Some(&child_surname));
                people.push(partner);
                infant_of.push(None);
            }
            for _ in 0..rng.range(1, 3) {
                let pax = if rng.chance(0.12) { PaxType::Infant } else { PaxType::Child };
                people.push(person(rng, &nationality, pax, on, Some(&child_surname)));
                infant_of.push(if pax == PaxType::Infant { Some(0) } else { None });
            }
        }
        "leisure" if rng.chance(0.004) => {
            // A tour group: many names, one group name.
            group = Some(format!("{} TOURS", rng.pick(&["SOL", "VIAJES", "GLOBAL", "ANDES", "IBERIA", "CONDOR"])));
            for _ in 0..rng.range(10, 24) {
                let p = person(rng, &nationality, PaxType::Adult, on, None);
                people.push(p);
                infant_of.push(None);
            }
        }
        _ => {
            let n = if kind == "leisure" && rng.chance(0.45) { 2 } else { 1 };
            for i in 0..n {
                let surname = if i == 1 && rng.chance(0.5) { Some(people[0_usize].surname.clone()) } else { None };
                let p = person(rng, &nationality, PaxType::Adult, on, surname.as_deref());
                people.push(grown_up(rng, p, on));
                infant_of.push(None);
            }
        }
    }
    for p in &mut people {
        p.residence = residence.clone();
    }

    let created = f.dep_utc - TimeDelta::minutes((lead_hours(rng) * 60.0) as i64);
    let international = geo.country(&legs[pushed].from) != geo.country(&legs[pushed].to);
    let schengen = is_schengen(geo.country(foreign));
    for p in &mut people {
        if international && rng.chance(0.97) || rng.chance(0.6) {
            p.doc = Some(usual_document(rng, p, on, schengen));
        }
        if rng.chance(0.01)
            && let Some(d) = &mut p.doc
        {
            // Dual nationals and holders of a residence country's travel document.
            d.issuer = if p.nationality == HOME_COUNTRY { foreign_country.clone() } else { HOME_COUNTRY.to_string() };
        }
        if p.pax == PaxType::Adult && (rng.chance(if kind == "business" { 0.65 } else { 0.2 })) {
            p.ff = Some((f.carrier.to_string(), rng.digits(10)));
        }
        p.checks_in = rng.chance(0.96);
        let short = legs.len() == 1 || stay_hours <= 72 || kind == "business";
        let p_none = if short { 0.55 } else { 0.15 };
        if p.pax != PaxType::Infant && !rng.chance(p_none) {
            let n = if rng.chance(0.75) { 1 } else { 2 };
            p.bags = (n, (0..n).map(|_| rng.range(9, 23) as u32).sum());
        }
    }

    let seller_country = residence.clone();
    let origin_city = legs[0].from.clone();
    let seller =
        match *rng.weighted(&[("web", 0.47), ("agent", 0.4), ("desk", 0.05), ("ota", 0.04), ("corporate", 0.04)]) {
            "agent" => agency(rng, &seller_country, &origin_city),
            "ota" => {
                let c = *rng.pick(&["IE", "NL", "GB", "DE"]);
                agency(
                    rng,
                    c,
                    match c {
                        "IE" => "DUB",
                        "NL" => "AMS",
                        "GB" => "LON",
                        _ => "BER",
                    },
                )
            }
            "desk" => airline_office(f.carrier, &legs[0].from, geo.country(&legs[0].from), "A"),
            "corporate" => {
                let mut s = agency(rng, &seller_country, &origin_city);
                s.office = format!("{}CORP{:02}", origin_city, rng.range(1, 9));
                s
            }
            _ => airline_office(f.carrier, "WEB", &seller_country, "E"),
        };
    let cash_share = match geo.country(&legs[0].from) {
        "CO" | "VE" | "EC" | "PE" | "BO" | "DO" | "NG" | "GH" | "SN" | "MA" | "DZ" => 0.07,
        _ => 0.025,
    };
    let fop = if seller.agent_type == "T" && rng.chance(0.2) {
        Fop::Invoice
    } else if seller.agent_type != "E" && rng.chance(cash_share * 2.0) {
        Fop::Cash
    } else if seller.agent_type == "E" && rng.chance(cash_share * 0.3) {
        // Web bookings paid in cash at an office later.
        Fop::Cash
    } else {
        card(rng)
    };
    let lead = &people[0];
    let phone = rng.chance(0.93).then(|| phone(rng, &lead.residence));
    let domain = if kind == "business" && rng.chance(0.5) {
        *rng.pick(world::COMPANY_DOMAINS)
    } else {
        *rng.weighted(world::MAIL_DOMAINS)
    };
    let email = rng.chance(0.86).then(|| email(rng, lead, domain));
    let payer = (rng.chance(0.035) && fop != Fop::Invoice).then(|| {
        let pool = world::name_pool(&nationality);
        let mut surname = rng.pick(pool.surnames).to_string();
        if people.iter().any(|p| p.surname == surname) {
            surname = format!("{surname}{}", "S");
        }
        (format!("{}/{}", surname, rng.pick(pool.male)), phone_of(rng, &residence))
    });
    let fare = fare(rng, geo, &legs);
    let ticketed = ticket_time(rng, created, f.dep_utc);
    let docs_at = if people.iter().any(|p| p.doc.is_some()) {
        Some(if rng.chance(0.55) { created } else { (f.dep_utc - TimeDelta::hours(rng.range(2, 30))).max(created) })
    } else {
        None
    };
    let mut pnr = Pnr {
        locator: locator(serial),
        created,
        seller,
        people,
        infant_of,
        group,
        legs,
        pushed,
        phone,
        email,
        fop,
        payer,
        fare,
        ticketed,
        docs_at,
        history: Vec::new(),
        serial,
    };
    ordinary_history(rng, &mut pnr, f.dep_utc);
    pnr
}

/// Most travellers booked on their own are grown-ups: a 12-17 year old drawn for a solo or
/// couple booking is made an adult five times out of six.
fn grown_up(rng: &mut Rng, mut p: Person, on: NaiveDate) -> Person {
    if (on - p.dob).num_days() < 18 * 365 && rng.chance(5.0 / 6.0) {
        let age = rng.range(18, 70);
        p.dob = birth_date(rng, on, age);
    }
    p
}

fn nationality_pool_is_hispanic(country: &str) -> bool {
    world::NAME_POOLS[0].countries.contains(&country)
}

/// True for Schengen countries among those the world uses.
pub fn is_schengen(country: &str) -> bool {
    matches!(
        country,
        "ES" | "FR" | "DE" | "NL" | "PT" | "IT" | "BE" | "AT" | "CH" | "DK" | "NO" | "SE" | "PL" | "CZ" | "LU"
    )
}

fn phone_of(rng: &mut Rng, country: &str) -> String {
    phone(rng, country)
}

/// An airline's own office: web site (`E`) or airport desk (`A`).
pub fn airline_office(carrier: &str, city: &str, country: &str, kind: &'static str) -> Seller {
    let c = world::carrier(carrier);
    Seller {
        system: c.system,
        city: city.to_string(),
        iata: None,
        office: format!(
            "{}{}{}",
            if city == "WEB" { "WWW" } else { city },
            c.code,
            if kind == "A" { "0A" } else { "1W" }
        ),
        agent_type: kind,
        country: country.to_string(),
        currency: currency(country),
        phone: None,
    }
}

/// Total fare per traveller, EUR.
pub fn fare(rng: &mut Rng, geo: &Geo, legs: &[Leg]) -> u32 {
    let km: f64 = legs.iter().map(|l| geo.km(&l.from, &l.to)).sum();
    let premium = legs.iter().any(|l| matches!(l.class, 'J' | 'C' | 'D'));
    let base = 60.0 + km * rng.uniform(0.05, 0.11);
    (if premium { base * 3.2 } else { base }) as u32
}

/// When the ticket is issued: mostly within a day of booking, always before departure.
pub fn ticket_time(rng: &mut Rng, created: NaiveDateTime, dep: NaiveDateTime) -> Option<NaiveDateTime> {
    if rng.chance(0.01) {
        return None;
    }
    let delay = TimeDelta::minutes((rng.exponential(8.0) * 60.0) as i64);
    Some((created + delay).min(dep - TimeDelta::minutes(45)).max(created))
}

/// Date changes, rare name corrections and rarer churning, as bookings have.
fn ordinary_history(rng: &mut Rng, pnr: &mut Pnr, dep: NaiveDateTime) {
    let span = (dep - pnr.created).num_minutes().max(2);
    let when = |rng: &mut Rng| pnr.created + TimeDelta::minutes(rng.range(1, span - 1));
    if rng.chance(0.12) {
        let mut old = pnr.legs[pnr.pushed].clone();
        old.dep_utc -= TimeDelta::days(rng.range(1, 3));
        old.arr_utc -= TimeDelta::days(1);
        let at = when(rng);
        pnr.history.push(History::DateChange { at, leg: old });
    }
    if rng.chance(0.003) {
        let index = 0;
        let old_surname = pnr.people[0].surname.clone();
        let old_given = format!("{}{}", &pnr.people[0].given[..1], &pnr.people[0].given);
        let at = when(rng);
        pnr.history.push(History::NameChange { at, old_surname, old_given, index });
    }
    if rng.chance(0.002) {
        for _ in 0..rng.range(3, 4) {
            let mut old = pnr.legs[pnr.pushed].clone();
            old.dep_utc -= TimeDelta::days(rng.range(1, 9));
            let at = when(rng);
            pnr.history.push(History::SegmentCancelled { at, leg: old });
        }
    }
    pnr.history.sort_by_key(History::at);
}
