//! Fuzzes the whole read path on arbitrary bytes: lexer, envelope, multi-part reassembly,
//! PNRGOV and PAXLST grammars and the mapping to landing rows. Any panic is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paxrisk::edifact::interchange;
use paxrisk::ingest::paxlst_map;
use paxrisk::ingest::pnrgov_map::{map_message, MapContext};
use paxrisk::ingest::sensitive::SensitiveCodes;
use paxrisk::reference::Airports;

fn airports() -> &'static Airports {
    static A: OnceLock<Airports> = OnceLock::new();
    A.get_or_init(|| {
        Airports::parse(
            "iata,icao,name,city,country,tz,lat,lon\nLHR,EGLL,Heathrow,London,GB,Europe/London,0,0\nJFK,KJFK,JFK,New York,US,America/New_York,0,0\n",
            std::path::Path::new("fuzz"),
        )
        .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let arena = paxrisk::edifact::Arena::new();
    let parsed = interchange::read_messages(data, 0, &arena);
    let re = interchange::reassemble(parsed.messages);
    let files: Vec<paxrisk::landing::schema::Shared> = vec!["fuzz".into()];
    let raw = |_: u32, off: usize| paxrisk::ingest::raw_prefix(data, off);
    let sensitive = SensitiveCodes::from_codes(["MOML", "WCHR"]);
    let ctx = MapContext { files: &files, raw: &raw, airports: airports(), sensitive: &sensitive };
    for m in re.complete.iter() {
        let _ = map_message(m, "M0".into(), &ctx);
        let _ = paxlst_map::map_message(m, "M0".into(), &ctx);
    }
    if !re.pending.is_empty() {
        let joined = interchange::join_parts(re.pending);
        let _ = map_message(&joined, "M1".into(), &ctx);
        let _ = paxlst_map::map_message(&joined, "M1".into(), &ctx);
    }
});
