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

/// A D:12B list as carriers send it since 2012: four-digit years (DTM formats 203 and 102),
/// `DOC` with its code list qualifiers, `GEI` verification, `FTX+BAG`, `RFF+ABO`, a crew member
/// with `EMP`, and a departure in the night clocks went forward in Madrid.
const D12B: &str = "UNA:+.? '
UNB+UNOA:4+IBAPI+ESAPI+260329:0100+D12B1'
UNH+1+PAXLST:D:12B:UN:IATA+IB3456/260329/0230+01:F'
BGM+745+CL'
RFF+TN:IB3456260329'
NAD+MS+++IBERIA API DESK'
COM+34913000000:TE+api@iberia.example:EM'
TDT+20+IB3456+++IB'
LOC+125+MAD'
DTM+189:202603290230:203'
LOC+87+BOG'
DTM+232:202603290830:203'
NAD+FL+++MARTINEZ SOTO:LUCIA:ISABEL+CALLE MAYOR 1+MADRID++28013+ESP'
ATT+2++F'
DTM+329:19880214:102'
GEI+4+173'
FTX+BAG+++IB123456:2'
LOC+178+MAD'
LOC+179+BOG'
LOC+174+ESP'
LOC+180+:::SEVILLA'
NAT+2+ESP'
RFF+AVF:QWE123'
RFF+ABO:0012345678901'
RFF+SEA:23A'
DOC+P:110:111+PAB123456'
DTM+36:20310214:102'
DTM+182:20210215:102'
LOC+91+ESP'
DOC+V:110:111+V998877'
LOC+91+COL'
NAD+FM+++GOMEZ:PABLO'
ATT+2++M'
DTM+329:19750101:102'
EMP+1+CR1:110:111'
NAT+2+ESP'
DOC+P:110:111+PAC654321'
DTM+36:20300101:102'
LOC+91+ESP'
CNT+42:1'
CNT+41:1'
UNT+40+1'
UNZ+1+D12B1'
";

#[test]
fn a_d12b_list_reads_four_digit_years_qualified_documents_and_crew() {
    let r = ingest_text("IB3456_D12B.edi", D12B.as_bytes());
    assert_invariants(&r);
    assert!(r.rows.rejects.is_empty(), "{:?}", r.rows.rejects);
    assert_eq!(r.files[0].format, "PAXLST");
    let p = &r.rows.push[0];
    assert_eq!(p.version.as_deref(), Some("D.12B"));
    assert_eq!((p.flight_carrier.as_deref(), p.flight_number.as_deref()), (Some("IB"), Some("3456")));
    assert_eq!((p.dep_airport.as_deref(), p.arr_airport.as_deref()), (Some("MAD"), Some("BOG")));
    assert_eq!(p.dep_local, "2026-03-29T02:30:00".parse().ok());
    // 02:30 does not exist in Madrid that night: read as 03:30 CEST, 01:30 UTC, and said so.
    assert_eq!(p.dep_utc, "2026-03-29T01:30:00Z".parse().ok());
    assert_eq!(diag_codes(&r), ["LOCAL_TIME_IN_DST_GAP"]);

    let a = r.rows.api_traveller.iter().find(|a| a.role == "passenger").unwrap();
    assert_eq!(a.list_type.as_deref(), Some("passenger"));
    assert_eq!(a.list_change.as_deref(), Some("CL"));
    assert_eq!(
        (a.surname.as_deref(), a.given_name.as_deref(), a.middle_name.as_deref()),
        (Some("MARTINEZ SOTO"), Some("LUCIA"), Some("ISABEL"))
    );
    assert_eq!(a.gender.as_deref(), Some("F"));
    assert_eq!(a.date_of_birth, d("1988-02-14"));
    assert_eq!((a.embark_airport.as_deref(), a.debark_airport.as_deref()), (Some("MAD"), Some("BOG")));
    assert_eq!((a.residence_country.as_deref(), a.birth_place.as_deref()), (Some("ESP"), Some("SEVILLA")));
    assert_eq!(a.nationality.as_deref(), Some("ESP"));
    assert_eq!(
        (a.record_locator.as_deref(), a.passenger_ref.as_deref(), a.seat.as_deref()),
        (Some("QWE123"), Some("0012345678901"), Some("23A"))
    );
    assert_eq!((a.doc_type.as_deref(), a.doc_number.as_deref()), (Some("P"), Some("PAB123456")));
    assert_eq!((a.doc_expiry, a.doc_issued), (d("2031-02-14"), d("2021-02-15")));
    assert_eq!(a.doc_issuer.as_deref(), Some("ESP"));
    assert_eq!(a.other_documents.as_deref(), Some("V:V998877:COL"));
    assert_eq!(a.dep_date, d("2026-03-29"));

    let c = r.rows.api_traveller.iter().find(|a| a.role == "crew").unwrap();
    assert_eq!((c.surname.as_deref(), c.date_of_birth), (Some("GOMEZ"), d("1975-01-01")));
    assert_eq!((c.doc_number.as_deref(), c.doc_expiry), (Some("PAC654321"), d("2030-01-01")));
    assert_eq!(r.rows.api_traveller.len(), 2);
}
