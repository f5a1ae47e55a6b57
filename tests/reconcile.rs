//! API↔PNR reconciliation in `traveller_journey`, on a hand-written push and passenger list for
//! one flight: exact links, their method, the comparison flags, and ambiguous cases left unlinked.

use crate::util::{config, tempdir};

const PNRGOV: &str = "UNA:+.? '
UNB+IATA:1+XX+YY+261201:0100+R1'
UNH+1+PNRGOV:13:1:IA+XX123/011226'
MSG+:22'
ORG+XX:BOG'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
EQN+5'
SRC'
RCI+XX:AAA111::201126:1000'
TIF+GARCIA+ANA:A:1'
SSR+DOCS:HK::XX:::::/P/ESP/X7654321/ESP/12MAR85/F/01JAN31/GARCIA/ANA'
TIF+PEREZ+LUIS:A:2'
SSR+DOCS:HK::XX:::::/P/COL/PA1234567/COL/01JAN90/M/01JAN34/PEREZ/LUIS'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
SRC'
RCI+XX:BBB222::201126:1000'
TIF+SMITH+JOHN:A:1'
TIF+SMITH+JOHN:A:2'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
SRC'
RCI+XX:CCC333::201126:1000'
TIF+LOPEZ+MARIA:A:1'
SSR+DOCS:HK::XX:::::/P/COL/L1111111/COL/05MAY70/F/01JAN31/LOPEZ/MARIA'
TIF+DIAZ+PEDRO:A:2'
SSR+DOCS:HK::XX:::::/P/COL/D5555555/COL/01JAN80/M/01JAN31/DIAZ/PEDRO'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
SRC'
RCI+XX:DDD444::201126:1000'
TIF+RUIZ+ANA:A:1'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
TVL+021226:1600:021226:1830+MAD+LHR+XX+900'
SRC'
RCI+XX:EEE555::201126:1000'
TIF+BROWN+TOM:A:1'
SSR+DOCS:HK::XX:::::/P/GBR/B1111111/GBR/01JUN60/M/01JAN31/BROWN/TOM'
TIF+BROWN+TOM:A:2'
SSR+DOCS:HK::XX:::::/P/GBR/B2222222/GBR/02JUL95/M/01JAN31/BROWN/TOM'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
UNT+37+1'
UNZ+1+R1'
";

// GARCIA: same in every field. PEREZ: another passport. The SMITHs: two JOHN SMITHs of one
// PNR, and the PNR gives no birth date to tell them apart. LOPEZ: no locator in API, found by
// name and birth date. DIAZ: no locator, another birth date, found by document. RUIZ: booked
// on to London, API ends the journey in Madrid. NOBODY: listed, booked nowhere. The BROWNs: a
// father and son of one PNR, told apart by the birth dates in their DOCS.
const PAXLST: &str = "UNA:+.? '
UNB+UNOA:4+XX+YY+261201:1930+A1'
UNH+1+PAXLST:D:05B:UN:IATA'
BGM+745'
NAD+MS+++XX API'
TDT+20+XX123+++XX'
LOC+125+BOG'
DTM+189:2612012000:201'
LOC+87+MAD'
DTM+232:2612021300:201'
NAD+FL+++GARCIA:ANA'
DTM+329:850312'
RFF+AVF:AAA111'
DOC+P+X7654321'
NAD+FL+++PEREZ:LUIS'
DTM+329:900101'
RFF+AVF:AAA111'
DOC+P+ZZ9999999'
NAD+FL+++SMITH:JOHN'
DTM+329:700101'
RFF+AVF:BBB222'
NAD+FL+++SMITH:JOHN'
DTM+329:020202'
RFF+AVF:BBB222'
NAD+FL+++LOPEZ:MARIA'
DTM+329:700505'
DOC+P+L0000000'
NAD+FL+++DIAZ:PEDRO'
DTM+329:810101'
DOC+P+D5555555'
NAD+FL+++RUIZ:ANA'
LOC+179+MAD'
RFF+AVF:DDD444'
NAD+FL+++NOBODY:X'
RFF+AVF:ZZZ999'
NAD+FL+++BROWN:TOM'
DTM+329:950702'
RFF+AVF:EEE555'
NAD+FL+++BROWN:TOM'
DTM+329:600601'
RFF+AVF:EEE555'
CNT+42:10'
UNT+41+1'
UNZ+1+A1'
";

#[test]
fn api_travellers_link_to_pnr_travellers_exactly_and_ambiguity_stays_unlinked() {
    let dir = tempdir();
    std::fs::write(dir.join("push.edi"), PNRGOV).unwrap();
    std::fs::write(dir.join("api.edi"), PAXLST).unwrap();
    let r = paxrisk::ingest::ingest_paths(&[dir], &config()).unwrap();
    assert!(r.rows.rejects.is_empty(), "{:?}", r.rows.rejects);
    assert_eq!(r.rows.api_traveller.len(), 10);
    let engine = crate::views::engine(&r.rows);
    let got = crate::views::select(
        &engine,
        "surname, given_name, date_of_birth, api_list_received, api_linked, api_link_method, \
         api_doc_number_differs, api_dob_differs, api_name_differs, api_missing, api_debarks_short",
    );
    let mut got: Vec<String> = got;
    got.sort();
    assert_eq!(
        got,
        [
            "BROWN|TOM|1960-06-01|true|true|locator_name_dob|false|false|false|false|false",
            "BROWN|TOM|1995-07-02|true|true|locator_name_dob|false|false|false|false|false",
            "DIAZ|PEDRO|1980-01-01|true|true|document|false|true|false|false|false",
            "GARCIA|ANA|1985-03-12|true|true|locator_name_dob|false|false|false|false|false",
            "LOPEZ|MARIA|1970-05-05|true|true|name_dob|true|false|false|false|false",
            "PEREZ|LUIS|1990-01-01|true|true|locator_name_dob|true|false|false|false|false",
            "RUIZ|ANA|NULL|true|true|locator_name|false|false|false|false|true",
            "SMITH|JOHN|NULL|true|false|NULL|false|false|false|true|false",
            "SMITH|JOHN|NULL|true|false|NULL|false|false|false|true|false",
        ]
    );

    // The other way round: every API passenger, and whether a PNR traveller links to it.
    let batches = engine
        .sandbox()
        .query("SELECT surname, given_name, pnr_linked, link_method FROM api_passenger ORDER BY surname, given_name, api_traveller_id")
        .unwrap();
    let mut rows = Vec::new();
    for b in &batches {
        let cols: Vec<Vec<Option<String>>> =
            b.columns().iter().map(|c| paxrisk::audit::texts(c.as_ref()).unwrap()).collect();
        for i in 0..b.num_rows() {
            rows.push(cols.iter().map(|c| c[i].clone().unwrap_or_else(|| "NULL".into())).collect::<Vec<_>>().join("|"));
        }
    }
    assert_eq!(
        rows,
        [
            "BROWN|TOM|true|locator_name_dob",
            "BROWN|TOM|true|locator_name_dob",
            "DIAZ|PEDRO|true|document",
            "GARCIA|ANA|true|locator_name_dob",
            "LOPEZ|MARIA|true|name_dob",
            "NOBODY|X|false|NULL",
            "PEREZ|LUIS|true|locator_name_dob",
            "RUIZ|ANA|true|locator_name",
            "SMITH|JOHN|false|NULL",
            "SMITH|JOHN|false|NULL",
        ]
    );
}
