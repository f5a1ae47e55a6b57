//! Conformance over every PNRGOV file of the public GTAS corpus, with the counts its README gives.

use crate::util::*;

/// (file, PNRs, travellers) from `shared/conformance/gtas/README.md`; codeshare.edi's two PNRs
/// have one named traveller each.
const EXPECTED: &[(&str, u64, u64)] = &[
    ("2_pnrs_basic.edi", 2, 4),
    ("3_pnrs.edi", 3, 13),
    ("adult_and_infant.edi", 1, 2),
    ("bigMessagePnr.txt", 1, 7),
    ("codeshare.edi", 2, 2),
    ("danglingMetaCharacter.txt", 1, 1),
    ("infant.edi", 1, 2),
    ("multiple_flight_leg_pnr.txt", 1, 2),
    ("no_pnr_history.edi", 3, 4),
    ("pnr1.txt", 1, 2),
    ("pnr2.txt", 1, 2),
    ("pnr3.txt", 1, 4),
    ("pnr4.txt", 1, 1),
    ("pnrAddressPhoneCTCM.txt", 1, 1),
    ("pnrBadFormat.txt", 1, 2),
    ("pnrEdge.txt", 1, 1),
    ("pnrMessage.txt", 1, 2),
    ("pnrMessageExample.txt", 1, 5),
    ("pnrNoOrgMsg.txt", 1, 1),
    ("pnrPhoneCTCM.txt", 1, 1),
    ("pnrPhoneCTC_M.txt", 1, 1),
    ("pnrSeatFormats.txt", 1, 1),
    ("pnrWithBags.txt", 127, 268),
    ("pnrWithDoco.txt", 1, 1),
    ("pnrWithPrefixesAndBookingDetailBags.txt", 1, 2),
    ("pnr_split.edi", 2, 3),
];

#[test]
fn every_corpus_file_loads_the_documented_pnr_and_traveller_counts() {
    let Some(dir) = corpus("pnrgov") else { return };
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "the test must cover every corpus file");
    for &(name, pnrs, travellers) in EXPECTED {
        let r = ingest_file(&dir.join(name));
        assert_invariants(&r);
        let f = &r.files[0];
        assert!(!f.file_rejected, "{name}: {:?}", r.rows.rejects);
        assert_eq!((f.messages_read, f.messages_loaded), (1, 1), "{name}: messages");
        assert_eq!(
            (f.counts.pnrs_read, f.counts.pnrs_loaded),
            (pnrs, pnrs),
            "{name}: PNRs; rejects {:?}",
            r.rows.rejects
        );
        assert_eq!(
            (f.counts.travellers_read, f.counts.travellers_loaded),
            (travellers, travellers),
            "{name}: travellers"
        );
        assert!(r.rows.rejects.is_empty(), "{name}: {:?}", r.rows.rejects);
    }
}

#[test]
fn the_whole_corpus_ingests_in_one_call_with_deterministic_order() {
    let Some(dir) = corpus("pnrgov") else { return };
    let a = paxrisk::ingest::ingest_paths(std::slice::from_ref(&dir), &config()).unwrap();
    assert_invariants(&a);
    assert_eq!(a.totals().counts.pnrs_loaded, EXPECTED.iter().map(|e| e.1).sum::<u64>());
    assert_eq!(a.totals().counts.travellers_loaded, EXPECTED.iter().map(|e| e.2).sum::<u64>());
    // One worker thread gives the very same rows as many.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = pool.install(|| paxrisk::ingest::ingest_paths(&[dir], &config()).unwrap());
    assert_eq!(a.rows.traveller, b.rows.traveller);
    assert_eq!(a.rows.diagnostics, b.rows.diagnostics);
    assert_eq!(a.rows.leg, b.rows.leg);
}

#[test]
fn bad_format_file_loads_its_pnr_and_reports_each_fault() {
    let Some(dir) = corpus("pnrgov") else { return };
    let r = ingest_file(&dir.join("pnrBadFormat.txt"));
    assert_eq!(r.rows.pnr.len(), 1);
    let p = &r.rows.pnr[0];
    assert_eq!(p.record_locator.as_deref(), Some("35K2IO"));
    // The UNH wrapped across lines still yields the whole common access reference.
    assert_eq!(r.rows.push[0].common_access_ref.as_deref(), Some("AUTZ000623052013221001SIN20130528"));
    let names: Vec<_> = r
        .rows
        .traveller
        .iter()
        .map(|t| (t.surname.clone().unwrap(), t.given_name.clone().unwrap(), t.title.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("DORON".into(), "NINA".into(), Some("MS".into())),
            ("LENDROT".into(), "CHARLOTTE".into(), Some("MS".into()))
        ]
    );
    let codes = diag_codes(&r);
    for expected in ["UNT_COUNT_MISMATCH", "MISSING_TERMINATOR", "TEXT_AFTER_UNZ"] {
        assert!(codes.iter().any(|c| c == expected), "missing {expected} in {codes:?}");
    }
    let trailing = r.rows.diagnostics.iter().find(|d| d.code == "TEXT_AFTER_UNZ").unwrap();
    assert!(trailing.message.contains("Modify above message"), "{}", trailing.message);
    assert_eq!(trailing.source_file, dir.join("pnrBadFormat.txt").display().to_string());
}
