//! Field-level checks on corpus files: exact values for the columns targeting rules rely on.

use chrono::{NaiveDate, TimeZone, Utc};
use paxrisk::landing::schema::*;

use crate::util::*;

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Option<chrono::DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap())
}

fn traveller<'a>(r: &'a paxrisk::ingest::Ingested, surname: &str, given: &str) -> &'a TravellerRow {
    r.rows
        .traveller
        .iter()
        .find(|t| t.surname.as_deref() == Some(surname) && t.given_name.as_deref() == Some(given))
        .unwrap_or_else(|| {
            panic!(
                "no traveller {surname}/{given} in {:?}",
                r.rows.traveller.iter().map(|t| (&t.surname, &t.given_name)).collect::<Vec<_>>()
            )
        })
}

#[test]
fn basic_pnr_names_documents_legs_payment_and_seat() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("2_pnrs_basic.edi"));
    let p = &r.rows.pnr[0];
    assert_eq!((p.carrier.as_deref(), p.record_locator.as_deref()), (Some("DL"), Some("MFN4TI")));
    assert_eq!(p.agency_iata.as_deref(), Some("52519950"));
    assert_eq!(p.booking_country.as_deref(), Some("GB"));
    assert_eq!(p.last_txn_at_utc, utc(2010, 12, 6, 10, 10));
    assert_eq!(p.split_locators.as_deref(), Some("DL:ABCDEF"));

    let smith = traveller(&r, "SMITHJR", "JOHN");
    assert_eq!(smith.title.as_deref(), Some("MR"));
    assert_eq!(smith.given_name_raw.as_deref(), Some("JOHNMR"));
    assert_eq!(smith.doc_number.as_deref(), Some("123456789"));
    assert_eq!(smith.nationality.as_deref(), Some("GBR"));
    assert_eq!(smith.date_of_birth, date(1964, 7, 12));
    assert_eq!(smith.doc_expiry, date(2019, 8, 23));
    // The DOCS surname was wrapped across two lines in the file.
    assert_eq!(smith.doc_surname.as_deref(), Some("SMITHJR"));
    assert_eq!(smith.frequent_flyer_number.as_deref(), Some("1234567890"));
    assert_eq!(smith.frequent_flyer_tier.as_deref(), Some("ELITE"));

    let legs: Vec<_> = r.rows.leg.iter().filter(|l| l.pnr_id == p.pnr_id).collect();
    assert_eq!(legs.len(), 2);
    assert_eq!((legs[0].dep_airport.as_deref(), legs[0].arr_airport.as_deref()), (Some("LHR"), Some("JFK")));
    assert_eq!(legs[0].dep_local, date(2010, 12, 12).and_then(|d| d.and_hms_opt(9, 15, 0)));
    assert_eq!(legs[0].dep_utc, utc(2010, 12, 12, 9, 15));
    assert_eq!(legs[0].arr_utc, utc(2010, 12, 12, 17, 30), "12:30 in New York in December is 17:30 UTC");
    assert_eq!(legs[0].booking_class.as_deref(), Some("B"));
    assert!(legs[0].is_pushed_flight);
    assert!(!legs[1].is_pushed_flight);
    assert_eq!(legs[1].arr_utc, utc(2010, 12, 13, 7, 30), "23:30 in Vancouver is 07:30 UTC the next day");

    let pay: Vec<_> =
        r.rows.payment.iter().filter(|x| x.traveller_id.as_deref() == Some(smith.traveller_id.as_str())).collect();
    assert_eq!(pay.len(), 1);
    assert_eq!(pay[0].fop_type.as_deref(), Some("CC"));
    assert_eq!(pay[0].card_key.as_deref(), Some("VI:1186:0211"));
    assert_eq!(pay[0].payer_name.as_deref(), Some("TIMOTHY SIMS"));
    assert_eq!(pay[0].payer_phone.as_deref(), Some("7705632891"));

    let seat = r.rows.checkin.iter().find(|c| c.traveller_id.as_deref() == Some(smith.traveller_id.as_str())).unwrap();
    assert_eq!((seat.seat.as_deref(), seat.cabin.as_deref(), seat.leg_seq), (Some("15A"), Some("Y"), 1));
    assert_eq!(seat.checked_in_at_utc, utc(2010, 12, 11, 9, 15));

    let t = r.rows.ticket.iter().find(|t| t.traveller_id == smith.traveller_id).unwrap();
    assert_eq!(t.ticket_number.as_deref(), Some("0062120234533"));
    assert_eq!((t.base_fare, t.total_fare), (Some(2888.0), Some(2957.94)));
    assert_eq!(t.refundable, Some(false));
    assert_eq!(t.issued_at_utc, utc(2010, 12, 6, 12, 0));
    // AVML (Asian vegetarian meal) reveals religion: dropped, counted, never stored.
    assert!(r.drops.by_code.get("AVML").copied().unwrap_or(0) >= 1);
    assert!(!r.rows.ssr.iter().any(|s| s.code.as_deref() == Some("AVML")));
    assert!(!r.rows.history.iter().any(|h| h.item.as_deref().is_some_and(|i| i.contains("AVML"))));
}

#[test]
fn bags_weights_tags_and_seat_from_a_large_push() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("pnrWithBags.txt"));
    let t = traveller(&r, "FENNER", "JACKI");
    assert_eq!(t.title.as_deref(), Some("MRS"));
    assert_eq!(t.doc_issuer.as_deref(), Some("USA"));
    assert_eq!(t.doc_number.as_deref(), Some("448763368"));
    assert_eq!(t.date_of_birth, date(1970, 6, 2));
    let p = r.rows.pnr.iter().find(|p| p.pnr_id == t.pnr_id).unwrap();
    assert_eq!(p.record_locator.as_deref(), Some("157313"));
    assert_eq!(p.created_at_utc, utc(2018, 8, 14, 12, 20));
    let c: Vec<_> =
        r.rows.checkin.iter().filter(|c| c.traveller_id.as_deref() == Some(t.traveller_id.as_str())).collect();
    assert_eq!(c.len(), 3);
    assert_eq!((c[0].bag_count, c[0].bag_weight, c[0].bag_weight_unit.as_deref()), (Some(1), Some(53.0), Some("lb")));
    assert_eq!((c[0].bag_tags.as_deref(), c[0].tag_destinations.as_deref()), (Some("ET:0443"), Some("FRA")));
    assert_eq!(c[2].seat.as_deref(), Some("22J"));
    assert_eq!(c[0].seat, None, "XXX means no seat assigned");
    let pay = r.rows.payment.iter().find(|x| x.traveller_id.as_deref() == Some(t.traveller_id.as_str())).unwrap();
    assert_eq!(
        (pay.fop_type.as_deref(), pay.amount, pay.card_vendor.as_deref()),
        (Some("CC"), Some(100.0), Some("VI"))
    );
    assert_eq!(pay.card_number_masked.as_deref(), Some("XXXXXXXXXXXX9198"));
    let email = r
        .rows
        .contact
        .iter()
        .find(|x| x.traveller_id.as_deref() == Some(t.traveller_id.as_str()) && x.kind == "email")
        .unwrap();
    assert_eq!(email.value, "jacki.fenner@hotmail.com");
    // A partly visible card number is masked down to its last four digits.
    let emmett = traveller(&r, "EMMETT", "JOSEPH");
    let pay = r.rows.payment.iter().find(|x| x.traveller_id.as_deref() == Some(emmett.traveller_id.as_str())).unwrap();
    assert_eq!(pay.card_number_masked.as_deref(), Some("XXXXXXXXXXX6916"));
}

#[test]
fn infant_links_to_its_adult_and_gets_its_own_document() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("infant.edi"));
    let adult = traveller(&r, "BELT", "ISABELLE");
    let infant = traveller(&r, "BELT", "SOPHY");
    assert_eq!(infant.traveller_type, "infant");
    assert_eq!(infant.infant_of.as_deref(), Some(adult.traveller_id.as_str()));
    assert!(adult.with_infant);
    assert_eq!((adult.doc_number.as_deref(), adult.date_of_birth), (Some("509229987"), date(1978, 7, 1)));
    assert_eq!(
        (infant.doc_number.as_deref(), infant.date_of_birth, infant.gender.as_deref()),
        (Some("512731999"), date(2012, 9, 20), Some("FI"))
    );
    let leg = &r.rows.leg[0];
    assert_eq!(leg.dep_utc, utc(2013, 5, 27, 6, 30), "14:30 in Singapore is 06:30 UTC");
    assert_eq!(leg.arr_utc, utc(2013, 5, 27, 13, 5), "22:05 in Seoul is 13:05 UTC");
    let c = r.rows.checkin.iter().find(|c| c.traveller_id.as_deref() == Some(adult.traveller_id.as_str())).unwrap();
    assert_eq!((c.seat.as_deref(), c.cabin.as_deref()), (Some("011D"), Some("J")));
    assert_eq!((c.bag_count, c.bag_weight, c.bag_weight_unit.as_deref()), (Some(3), Some(33.0), Some("kg")));
    assert_eq!(c.pool_role.as_deref(), Some("HP"));
    assert_eq!(c.boarding_sequence.as_deref(), Some("SIN-168"));
}

#[test]
fn doco_visa_cash_payment_and_email() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("pnrWithDoco.txt"));
    let t = traveller(&r, "ACKARY", "CHARLES");
    assert_eq!(t.birth_place.as_deref(), Some("HERE VA"));
    assert_eq!((t.visa_type.as_deref(), t.visa_number.as_deref()), (Some("V"), Some("8675309")));
    assert_eq!(
        (t.visa_issue_place.as_deref(), t.visa_issue_date, t.visa_valid_for.as_deref()),
        (Some("OTHER PLACE"), date(2006, 12, 22), Some("LI"))
    );
    assert_eq!(t.doc_number.as_deref(), Some("602120901"));
    assert_eq!(t.date_of_birth, date(1948, 12, 26));
    let pay = r.rows.payment.iter().find(|x| x.traveller_id.as_deref() == Some(t.traveller_id.as_str())).unwrap();
    assert!(pay.is_cash);
    assert_eq!(pay.amount, Some(250.0));
    // RCI without the control-type component: date and time still found.
    assert_eq!(r.rows.pnr[0].created_at_utc, utc(2018, 4, 11, 12, 20));
    let email = r.rows.contact.iter().find(|c| c.kind == "email").unwrap();
    assert_eq!(email.value, "charles.ackary@yahoo.com");
    let push = &r.rows.push[0];
    assert_eq!((push.flight_carrier.as_deref(), push.flight_number.as_deref()), (Some("UA"), Some("988")));
    assert_eq!(
        push.arr_local,
        date(2018, 5, 12).and_then(|d| d.and_hms_opt(15, 5, 0)),
        "arrival time in the arrival-date slot"
    );
    assert_eq!(push.dep_utc, utc(2018, 5, 12, 10, 20));
}

#[test]
fn codeshare_operating_flight_agency_and_pooled_bags() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("codeshare.edi"));
    let t = traveller(&r, "PARK", "SEJOON");
    assert_eq!((t.doc_number.as_deref(), t.nationality.as_deref()), (Some("JR3364288"), Some("KR")));
    let p = r.rows.pnr.iter().find(|p| p.pnr_id == t.pnr_id).unwrap();
    assert_eq!(p.other_locators.as_deref(), Some("KE:EDP2RW"));
    assert_eq!(
        (p.office_id.as_deref(), p.agent_type.as_deref(), p.booking_country.as_deref()),
        (Some("HDQKE2400"), Some("A"), Some("KR"))
    );
    let leg = r.rows.leg.iter().find(|l| l.pnr_id == t.pnr_id).unwrap();
    assert_eq!((leg.marketing_carrier.as_deref(), leg.operating_carrier.as_deref()), (Some("KE"), Some("SQ")));
    assert_eq!((leg.marketing_flight.as_deref(), leg.operating_flight.as_deref()), (Some("609"), Some("303")));
    assert!(leg.is_pushed_flight);
    let c = r.rows.checkin.iter().find(|c| c.traveller_id.as_deref() == Some(t.traveller_id.as_str())).unwrap();
    assert_eq!((c.seat.as_deref(), c.bag_count, c.bag_weight), (Some("039G"), Some(2), Some(34.0)));
    assert_eq!((c.pool_role.as_deref(), c.tag_count), (Some("MP"), Some(5)));
    assert_eq!(c.bag_tags.as_deref(), Some("618:1026000001+2;618:1026000002+3"));
}

#[test]
fn custom_separators_seat_requests_and_escaped_email() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("danglingMetaCharacter.txt"));
    let t = traveller(&r, "SERIO", "REUBEN");
    assert_eq!(
        (t.doc_number.as_deref(), t.nationality.as_deref(), t.date_of_birth),
        (Some("9173574"), Some("THA"), date(1994, 10, 20))
    );
    let kinds: Vec<(Text, Text)> = r.rows.contact.iter().map(|c| (c.kind.clone(), c.value.clone())).collect();
    assert!(kinds.contains(&("email".into(), "reuben_serio@gmail.com".into())), "{kinds:?}");
    assert!(kinds.contains(&("agency".into(), "8667464647".into())), "{kinds:?}");
    assert_eq!(r.rows.leg.len(), 3);
    assert_eq!(r.rows.payment[0].fop_type.as_deref(), Some("MS"));

    let r = ingest_file(&dir.join("pnrSeatFormats.txt"));
    let email = r.rows.contact.iter().find(|c| c.kind == "email").unwrap();
    assert_eq!(email.value, "molly_ruuunt+50bb@gmail.com", "release character before '+' in an e-mail");
    let seats: Vec<Option<&str>> =
        r.rows.ssr.iter().filter(|s| s.code.as_deref() == Some("NSST")).map(|s| s.seat.as_deref()).collect();
    assert_eq!(seats, vec![Some("074E")]);
}

/// Two JOHN SMITHs (a father and son) in each of three PNRs: documents under each traveller,
/// documents sent once per leg with no reference, and namesakes without references at all.
#[test]
fn namesakes_in_one_pnr_keep_their_own_documents_and_ids() {
    let text = "UNA:+.? '
UNB+IATA:1+XX+YY+261201:0100+R1'
UNH+1+PNRGOV:13:1:IA+XX123/011226'
MSG+:22'
ORG+XX:BOG'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
EQN+3'
SRC'
RCI+XX:AAA111::201126:1000'
TIF+SMITH+JOHN:A:1'
SSR+DOCS:HK::XX:::::/P/GBR/111111111/GBR/01JAN70/M/01JAN31/SMITH/JOHN'
TIF+SMITH+JOHN:A:2'
SSR+DOCS:HK::XX:::::/P/GBR/222222222/GBR/02FEB02/M/01JAN32/SMITH/JOHN'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
SRC'
RCI+XX:BBB222::201126:1000'
TIF+SMITH+JOHN:A:1'
TIF+SMITH+JOHN:A:2'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
SSR+DOCS:HK::XX:::::/P/GBR/333333333/GBR/03MAR71/M/01JAN31/SMITH/JOHN'
SSR+DOCS:HK::XX:::::/P/GBR/444444444/GBR/04APR03/M/01JAN32/SMITH/JOHN'
TVL+021226:1600:021226:1830+MAD+LHR+XX+900'
SSR+DOCS:HK::XX:::::/P/GBR/333333333/GBR/03MAR71/M/01JAN31/SMITH/JOHN'
SSR+DOCS:HK::XX:::::/P/GBR/444444444/GBR/04APR03/M/01JAN32/SMITH/JOHN'
SRC'
RCI+XX:CCC333::201126:1000'
TIF+SMITH+JOHN:A'
TIF+SMITH+JOHN:A'
TVL+011226:2000:021226:1300+BOG+MAD+XX+123'
UNT+28+1'
UNZ+1+R1'
";
    let r = ingest_text("namesakes.edi", text.as_bytes());
    assert_invariants(&r);
    type Namesake = (Option<Text>, Option<Text>, Option<NaiveDate>, Text);
    let of = |locator: &str| -> Vec<Namesake> {
        let p = r.rows.pnr.iter().find(|p| p.record_locator.as_deref() == Some(locator)).unwrap();
        r.rows
            .traveller
            .iter()
            .filter(|t| t.pnr_id == p.pnr_id)
            .map(|t| (t.traveller_ref.clone(), t.doc_number.clone(), t.date_of_birth, t.traveller_id.clone()))
            .collect()
    };
    let s = |v: &str| Some(Text::from(v));

    let a = of("AAA111");
    assert_eq!(a.len(), 2);
    assert_eq!((&a[0].0, &a[0].1, a[0].2), (&s("1"), &s("111111111"), date(1970, 1, 1)));
    assert_eq!((&a[1].0, &a[1].1, a[1].2), (&s("2"), &s("222222222"), date(2002, 2, 2)));

    // Each document is sent on both legs; each copy goes to the SMITH it was first given to.
    let b = of("BBB222");
    assert_eq!((&b[0].1, b[0].2), (&s("333333333"), date(1971, 3, 3)));
    assert_eq!((&b[1].1, b[1].2), (&s("444444444"), date(2003, 4, 4)));

    // No references: two travellers all the same, with two ids and a warning.
    let c = of("CCC333");
    assert_eq!(c.len(), 2);
    assert_ne!(c[0].3, c[1].3);
    assert_eq!(c[0].3, paxrisk::ingest::ids::traveller_id(&r.rows.pnr[2].pnr_id, "SMITH", "JOHN", ""));
    assert_eq!(c[1].3, paxrisk::ingest::ids::traveller_id(&r.rows.pnr[2].pnr_id, "SMITH", "JOHN", "#2"));
    let clash: Vec<_> = r.rows.diagnostics.iter().filter(|d| d.code == "TRAVELLER_ID_CLASH").collect();
    assert_eq!(clash.len(), 1, "{:?}", diag_codes(&r));
    assert!(clash[0].message.contains("its traveller_id is derived with reference \"#2\""), "{}", clash[0].message);
    let ids: std::collections::HashSet<_> = r.rows.traveller.iter().map(|t| &t.traveller_id).collect();
    assert_eq!(ids.len(), r.rows.traveller.len());
}

/// A payment's `seq` counts the FOP composites of its own PNR: it starts again at 1 for the next
/// PNR of the message.
#[test]
fn payment_seq_counts_within_each_pnr() {
    let msg = "UNA:+.? 'UNB+IATA:1+XX+YY+301126:0100+R1'UNH+1+PNRGOV:13:1:IA+XX123/011226'MSG+:22'\
               ORG+XX:MUC'TVL+011226:2000:021226:1300+BOG+MAD+XX+123'EQN+2'\
               SRC'RCI+XX:SEQ001::301126:1900'TIF+PEREZ+LUIS:A:1'FOP+CA'TIF+PEREZ+ANA:A:2'FOP+CC::1:VI:4111111111111111:0128'\
               TVL+011226:2000:021226:1300+BOG+MAD+XX+123'\
               SRC'RCI+XX:SEQ002::301126:1900'TIF+GARCIA+ANA:A:1'FOP+CA'\
               TVL+011226:2000:021226:1300+BOG+MAD+XX+123'UNT+16+1'UNZ+1+R1'";
    let r = ingest_text("seq.edi", msg.as_bytes());
    let seqs: Vec<(String, i64)> =
        r.rows.payment.iter().map(|p| (traveller_surname(&r, p.traveller_id.as_deref()), p.seq)).collect();
    assert_eq!(seqs, [("PEREZ".into(), 1), ("PEREZ".into(), 2), ("GARCIA".into(), 1)]);
}

fn traveller_surname(r: &paxrisk::ingest::Ingested, id: Option<&str>) -> String {
    let t = r.rows.traveller.iter().find(|t| Some(t.traveller_id.as_str()) == id).unwrap();
    t.surname.as_deref().unwrap_or_default().to_string()
}
