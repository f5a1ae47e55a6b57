//! Bad input: every case gives a clear outcome naming the file and the place, and loses nothing.

use crate::util::*;

const HEAD: &str = "UNB+IATA:1+XX+YY+250101:1200+R1'UNH+1+PNRGOV:13:1:IA+XX123/010125'MSG+:22'TVL+010125:1000:010125:1400+LHR+JFK+XX+123'EQN+2'";

fn pnr(locator: &str, surname: &str) -> String {
    format!(
        "SRC'RCI+XX:{locator}::201224:0900'TIF+{surname}+ANNAMS:A:1'SSR+DOCS:HK::XX:::::/P/GBR/P123/GBR/01JAN90/F/01JAN30/{surname}/ANNA'"
    )
}

#[test]
fn empty_file_is_rejected_as_a_file() {
    let r = ingest_text("empty.edi", b"  \n");
    assert_eq!(r.rows.rejects.len(), 1);
    let rej = &r.rows.rejects[0];
    assert_eq!((rej.unit.as_str(), rej.code.as_str(), rej.source_offset), ("file", "EMPTY_FILE", 0));
    assert!(rej.source_file.ends_with("empty.edi"));
    assert!(r.files[0].file_rejected);
}

#[test]
fn binary_file_is_rejected_as_a_file() {
    let r = ingest_text("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01");
    assert_eq!(r.rows.rejects[0].code, "BINARY_FILE");
    assert!(r.rows.rejects[0].source_file.ends_with("photo.jpg"));
}

#[test]
fn text_that_is_not_edifact_is_rejected_as_unknown_format() {
    let r = ingest_text("notes.txt", b"Dear colleague, please find the flight list attached.\n");
    assert_eq!(r.rows.rejects[0].code, "UNKNOWN_FORMAT");
}

#[test]
fn wrong_separators_find_no_message_and_say_so() {
    let r = ingest_text("pipes.edi", b"UNB|IATA:1|XX|YY'UNH|1|PNRGOV:13:1:IA'MSG|:22'UNT|3|1'UNZ|1|R'");
    let rej = &r.rows.rejects[0];
    assert_eq!((rej.unit.as_str(), rej.code.as_str()), ("file", "NO_MESSAGES"));
    assert!(rej.message.contains("no UNH"), "{}", rej.message);
    assert_eq!(rej.raw_prefix.as_deref().map(|p| &p[..12]), Some("UNB|IATA:1|X"));
}

#[test]
fn truncated_message_loads_what_arrived_and_says_where_it_stopped() {
    let text = format!("{HEAD}{}SRC'RCI+XX:BBB222::201224:0900'TIF+SMI", pnr("AAA111", "ONE"));
    let r = ingest_text("truncated.edi", text.as_bytes());
    assert_invariants(&r);
    assert_eq!(r.totals().counts.pnrs_loaded, 2);
    let codes = diag_codes(&r);
    assert!(codes.contains(&"MISSING_TERMINATOR".to_string()), "{codes:?}");
    assert!(codes.contains(&"MESSAGE_TRUNCATED".to_string()), "{codes:?}");
    let trunc = r.rows.diagnostics.iter().find(|d| d.code == "MESSAGE_TRUNCATED").unwrap();
    assert_eq!(trunc.source_offset, 32, "points at the UNH of the truncated message");
    assert!(trunc.source_file.ends_with("truncated.edi"));
}

#[test]
fn a_pnr_without_locator_is_rejected_alone_and_its_neighbours_load() {
    let text =
        format!("{HEAD}{}SRC'TIF+NOBODY+XMR:A:1'{}UNT+20+1'UNZ+1+R1'", pnr("AAA111", "ONE"), pnr("CCC333", "THREE"));
    let r = ingest_text("broken.edi", text.as_bytes());
    assert_invariants(&r);
    let f = &r.files[0];
    assert_eq!((f.counts.pnrs_read, f.counts.pnrs_loaded, f.counts.pnrs_rejected), (3, 2, 1));
    assert_eq!((f.counts.travellers_read, f.counts.travellers_loaded, f.counts.travellers_rejected), (3, 2, 1));
    let rej = &r.rows.rejects[0];
    assert_eq!((rej.unit.as_str(), rej.code.as_str()), ("pnr", "PNR_NO_LOCATOR"));
    let offset = text.find("SRC'TIF+NOBODY").unwrap() as i64;
    assert_eq!(rej.source_offset, offset);
    assert!(rej.raw_prefix.as_deref().unwrap().starts_with("SRC'TIF+NOBODY"));
    let locators: Vec<_> = r.rows.pnr.iter().map(|p| p.record_locator.clone().unwrap()).collect();
    assert_eq!(locators, vec!["AAA111", "CCC333"]);
}

#[test]
fn fifty_megabytes_without_terminators_are_skipped_with_a_diagnostic() {
    let mut text = format!("{HEAD}{}FTX+", pnr("AAA111", "ONE")).into_bytes();
    text.extend(std::iter::repeat_n(b'A', 50 * 1024 * 1024));
    let r = ingest_text("huge.edi", &text);
    assert_invariants(&r);
    assert_eq!(r.totals().counts.pnrs_loaded, 1);
    let d = r.rows.diagnostics.iter().find(|d| d.code == "SEGMENT_TOO_LONG").unwrap();
    assert_eq!(d.source_offset, (HEAD.len() + pnr("AAA111", "ONE").len()) as i64);

    // With nothing readable at all, the file is rejected and the reason names the problem.
    let r = ingest_text("huge2.edi", &vec![b'U'; 50 * 1024 * 1024]);
    assert_eq!(r.rows.rejects[0].code, "UNKNOWN_FORMAT");
    let mut edi = b"UNB+IATA:1+XX+".to_vec();
    edi.extend(std::iter::repeat_n(b'A', 50 * 1024 * 1024));
    let r = ingest_text("huge3.edi", &edi);
    let rej = &r.rows.rejects[0];
    assert_eq!(rej.code, "NO_MESSAGES");
    assert!(rej.message.contains("no segment terminator"), "{}", rej.message);
}

#[test]
fn a_paxlst_message_without_list_or_flight_is_rejected_as_a_unit() {
    let r = ingest_text(
        "api.edi",
        b"UNB+UNOA:4+XX+YY+250101:1200+R'UNH+1+PAXLST:D:05B:UN:IATA+X'RFF+TN:1'UNT+3+1'UNZ+1+R'",
    );
    assert_eq!(r.files[0].format, "PAXLST");
    assert_eq!((r.files[0].messages_read, r.files[0].messages_rejected), (1, 1));
    assert_eq!(r.rows.rejects[0].code, "MESSAGE_UNREADABLE");
}

#[test]
fn a_paxlst_list_with_faults_loads_every_person_and_reports_the_faults() {
    // No TDT, a CNT that disagrees, a date of birth that does not parse, a stray segment.
    let text = "UNB+UNOA:4+XX+YY+250101:1200+R'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'\
                NAD+FL+++ONE:ANNA'DTM+329:99XX01'TVL+1'NAD+FL+++TWO:BEN'CNT+42:3'UNT+8+1'UNZ+1+R'";
    let r = ingest_text("api_faults.edi", text.as_bytes());
    assert_invariants(&r);
    assert!(r.rows.rejects.is_empty(), "{:?}", r.rows.rejects);
    assert_eq!(r.rows.api_traveller.len(), 2);
    assert_eq!(r.totals().counts.api_persons_loaded, 2);
    let codes = diag_codes(&r);
    for c in ["NO_PUSHED_FLIGHT", "BAD_DATE", "SEGMENT_UNPLACED", "CNT_COUNT_MISMATCH"] {
        assert!(codes.contains(&c.to_string()), "{c} missing from {codes:?}");
    }
    assert_eq!(r.rows.api_traveller[0].date_of_birth, None);
}

#[test]
fn unknown_airport_keeps_local_time_and_leaves_utc_null() {
    let text = "UNB+IATA:1+XX+YY+250101:1200+R1'UNH+1+PNRGOV:13:1:IA+X'MSG+:22'TVL+010125:1000+QQQ+JFK+XX+123'EQN+0'UNT+5+1'UNZ+1+R1'";
    let r = ingest_text("unknown_airport.edi", text.as_bytes());
    let p = &r.rows.push[0];
    assert_eq!(p.dep_local.map(|d| d.to_string()).as_deref(), Some("2025-01-01 10:00:00"));
    assert_eq!(p.dep_utc, None);
    let d = r.rows.diagnostics.iter().find(|d| d.code == "UNKNOWN_AIRPORT").unwrap();
    assert!(d.message.contains("QQQ"));
    assert_eq!(d.source_offset, text.find("TVL").unwrap() as i64);
}

#[test]
fn multi_part_push_split_over_two_files_is_reassembled() {
    let dir = tempdir();
    let part1 = format!(
        "UNB+IATA:1+XX+YY+250101:1200+R1'UNH+1+PNRGOV:13:1:IA+XX123/010125+01:C'MSG+:22'TVL+010125:1000+LHR+JFK+XX+123'EQN+2'{}UNT+9+1'UNZ+1+R1'",
        pnr("AAA111", "ONE")
    );
    let part2 = format!(
        "UNB+IATA:1+XX+YY+250101:1201+R2'UNH+2+PNRGOV:13:1:IA+XX123/010125+02:F'{}UNT+5+2'UNZ+1+R2'",
        pnr("BBB222", "TWO")
    );
    std::fs::write(dir.join("a.edi"), part1).unwrap();
    std::fs::write(dir.join("b.edi"), part2).unwrap();
    let r = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &config()).unwrap();
    assert_invariants(&r);
    assert_eq!(r.rows.push.len(), 1);
    assert_eq!(r.rows.push[0].parts, 2);
    assert_eq!(r.rows.push[0].pnr_count, 2);
    assert_eq!(r.files[0].messages_read, 1, "the message counts where its first part is");
    let pnr2 = &r.rows.pnr[1];
    assert!(pnr2.source_file.ends_with("b.edi"), "rows keep the file of their own part: {}", pnr2.source_file);
    assert!(r.rows.diagnostics.iter().all(|d| d.code != "MULTIPART_INCOMPLETE"));

    // In Arrow mode (a run's), the push is joined after the rounds of files and its rows go
    // into the same batches.
    let cfg = paxrisk::ingest::IngestConfig { arrow: true, ..config() };
    let mut a = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &cfg).unwrap();
    let t = a.totals();
    let landing = a.take_landing();
    let rows = |table: &str| -> u64 {
        landing.iter().find(|(t, _)| *t == table).map(|(_, b)| b.iter().map(|b| b.num_rows() as u64).sum()).unwrap_or(0)
    };
    assert_eq!((rows("push"), rows("pnr"), rows("traveller")), (1, 2, r.rows.traveller.len() as u64));
    assert_eq!((t.messages_loaded, t.counts.pnrs_loaded, t.counts.travellers_loaded), (1, 2, rows("traveller")));
}

#[test]
fn the_same_pnr_version_gets_the_same_keys_in_every_push() {
    let a = format!("{HEAD}{}UNT+9+1'UNZ+1+R1'", pnr("AAA111", "ONE"));
    let b = a.replace("MSG+:22'", "MSG+:141'");
    let ra = ingest_text("a.edi", a.as_bytes());
    let rb = ingest_text("b.edi", b.as_bytes());
    assert_eq!(ra.rows.pnr[0].pnr_id, rb.rows.pnr[0].pnr_id);
    assert_eq!(ra.rows.traveller[0].traveller_id, rb.rows.traveller[0].traveller_id);
    assert_ne!(ra.rows.push[0].push_id, rb.rows.push[0].push_id);
    assert_eq!(
        ra.rows.traveller[0].traveller_id,
        paxrisk::ingest::ids::traveller_id(&ra.rows.pnr[0].pnr_id, "ONE", "ANNA", "1")
    );
}

#[test]
fn sensitive_ssr_and_free_text_are_dropped_and_counted() {
    let text = format!(
        "{HEAD}SRC'RCI+XX:AAA111::201224:0900'SSR+MOML:HK:1:XX'IFT+4:28::XX+PAX NEEDS WCHR ON ARRIVAL'TIF+ONE+ANNA:A:1'SSR+WCHC:HK:1:XX+::1'SSR+OTHS:HK:1:XX:::::REQUEST?: WCHR AT GATE'LTS+0/O/SR/SSR KSMLXXHK1'UNT+10+1'UNZ+1+R1'"
    );
    let r = ingest_text("sensitive.edi", text.as_bytes());
    assert_eq!(r.drops.total(), 5);
    assert_eq!(r.drops.by_code.get("MOML"), Some(&1));
    // Once in the IFT, once in the free text of an SSR whose own code is harmless.
    assert_eq!(r.drops.by_code.get("WCHR"), Some(&2));
    for s in &r.rows.ssr {
        assert!(!s.free_text.as_deref().unwrap_or("").contains("WCHR"));
    }
    assert!(r.rows.ssr.is_empty(), "{:?}", r.rows.ssr);
    assert!(r.rows.history.is_empty());
}
