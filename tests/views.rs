//! The pack's views on hand-written landing rows, with exact expected values.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use paxrisk::landing::schema::{
    ApiTravellerRow, CheckinRow, ContactRow, LegRow, PaymentRow, PnrRow, PushRow, Rows, Text, TicketRow, TravellerRow,
};
use paxrisk::rules::engine::{Engine, ViewMode};
use paxrisk::rules::pack::Pack;
use paxrisk::rules::sandbox::Limits;

use crate::util::root;

pub fn utc(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

fn local(s: &str) -> Option<NaiveDateTime> {
    Some(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap())
}

fn date(s: &str) -> Option<NaiveDate> {
    Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

fn some(s: &str) -> Option<Text> {
    Some(Text::from(s))
}

fn push(id: &str, prepared: &str) -> PushRow {
    PushRow {
        push_id: id.into(),
        format: "PNRGOV".into(),
        prepared_at_utc: utc(prepared),
        flight_carrier: some("IB"),
        flight_number: some("6586"),
        dep_airport: some("BOG"),
        arr_airport: some("MAD"),
        dep_local: local("2026-12-01T20:00"),
        dep_utc: utc("2026-12-02T01:00:00Z"),
        dep_date: date("2026-12-01"),
        source_file: "f.edi".into(),
        ..Default::default()
    }
}

fn pnr(id: &str, push: &str, locator: &str, created: &str) -> PnrRow {
    PnrRow {
        pnr_id: id.into(),
        push_id: push.into(),
        carrier: some("IB"),
        record_locator: some(locator),
        created_at_utc: utc(created),
        ticketed_at_utc: utc("2026-11-30T12:00:00Z"),
        party_size: 1,
        dep_date: date("2026-12-01"),
        source_file: "f.edi".into(),
        ..Default::default()
    }
}

fn traveller(id: &str, pnr: &str, push: &str, surname: &str, given: &str, dob: &str, kind: &str) -> TravellerRow {
    TravellerRow {
        traveller_id: id.into(),
        pnr_id: pnr.into(),
        push_id: push.into(),
        surname: some(surname),
        given_name: some(given),
        traveller_type: kind.into(),
        date_of_birth: date(dob),
        dep_date: date("2026-12-01"),
        source_file: "f.edi".into(),
        ..Default::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn leg(pnr: &str, push: &str, seq: i64, dep: &str, arr: &str, dep_utc: &str, arr_utc: &str, pushed: bool) -> LegRow {
    LegRow {
        pnr_id: pnr.into(),
        push_id: push.into(),
        seq,
        segment_type: "air".into(),
        marketing_carrier: some("IB"),
        operating_carrier: some("IB"),
        dep_airport: some(dep),
        arr_airport: some(arr),
        dep_utc: utc(dep_utc),
        arr_utc: utc(arr_utc),
        status: some("HK"),
        is_pushed_flight: pushed,
        dep_date: date("2026-12-01"),
        source_file: "f.edi".into(),
        ..Default::default()
    }
}

/// Two pushes of flight IB6586 BOG-MAD on 2026-12-01 (departing 01:00 UTC on 2 December).
///
/// PNR A (ABC123) is pushed twice; the second version is the one scored. Its itinerary is
/// BOG-MAD (connection of 2.5 h) MAD-LHR, a week in London, LHR-BOG: a return trip. It carries an
/// adult SMITH, his daughter Smith/ANNA (9 at travel: she turns 10 the day after) and JONES/TOM
/// (16, no adult of his surname). PNR B (XYZ789) is a one-way BOG-MAD paid in cash.
pub fn fixture() -> Rows {
    let mut rows = Rows::default();
    rows.push.push(push("M1", "2026-11-29T01:00:00Z"));
    rows.push.push(push("M2", "2026-11-30T01:00:00Z"));
    // Version 1 of A (older push): only SMITH, one leg.
    rows.pnr.push(pnr("PA", "M1", "ABC123", "2026-11-28T01:00:00Z"));
    rows.traveller.push(traveller("TJOHN", "PA", "M1", "SMITH", "JOHN", "1980-05-10", "adult"));
    rows.leg.push(leg("PA", "M1", 1, "BOG", "MAD", "2026-12-02T01:00:00Z", "2026-12-02T12:00:00Z", true));
    // Version 2 of A.
    rows.pnr.push(PnrRow { party_size: 3, ..pnr("PA", "M2", "ABC123", "2026-11-28T01:00:00Z") });
    rows.traveller.push(traveller("TJOHN", "PA", "M2", "SMITH", "JOHN", "1980-05-10", "adult"));
    rows.traveller.push(traveller("TANNA", "PA", "M2", "Smith", "ANNA", "2016-12-02", "child"));
    rows.traveller.push(traveller("TTOM", "PA", "M2", "JONES", "TOM", "2010-01-01", "adult"));
    rows.leg.push(leg("PA", "M2", 1, "BOG", "MAD", "2026-12-02T01:00:00Z", "2026-12-02T12:00:00Z", true));
    rows.leg.push(leg("PA", "M2", 2, "MAD", "LHR", "2026-12-02T14:30:00Z", "2026-12-02T16:30:00Z", false));
    rows.leg.push(leg("PA", "M2", 3, "LHR", "BOG", "2026-12-09T10:00:00Z", "2026-12-09T20:00:00Z", false));
    rows.ticket.push(TicketRow {
        traveller_id: "TJOHN".into(),
        pnr_id: "PA".into(),
        push_id: "M2".into(),
        ticket_number: some("0751234567890"),
        issued_at_utc: utc("2026-12-01T13:00:00Z"),
        ..Default::default()
    });
    rows.payment.push(PaymentRow {
        pnr_id: "PA".into(),
        push_id: "M2".into(),
        seq: 1,
        fop_type: some("CC"),
        card_key: some("VI:1111:1228"),
        payer_name: some("MARIA GARCIA"),
        ..Default::default()
    });
    rows.contact.push(ContactRow {
        pnr_id: "PA".into(),
        push_id: "M2".into(),
        kind: "mobile".into(),
        value: "+573001112233".into(),
        source_segment: "SSR CTCM".into(),
        ..Default::default()
    });
    rows.checkin.push(CheckinRow {
        traveller_id: some("TJOHN"),
        pnr_id: "PA".into(),
        push_id: "M2".into(),
        leg_seq: 1,
        checked_in_at_utc: utc("2026-12-01T22:00:00Z"),
        bag_count: Some(2),
        bag_weight: Some(44.0),
        bag_weight_unit: some("lb"),
        tag_destinations: some("MAD"),
        ..Default::default()
    });
    // PNR B: one-way, cash, same phone as A.
    rows.pnr.push(pnr("PB", "M2", "XYZ789", "2026-12-01T19:00:00Z"));
    rows.traveller.push(traveller("TLUIS", "PB", "M2", "PEREZ", "LUIS", "1990-01-01", "adult"));
    rows.leg.push(leg("PB", "M2", 1, "BOG", "MAD", "2026-12-02T01:00:00Z", "2026-12-02T12:00:00Z", true));
    rows.payment.push(PaymentRow {
        pnr_id: "PB".into(),
        push_id: "M2".into(),
        seq: 1,
        fop_type: some("CA"),
        is_cash: true,
        ..Default::default()
    });
    rows.contact.push(ContactRow {
        pnr_id: "PB".into(),
        push_id: "M2".into(),
        kind: "phone".into(),
        value: "+573001112233".into(),
        source_segment: "ADD".into(),
        ..Default::default()
    });
    rows
}

pub fn engine(rows: &Rows) -> Engine {
    let pack = Pack::load(&root().join("rules")).expect("bundled pack loads");
    Engine::new(&pack, Limits::default(), Some(rows), ViewMode::Materialise).expect("engine")
}

/// One line per journey: the listed columns, '|'-separated, sorted by journey_id.
pub fn select(engine: &Engine, columns: &str) -> Vec<String> {
    let sql = format!("SELECT {columns} FROM traveller_journey ORDER BY journey_id");
    let batches = engine.sandbox().query(&sql).unwrap();
    let mut out = Vec::new();
    for b in &batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| {
                arrow::util::display::ArrayFormatter::try_new(
                    c.as_ref(),
                    &arrow::util::display::FormatOptions::default().with_null("NULL"),
                )
                .unwrap()
            })
            .collect();
        for r in 0..b.num_rows() {
            out.push(fmts.iter().map(|f| f.value(r).to_string()).collect::<Vec<_>>().join("|"));
        }
    }
    out
}

#[test]
fn the_latest_version_of_each_pnr_is_scored_once_per_traveller() {
    let e = engine(&fixture());
    assert_eq!(
        select(&e, "journey_id, push_id, versions_seen, record_locator, flight, flight_dep_utc"),
        vec![
            "TANNA|IB6586|2026-12-01|M2|2|ABC123|IB6586|2026-12-02T01:00:00Z",
            "TJOHN|IB6586|2026-12-01|M2|2|ABC123|IB6586|2026-12-02T01:00:00Z",
            "TLUIS|IB6586|2026-12-01|M2|1|XYZ789|IB6586|2026-12-02T01:00:00Z",
            "TTOM|IB6586|2026-12-01|M2|2|ABC123|IB6586|2026-12-02T01:00:00Z",
        ]
    );
}

/// Which version is the latest when preparation times are missing or equal, or when a push sends
/// a PNR (or a list names a passenger) twice. The winners are neither always the first nor always
/// the last row given.
#[test]
fn the_latest_version_is_chosen_by_preparation_time_then_push_id_then_place() {
    let mut rows = Rows::default();
    // Pushes "M9" (no preparation time) and "M3" (prepared): M3 is the newer, though M9 > M3.
    rows.push.push(PushRow { prepared_at_utc: None, ..push("M9", "2026-11-01T00:00:00Z") });
    rows.push.push(push("M3", "2026-11-29T01:00:00Z"));
    // "M4" and "M5" prepared at the same second: M5, the higher id, is the newer.
    rows.push.push(push("M4", "2026-11-30T01:00:00Z"));
    rows.push.push(push("M5", "2026-11-30T01:00:00Z"));
    for (pnr_id, push_id, offset, party) in [
        ("PC", "M9", 10, 1),
        ("PC", "M3", 10, 2),
        ("PD", "M5", 10, 3),
        ("PD", "M4", 10, 4),
        // PE twice in one push: the first copy in the file counts.
        ("PE", "M4", 900, 5),
        ("PE", "M4", 100, 6),
    ] {
        rows.pnr.push(PnrRow {
            party_size: party,
            source_offset: offset,
            ..pnr(pnr_id, push_id, "LOC", "2026-11-28T01:00:00Z")
        });
    }
    for (traveller_id, pnr_id, push_id) in
        [("TC", "PC", "M9"), ("TC", "PC", "M3"), ("TD", "PD", "M5"), ("TD", "PD", "M4"), ("TE", "PE", "M4")]
    {
        rows.traveller.push(traveller(traveller_id, pnr_id, push_id, "DOE", "JANE", "1980-01-01", "adult"));
    }
    // API: one passenger in two lists of equal preparation time, and twice in the newer one.
    for (push_id, offset, debark) in [("M4", 50, "MAD"), ("M5", 700, "LHR"), ("M5", 300, "CDG")] {
        rows.api_traveller.push(ApiTravellerRow {
            api_traveller_id: "A1".into(),
            push_id: push_id.into(),
            role: "passenger".into(),
            flight_carrier: some("IB"),
            flight_number: some("6586"),
            dep_date: date("2026-12-01"),
            surname: some("ROE"),
            debark_airport: some(debark),
            source_file: "f.edi".into(),
            source_offset: offset,
            ..Default::default()
        });
    }
    let e = engine(&rows);
    assert_eq!(
        select(&e, "traveller_id, push_id, versions_seen, party_size, source_offset"),
        vec!["TC|M3|2|2|10", "TD|M5|2|3|10", "TE|M4|2|6|100"]
    );
    assert_eq!(
        rendered(&e, "SELECT api_traveller_id, debark_airport, source_offset FROM api_passenger"),
        ["api_traveller_id|debark_airport|source_offset", "A1|CDG|300"]
    );
}

#[test]
fn trip_type_destination_stay_and_dwell() {
    let e = engine(&fixture());
    assert_eq!(
        select(
            &e,
            "traveller_id, trip_type, origin_airport, destination_airport, destination_country, final_airport, \
             leg_count, connections, stops, max_connection_hours, stay_hours, stay_days, countries_touched, connection_airports"
        ),
        vec![
            "TANNA|return|BOG|LHR|GB|BOG|3|1|1|2.5|161.5|6.729166666666667|[CO, ES, GB]|[MAD]",
            "TJOHN|return|BOG|LHR|GB|BOG|3|1|1|2.5|161.5|6.729166666666667|[CO, ES, GB]|[MAD]",
            "TLUIS|one_way|BOG|MAD|ES|MAD|1|0|0|NULL|NULL|NULL|[CO, ES]|NULL",
            "TTOM|return|BOG|LHR|GB|BOG|3|1|1|2.5|161.5|6.729166666666667|[CO, ES, GB]|[MAD]",
        ]
    );
}

#[test]
fn lead_times_are_hours_from_utc_instants() {
    let e = engine(&fixture());
    assert_eq!(
        select(&e, "traveller_id, hours_booked_before_departure, hours_ticketed_before_departure, ticket_count"),
        vec!["TANNA|96.0|37.0|0", "TJOHN|96.0|12.0|1", "TLUIS|6.0|37.0|0", "TTOM|96.0|37.0|0"]
    );
}

#[test]
fn minors_and_their_adults() {
    let e = engine(&fixture());
    assert_eq!(
        select(
            &e,
            "traveller_id, age_at_travel, is_minor, minor_without_same_surname_adult, minor_alone, \
             travellers_in_pnr, distinct_surnames"
        ),
        vec![
            "TANNA|9|true|false|false|3|2",
            "TJOHN|46|false|false|false|3|2",
            "TLUIS|36|false|false|false|1|1",
            "TTOM|16|true|true|false|3|2",
        ]
    );
}

#[test]
fn payments_contacts_bags_and_links() {
    let e = engine(&fixture());
    assert_eq!(
        select(
            &e,
            "traveller_id, paid_cash, paid_card, card_key, payer_is_traveller, has_phone, shared_phone_pnrs, \
             shared_card_pnrs, checked_in, bag_count, round(bag_weight_kg, 2), bags_short_checked"
        ),
        vec![
            "TANNA|false|true|VI:1111:1228|false|true|2|1|false|NULL|NULL|false",
            "TJOHN|false|true|VI:1111:1228|false|true|2|1|true|2|19.96|true",
            "TLUIS|true|false|NULL|true|true|2|0|false|NULL|NULL|false",
            "TTOM|false|true|VI:1111:1228|false|true|2|1|false|NULL|NULL|false",
        ]
    );
}

/// Every row of `sql`, rendered, with its columns' names first.
pub fn rendered(engine: &Engine, sql: &str) -> Vec<String> {
    let batches = engine.sandbox().query(sql).unwrap();
    let mut out = Vec::new();
    if let Some(b) = batches.first() {
        out.push(b.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join("|"));
    }
    for b in &batches {
        let cols: Vec<Vec<Option<String>>> =
            b.columns().iter().map(|c| paxrisk::audit::texts(c.as_ref()).unwrap()).collect();
        for i in 0..b.num_rows() {
            out.push(cols.iter().map(|c| c[i].clone().unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join("|"));
        }
    }
    out
}

/// The engine computes each CTE of a view once (as a temporary table); the rows must be exactly
/// those of the view's SQL run as written, where DataFusion inlines every CTE.
#[test]
fn views_computed_cte_by_cte_equal_the_sql_run_as_written() {
    let r = paxrisk::ingest::ingest_paths(&[root().join("sample-data")], &crate::util::config()).unwrap();
    let engine = engine(&r.rows);
    let pack = Pack::load(&root().join("rules")).unwrap();
    for view in &pack.views {
        assert!(paxrisk::rules::cte::split(&view.sql).is_some(), "{} has a WITH clause to split", view.name);
        let key = view.key.as_deref().unwrap();
        let materialised = rendered(&engine, &format!("SELECT * FROM {} ORDER BY {key}", view.name));
        let as_written = rendered(&engine, &format!("SELECT * FROM (\n{}\n) v ORDER BY {key}", view.sql));
        assert!(materialised.len() > 100, "{}: {} rows", view.name, materialised.len());
        assert_eq!(materialised.len(), as_written.len(), "{}", view.name);
        for (a, b) in materialised.iter().zip(&as_written) {
            assert_eq!(a, b, "{}", view.name);
        }
    }
}
