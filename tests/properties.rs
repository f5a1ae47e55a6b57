//! Property tests: the parsers never panic, and escaping round-trips.

use paxrisk::edifact::interchange::read_messages;
use paxrisk::edifact::lexer::Lexer;
use proptest::prelude::*;

/// Escapes a value with the default release character.
fn escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if matches!(c, '+' | ':' | '\'' | '?') {
            out.push('?');
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn lexer_and_envelope_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Lexer::new(&bytes).count();
        let arena = paxrisk::edifact::Arena::new();
        let parsed = read_messages(&bytes, 0, &arena);
        for m in &parsed.messages {
            let _ = paxrisk::pnrgov::grammar::parse(m.segments());
            let _ = paxrisk::paxlst::parse(m.segments());
        }
    }

    #[test]
    fn paxlst_shaped_noise_loads_every_listed_person_and_never_panics(body in proptest::collection::vec(
        prop_oneof![
            Just("NAD+FL+++DOE:JANE'".to_string()), Just("NAD+FM+++ROE:RICK:X'".to_string()), Just("NAD+DDU+++X:Y'".to_string()),
            Just("TDT+20+XX123+++XX'".to_string()), Just("LOC+125+LHR'".to_string()), Just("LOC+87+JFK'".to_string()),
            Just("LOC+92+JFK'".to_string()), Just("DTM+189:2501011000:201'".to_string()), Just("DTM+329:900101'".to_string()),
            Just("DTM+329:99XX99'".to_string()), Just("ATT+2++F'".to_string()), Just("NAT+2+GBR'".to_string()),
            Just("RFF+AVF:ABC123'".to_string()), Just("DOC+P:110:111+123'".to_string()), Just("DTM+36:300101'".to_string()),
            Just("LOC+91+GBR'".to_string()), Just("CNT+42:3'".to_string()), Just("BGM+745'".to_string()),
            Just("NAD+MS+++DESK'".to_string()), Just("COM+1:TE'".to_string()),
            "[A-Z0-9+:'?* \n]{0,12}",
        ], 0..60)) {
        let text = format!("UNB+UNOA:4+XX+YY+250101:1200+R'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'{}UNT+1+1'UNZ+1+R'", body.concat());
        let dir = crate::util::tempdir();
        let p = dir.join("noise.edi");
        std::fs::write(&p, &text).unwrap();
        let r = paxrisk::ingest::ingest_files(&[p], &crate::util::config());
        let t = r.totals();
        for (what, read, accounted) in t.invariants() {
            prop_assert_eq!(read, accounted, "{}", what);
        }
        prop_assert_eq!(r.rows.api_traveller.len() as u64, t.counts.api_persons_loaded);
        // Nothing lost: every person NAD the lexer reads (the noise may forge more) is a row, or,
        // when a stray UNB or UNZ in the noise closed the message before it, a diagnostic at its
        // own offset saying it was outside any message.
        let nads: Vec<i64> = paxrisk::edifact::lexer::Lexer::new(text.as_bytes())
            .filter(|s| s.tag == "NAD" && s.get(0, 0).is_some_and(|q| q.trim() != "MS"))
            .map(|s| s.offset as i64)
            .collect();
        let outside: Vec<i64> = r.rows.diagnostics.iter()
            .filter(|d| d.code == "SEGMENT_OUTSIDE_MESSAGE")
            .map(|d| d.source_offset)
            .collect();
        let loaded: Vec<i64> = nads.iter().copied().filter(|o| !outside.contains(o)).collect();
        let mut rows: Vec<i64> = r.rows.api_traveller.iter().map(|a| a.source_offset).collect();
        rows.sort_unstable();
        prop_assert_eq!(rows, loaded, "person NADs at {:?}, outside a message at {:?}", nads, outside);
    }

    #[test]
    fn edifact_shaped_noise_never_panics_the_whole_ingest(body in proptest::collection::vec(
        prop_oneof![
            Just("SRC'".to_string()), Just("TIF+A+B:A:1'".to_string()), Just("TVL+010125:1000+LHR+JFK+XX+1'".to_string()),
            Just("RCI+XX:ABC::010125'".to_string()), Just("TRI++1:::1'".to_string()), Just("SAC+++X'".to_string()),
            Just("DAT+2:010125:1000'".to_string()), Just("FOP+CC::1:VI:4111111111111111:0125'".to_string()),
            Just("TKT+123:T'".to_string()), Just("SSR+DOCS:HK::XX:::::/P/X/1/X/01JAN90/M/01JAN30/A/B'".to_string()),
            Just("TBD++1:2:700++HP+XX:1:2:LHR'".to_string()), Just("EQN+1'".to_string()), Just("ABI+1'".to_string()),
            "[A-Z+:'?* \n]{0,12}",
        ], 0..60)) {
        let text = format!("UNB+IATA:1+XX+YY+250101:1200+R'UNH+1+PNRGOV:13:1:IA+X'MSG+:22'{}UNT+1+1'UNZ+1+R'", body.concat());
        let dir = crate::util::tempdir();
        let p = dir.join("noise.edi");
        std::fs::write(&p, text).unwrap();
        let r = paxrisk::ingest::ingest_files(&[p], &crate::util::config());
        let t = r.totals();
        for (what, read, accounted) in t.invariants() {
            prop_assert_eq!(read, accounted, "{}", what);
        }
    }

    #[test]
    fn escaped_values_round_trip_through_the_lexer(values in proptest::collection::vec(proptest::collection::vec("[ -~]{0,10}", 1..4), 1..5)) {
        let mut text = String::from("FTX");
        for el in &values {
            text.push('+');
            let comps: Vec<String> = el.iter().map(|c| escape(c)).collect();
            text.push_str(&comps.join(":"));
        }
        text.push('\'');
        let segs: Vec<_> = Lexer::new(text.as_bytes()).collect();
        prop_assert_eq!(segs.len(), 1);
        let got: Vec<Vec<String>> = segs[0].elements().map(|e| e.components.iter().map(|c| c.to_string()).collect()).collect();
        prop_assert_eq!(got, values);
    }
}
