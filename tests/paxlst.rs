//! PAXLST (API) ingest: the public conformance corpus with its documented counts, exact field
//! values, and crew kept apart from passengers.

use paxrisk::landing::schema::ApiTravellerRow;

use crate::util::*;

/// (file, passengers, crew) from `../shared/conformance/gtas/README.md`.
const EXPECTED: &[(&str, usize, usize)] = &[
    ("Test1.txt", 0, 8),
    ("Test3.txt", 260, 0),
    ("apisMessage.txt", 2, 0),
    ("flight1.txt", 10, 0),
    ("flight2.txt", 10, 0),
    ("multiple_flight_leg_apis.txt", 2, 0),
];

#[test]
fn every_paxlst_corpus_file_loads_the_documented_passengers_and_crew() {
    let Some(dir) = corpus("paxlst") else { return };
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "the test must cover every corpus file");
    for &(name, passengers, crew) in EXPECTED {
        let r = ingest_file(&dir.join(name));
        assert_invariants(&r);
        let f = &r.files[0];
        assert_eq!(f.format, "PAXLST", "{name}");
        assert_eq!((f.messages_read, f.messages_loaded), (1, 1), "{name}: messages");
        assert!(r.rows.rejects.is_empty(), "{name}: {:?}", r.rows.rejects);
        let count = |role: &str| r.rows.api_traveller.iter().filter(|a| a.role == role).count();
        assert_eq!(count("passenger"), passengers, "{name}: passengers");
        assert_eq!(count("crew"), crew, "{name}: crew");
        assert_eq!(f.counts.api_persons_loaded as usize, passengers + crew, "{name}");
        assert!(r.rows.traveller.is_empty() && r.rows.pnr.is_empty(), "{name}: API is never a PNR");
        assert_eq!(r.rows.push.len(), 1);
        assert_eq!(r.rows.push[0].format, "PAXLST");
    }
}

fn one(name: &str, surname: &str) -> (ApiTravellerRow, paxrisk::landing::schema::PushRow) {
    let dir = corpus("paxlst").unwrap();
    let r = ingest_file(&dir.join(name));
    let a = r.rows.api_traveller.iter().find(|a| a.surname.as_deref() == Some(surname)).unwrap().clone();
    (a, r.rows.push[0].clone())
}

fn d(s: &str) -> Option<chrono::NaiveDate> {
    Some(s.parse().unwrap())
}

#[test]
fn progressive_itinerary_fields_are_exact() {
    if corpus("paxlst").is_none() {
        return;
    }
    let (a, p) = one("multiple_flight_leg_apis.txt", "BARRETT");
    assert_eq!(a.role, "passenger");
    assert_eq!(a.list_type.as_deref(), Some("passenger"));
    assert_eq!(a.given_name.as_deref(), Some("TODD"));
    assert_eq!(a.gender.as_deref(), Some("M"));
    assert_eq!(a.date_of_birth, d("1968-02-23"));
    assert_eq!(a.nationality.as_deref(), Some("FRA"));
    assert_eq!(a.residence_country.as_deref(), Some("FRA"));
    assert_eq!((a.embark_airport.as_deref(), a.debark_airport.as_deref()), (Some("MIA"), Some("CDG")));
    assert_eq!(a.record_locator.as_deref(), Some("GJIO3RT"));
    assert_eq!(a.passenger_ref.as_deref(), Some("UUI34T543"));
    assert_eq!((a.doc_type.as_deref(), a.doc_number.as_deref()), (Some("P"), Some("YY3478621G")));
    assert_eq!((a.doc_issuer.as_deref(), a.doc_expiry), (Some("FRA"), d("2008-12-30")));
    // The reported leg is the one crossing the border (LOC 125/87), not the domestic legs.
    assert_eq!((a.flight_carrier.as_deref(), a.flight_number.as_deref()), (Some("QQ"), Some("827")));
    assert_eq!((a.dep_airport.as_deref(), a.arr_airport.as_deref()), (Some("JFK"), Some("CDG")));
    assert_eq!(a.dep_local.map(|t| t.to_string()).as_deref(), Some("2008-08-10 20:00:00"));
    assert_eq!(a.legs.as_deref(), Some("QQ877:MIA-IAD;QQ827:IAD-JFK;QQ827:JFK-CDG"));
    assert!(a.api_traveller_id.starts_with('A') && a.api_traveller_id.len() == 17);
    assert_eq!(p.dep_utc.map(|t| t.to_rfc3339()).as_deref(), Some("2008-08-11T00:00:00+00:00"));
    assert_eq!(p.sender.as_deref(), Some("APIS*ABE"));
}

#[test]
fn passenger_list_fields_are_exact() {
    if corpus("paxlst").is_none() {
        return;
    }
    let (a, p) = one("apisMessage.txt", "CLARK");
    assert_eq!(a.given_name.as_deref(), Some("MICHAEL"));
    assert_eq!(a.date_of_birth, d("1972-09-07"));
    assert_eq!((a.embark_airport.as_deref(), a.debark_airport.as_deref()), (Some("ATL"), Some("JFK")));
    assert_eq!(a.record_locator.as_deref(), Some("TYR123"));
    assert_eq!(a.doc_number, None);
    // Two progressive legs and none crossing a border: the last leg is reported.
    assert_eq!((a.flight_carrier.as_deref(), a.flight_number.as_deref()), (Some("AA"), Some("124")));
    assert_eq!((p.dep_airport.as_deref(), p.arr_airport.as_deref()), (Some("ORD"), Some("JFK")));
    assert_eq!(p.dep_date, d("2007-02-19"));
}

#[test]
fn crew_list_fields_are_exact_and_crew_are_never_passengers() {
    if corpus("paxlst").is_none() {
        return;
    }
    let (a, _) = one("Test1.txt", "Steur");
    assert_eq!(a.role, "crew");
    assert_eq!(a.list_type.as_deref(), Some("crew"));
    assert_eq!(a.list_change.as_deref(), Some("C"));
    assert_eq!((a.given_name.as_deref(), a.middle_name.as_deref()), (Some("Andrea"), Some("Pat")));
    assert_eq!(a.gender.as_deref(), Some("F"));
    assert_eq!(a.date_of_birth, d("1978-07-06"));
    assert_eq!(a.first_arrival_airport.as_deref(), Some("IAD"));
    assert_eq!(a.birth_place.as_deref(), Some("Hartford USA"));
    assert_eq!(
        (a.doc_type.as_deref(), a.doc_number.as_deref(), a.doc_issuer.as_deref()),
        (Some("P"), Some("123456789"), Some("GBR"))
    );
    assert_eq!(a.doc_expiry, d("2061-02-18"));
    assert_eq!((a.flight_carrier.as_deref(), a.flight_number.as_deref()), (Some("UA"), Some("0989")));
}

#[test]
fn the_same_list_sent_twice_is_loaded_once() {
    let Some(dir) = corpus("paxlst") else { return };
    let copy = tempdir().join("again.txt");
    std::fs::copy(dir.join("flight1.txt"), &copy).unwrap();
    let r = paxrisk::ingest::ingest_files(&[dir.join("flight1.txt"), copy], &config());
    assert_invariants(&r);
    assert_eq!(r.rows.api_traveller.len(), 10);
    let t = r.totals();
    assert_eq!((t.counts.api_persons_read, t.counts.api_persons_loaded, t.counts.api_persons_duplicate), (20, 10, 10));
}
