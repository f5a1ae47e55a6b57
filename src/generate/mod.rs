//! `paxrisk generate`: synthetic PNRGOV pushes with planted risk scenarios and their labels.
//!
//! Real PNR data is secret, so the rule pack is measured on data made here. The pipeline:
//!
//! 1. **Schedule** (`schedule`): flights between the home airports and real foreign airports on
//!    real carriers, sized by distance, spread over `--days` from `--start`; the PNR count is
//!    shared out by seats.
//! 2. **Plan** (`plan`): planted scenarios and decoys (`scenarios.rs`) are placed on suitable
//!    flights until they make up their share of travellers.
//! 3. **Book and push** (per flight, in parallel): ordinary bookings (`book.rs`) fill each flight;
//!    every PNR is written into the pushes that carry it (`edifact.rs`): a full push 72 hours
//!    before departure, an update push (`MSG+:141`, changed PNRs only) at 24 hours and a full
//!    push with check-in data at flight close. Large pushes go as multi-part messages; a share of
//!    files get a fault of real feeds.
//! 4. **Labels**: `labels.parquet` names every planted (and decoy) traveller by the
//!    `traveller_id` that ingest derives (`ingest::ids`), with the scenario id; `generate.json`
//!    records the parameters and counts.
//!
//! Each flight draws from its own random stream of the seed, so the output is identical for a
//! seed whatever the thread count.

pub mod book;
pub mod edifact;
pub mod model;
pub mod rng;
pub mod scenarios;
pub mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, TimeZone};
use rayon::prelude::*;

use crate::ingest::ids;
use crate::pnrgov::freetext;
use edifact::{Faults, Push, Una};
use model::{Flight, Pnr};
use rng::Rng;
use world::Geo;

/// Defaults of `paxrisk generate` (and of the data sets `paxrisk bench` makes).
pub const DEFAULT_START: &str = "2026-12-01";
/// Days over which departures are spread by default.
pub const DEFAULT_DAYS: u32 = 7;
/// Default share of travellers in planted scenarios.
pub const DEFAULT_SCENARIO_SHARE: f64 = 0.005;
/// Default share of travellers in decoys.
pub const DEFAULT_DECOY_SHARE: f64 = 0.01;
/// Default share of push files with a feed fault.
pub const DEFAULT_FAULT_SHARE: f64 = 0.02;
/// Default average PNRs per flight.
pub const DEFAULT_PNRS_PER_FLIGHT: usize = 100;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    /// PNRs in all (each pushed up to three times).
    pub pnrs: usize,
    /// Random seed.
    pub seed: u64,
    /// First day of departures.
    pub start: NaiveDate,
    /// Days of departures.
    pub days: u32,
    /// Output folder.
    pub out: PathBuf,
    /// Rule pack whose reference tables give the geography.
    pub rules: PathBuf,
    /// Share of travellers in planted scenarios.
    pub scenario_share: f64,
    /// Share of travellers in decoys.
    pub decoy_share: f64,
    /// Share of push files with a feed fault.
    pub fault_share: f64,
    /// Average PNRs per flight.
    pub pnrs_per_flight: usize,
}

impl GenerateConfig {
    /// `pnrs` PNRs with every other parameter at its default.
    pub fn with_defaults(pnrs: usize, seed: u64, out: PathBuf, rules: PathBuf) -> GenerateConfig {
        GenerateConfig {
            pnrs,
            seed,
            start: DEFAULT_START.parse().unwrap_or_default(),
            days: DEFAULT_DAYS,
            out,
            rules,
            scenario_share: DEFAULT_SCENARIO_SHARE,
            decoy_share: DEFAULT_DECOY_SHARE,
            fault_share: DEFAULT_FAULT_SHARE,
            pnrs_per_flight: DEFAULT_PNRS_PER_FLIGHT,
        }
    }
}

/// What was generated.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Flights.
    pub flights: usize,
    /// Push files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Distinct PNRs.
    pub pnrs: usize,
    /// Distinct travellers.
    pub travellers: usize,
    /// PNR versions written (a PNR in three pushes counts three).
    pub pnr_versions: usize,
    /// Multi-part messages.
    pub multipart_messages: usize,
    /// Update pushes (MSG 141).
    pub update_pushes: usize,
    /// PAXLST (API) files, one per flight at check-in close.
    pub api_files: usize,
    /// Files per fault.
    pub faults: BTreeMap<String, usize>,
    /// Planted travellers per scenario.
    pub planted: BTreeMap<String, usize>,
    /// Decoy travellers per kind.
    pub decoys: BTreeMap<String, usize>,
}

/// One row of `labels.parquet`.
#[derive(Debug, Clone)]
struct Label {
    traveller_id: String,
    pnr_id: String,
    record_locator: String,
    scenario: &'static str,
    planted: bool,
    flight: String,
    dep_date: String,
}

/// Serials of planted PNRs start here, above any background serial.
const PLANTED_SERIAL_BASE: u64 = 1_060_000_000;

/// Generates the files; returns the summary also written to `generate.json`.
pub fn generate(cfg: &GenerateConfig) -> anyhow::Result<Summary> {
    anyhow::ensure!(cfg.pnrs > 0, "--pnrs must be at least 1");
    anyhow::ensure!(cfg.days > 0, "--days must be at least 1");
    anyhow::ensure!(cfg.pnrs < PLANTED_SERIAL_BASE as usize, "--pnrs must be below {PLANTED_SERIAL_BASE}");
    for (name, v) in [
        ("--scenario-share", cfg.scenario_share),
        ("--decoy-share", cfg.decoy_share),
        ("--fault-share", cfg.fault_share),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&v), "{name} must be between 0 and 1, not {v}");
    }
    let geo = Geo::load(&cfg.rules)?;
    let flights = schedule(cfg, &geo);
    let planted = plan(cfg, &geo, &flights);
    let pushes_dir = cfg.out.join("pnrgov");
    // Files of an earlier run would mix with these and contradict the labels.
    if std::fs::read_dir(&pushes_dir).is_ok_and(|mut d| d.next().is_some()) {
        anyhow::bail!("{} is not empty: generate into a new or empty folder", pushes_dir.display());
    }
    std::fs::create_dir_all(&pushes_dir).with_context(|| format!("creating {}", pushes_dir.display()))?;

    let mut by_flight: Vec<Vec<Pnr>> = vec![Vec::new(); flights.len()];
    for (fi, pnr) in planted {
        by_flight[fi].push(pnr);
    }
    let offsets: Vec<u64> = flights
        .iter()
        .scan(0u64, |acc, f| {
            let o = *acc;
            *acc += f.pnrs as u64;
            Some(o)
        })
        .collect();
    let results: Vec<anyhow::Result<FlightOut>> = flights
        .par_iter()
        .zip(by_flight.into_par_iter())
        .map(|(f, planted)| flight_files(cfg, &geo, f, planted, offsets[f.index], &pushes_dir))
        .collect();
    let mut summary = Summary { flights: flights.len(), ..Default::default() };
    let mut labels = Vec::new();
    for r in results {
        let r = r?;
        summary.files += r.files;
        summary.bytes += r.bytes;
        summary.pnrs += r.pnrs;
        summary.travellers += r.travellers;
        summary.pnr_versions += r.pnr_versions;
        summary.multipart_messages += r.multipart;
        summary.update_pushes += r.updates;
        summary.api_files += r.api_files;
        for f in r.faults {
            *summary.faults.entry(f.to_string()).or_default() += 1;
        }
        for l in &r.labels {
            let map = if l.planted { &mut summary.planted } else { &mut summary.decoys };
            *map.entry(l.scenario.to_string()).or_default() += 1;
        }
        labels.extend(r.labels);
    }
    write_labels(&cfg.out.join("labels.parquet"), &labels)?;
    let manifest = serde_json::json!({
        "tool": "paxrisk generate",
        "version": crate::VERSION,
        "parameters": {
            "pnrs": cfg.pnrs, "seed": cfg.seed, "start": cfg.start.to_string(), "days": cfg.days,
            "scenario_share": cfg.scenario_share, "decoy_share": cfg.decoy_share,
            "fault_share": cfg.fault_share, "pnrs_per_flight": cfg.pnrs_per_flight,
        },
        "home_country": world::HOME_COUNTRY,
        "summary": summary,
        "scenarios": scenarios::KINDS.iter().map(|k| serde_json::json!({"id": k.id, "decoy": k.decoy, "story": k.story})).collect::<Vec<_>>(),
    });
    let path = cfg.out.join("generate.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(summary)
}

/// The flights: route, direction, carrier, time and size.
fn schedule(cfg: &GenerateConfig, geo: &Geo) -> Vec<Flight> {
    let n = cfg.pnrs.div_ceil(cfg.pnrs_per_flight.max(1)).max(1);
    let mut rng = Rng::new(cfg.seed, 1);
    let weights: Vec<(usize, f64)> = world::ROUTES.iter().enumerate().map(|(i, r)| (i, r.weight)).collect();
    let mut taken: std::collections::HashSet<(&str, u32, NaiveDate)> = std::collections::HashSet::new();
    let mut flights = Vec::with_capacity(n);
    for i in 0..n {
        let route = *rng.weighted(&weights);
        let r = &world::ROUTES[route];
        let home = *rng.weighted(world::HOME_AIRPORTS);
        let carrier = *rng.pick(r.carriers);
        let inbound = i % 2 == 1;
        let (from, to) = if inbound { (r.foreign, home) } else { (home, r.foreign) };
        let day = cfg.start + TimeDelta::days((i as u64 * cfg.days as u64 / n as u64) as i64);
        let hour = rng.range(6, 23) as u32;
        let minute = rng.range(0, 11) as u32 * 5;
        let local = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
        let tz = geo.airports.get(from).map(|a| a.tz).unwrap_or(chrono_tz::UTC);
        let dep_utc = tz.from_local_datetime(&local).earliest().map(|t| t.naive_utc()).unwrap_or(local);
        let arr_utc = dep_utc + TimeDelta::minutes(geo.block_minutes(from, to));
        let base = 100 + route as u32 * 20 + if inbound { 1 } else { 0 };
        // Flight numbers are unique per carrier and local departure date, as the flight's
        // identity in PNRGOV (and in the file name) is that pair. A busy route's numbers run on
        // past the next route's base, so every candidate is checked against all numbers taken.
        let mut number = base;
        while !taken.insert((carrier, number, day)) {
            number += 2;
        }
        let seats = if geo.km(from, to) >= 4000.0 { 300 } else { 180 };
        flights.push(Flight { index: i, carrier, number, from, to, dep_utc, arr_utc, seats, pnrs: 0, route, inbound });
    }
    // Share the PNRs out by seats.
    let seats: u64 = flights.iter().map(|f| f.seats as u64).sum();
    let mut given = 0;
    for f in &mut flights {
        f.pnrs = (cfg.pnrs as u64 * f.seats as u64 / seats) as usize;
        given += f.pnrs;
    }
    let len = flights.len();
    for i in 0..cfg.pnrs - given {
        flights[i % len].pnrs += 1;
    }
    flights
}

/// Places planted scenarios and decoys on flights until each reaches its share of travellers.
fn plan(cfg: &GenerateConfig, geo: &Geo, flights: &[Flight]) -> Vec<(usize, Pnr)> {
    let expected_travellers = cfg.pnrs as f64 * 1.6;
    let mut out = Vec::new();
    let mut serial = PLANTED_SERIAL_BASE;
    let mut rng = Rng::new(cfg.seed, 2);
    let mut room: Vec<usize> = flights.iter().map(|f| f.pnrs).collect();
    // Planted travellers per flight: scenarios are spread over the suitable flights, as rare
    // events are, rather than piled on one.
    let mut load: Vec<usize> = vec![0; flights.len()];
    for decoy in [false, true] {
        let share = if decoy { cfg.decoy_share } else { cfg.scenario_share };
        let target = (share * expected_travellers).round() as usize;
        let kinds: Vec<&scenarios::Kind> = scenarios::KINDS.iter().filter(|k| k.decoy == decoy).collect();
        let mut placed = 0;
        let mut round = 0usize;
        let mut failures = 0;
        while placed < target && failures < 200 {
            // Every kind once before any kind twice, then at random.
            let kind = if round < kinds.len() { kinds[round] } else { *rng.pick(&kinds) };
            round += 1;
            let candidates: Vec<&Flight> =
                flights.iter().filter(|f| room[f.index] >= 8 && scenarios::suits(kind.id, geo, f)).collect();
            let Some(least) = candidates.iter().map(|f| load[f.index]).min() else {
                failures += 1;
                continue;
            };
            let lightest: Vec<&Flight> = candidates.iter().copied().filter(|f| load[f.index] == least).collect();
            let first = *rng.pick(&lightest);
            let mut chosen = vec![first];
            if kind.id == "escort_repeat" {
                // The same escort on two or three flights of the same route, on other days.
                let more: Vec<&Flight> = candidates
                    .iter()
                    .copied()
                    .filter(|f| {
                        f.index != first.index && f.route == first.route && f.dep_utc.date() != first.dep_utc.date()
                    })
                    .collect();
                let others: Vec<&Flight> = if more.is_empty() {
                    candidates.iter().copied().filter(|f| f.index != first.index).collect()
                } else {
                    more
                };
                for _ in 0..rng.range(1, 2) {
                    if others.is_empty() {
                        break;
                    }
                    let f = *rng.pick(&others);
                    if !chosen.iter().any(|c| c.index == f.index) {
                        chosen.push(f);
                    }
                }
                if chosen.len() < 2 {
                    failures += 1;
                    continue;
                }
            }
            let mut planter =
                scenarios::Planter { geo, rng: Rng::new(cfg.seed, 3_000_000 + round as u64), serial: &mut serial };
            for (fi, pnr) in planter.plant(kind.id, &chosen) {
                room[fi] = room[fi].saturating_sub(1);
                if !decoy {
                    load[fi] += pnr.people.len();
                }
                placed += pnr.people.len();
                out.push((fi, pnr));
            }
        }
    }
    out
}

struct FlightOut {
    files: usize,
    bytes: u64,
    pnrs: usize,
    travellers: usize,
    pnr_versions: usize,
    multipart: usize,
    updates: usize,
    api_files: usize,
    faults: Vec<&'static str>,
    labels: Vec<Label>,
}

/// Books the flight's ordinary PNRs, writes its pushes, and labels its planted travellers.
fn flight_files(
    cfg: &GenerateConfig,
    geo: &Geo,
    f: &Flight,
    planted: Vec<Pnr>,
    serial_offset: u64,
    dir: &Path,
) -> anyhow::Result<FlightOut> {
    let mut rng = Rng::new(cfg.seed, 10 + f.index as u64);
    let ctx = book::Ctx { geo, flight: f };
    let background = f.pnrs.saturating_sub(planted.len());
    let mut pnrs: Vec<Pnr> =
        (0..background).map(|j| book::background(&mut rng, &ctx, serial_offset + j as u64)).collect();
    pnrs.extend(planted);
    pnrs.sort_by_key(|p| (p.created, p.serial));

    let t72 = f.dep_utc - TimeDelta::hours(72);
    let t24 = f.dep_utc - TimeDelta::hours(24);
    let close = f.dep_utc - TimeDelta::minutes(40);
    let pushes = [
        Push { at: t72, msg_function: 22, close: false, label: "T72" },
        Push { at: t24, msg_function: 141, close: false, label: "T24" },
        Push { at: close, msg_function: 22, close: true, label: "FC" },
    ];
    let mut out = FlightOut {
        files: 0,
        bytes: 0,
        pnrs: pnrs.len(),
        travellers: pnrs.iter().map(|p| p.people.len()).sum(),
        pnr_versions: 0,
        multipart: 0,
        updates: 0,
        api_files: 0,
        faults: Vec::new(),
        labels: Vec::new(),
    };
    let mut prev: Option<NaiveDateTime> = None;
    for (pi, push) in pushes.iter().enumerate() {
        let carried: Vec<&Pnr> = pnrs
            .iter()
            .filter(|p| p.created <= push.at)
            .filter(|p| push.msg_function == 22 || p.changes().any(|c| prev.is_none_or(|t| c > t) && c <= push.at))
            .collect();
        prev = Some(push.at);
        if carried.is_empty() {
            continue;
        }
        let mut frng = Rng::new(cfg.seed, 5_000_000_000 + f.index as u64 * 4 + pi as u64);
        let (una, faults, fault) = if frng.chance(cfg.fault_share) {
            match frng.range(0, 4) {
                0 => (Una::Standard, Faults { wrapped: true, ..Default::default() }, "wrapped_lines"),
                1 => (Una::Absent, Faults::default(), "no_una"),
                2 => (Una::Syntax4, Faults::default(), "una_syntax4"),
                3 => (Una::Standard, Faults { unt_off: true, ..Default::default() }, "unt_count_off"),
                _ => (
                    Una::Standard,
                    Faults { missing_optional: true, ..Default::default() },
                    "missing_optional_segments",
                ),
            }
        } else {
            (Una::Standard, Faults::default(), "")
        };
        if !fault.is_empty() {
            out.faults.push(fault);
        }
        let bytes = edifact::render_push(geo, f, &carried, *push, una, faults, serial_offset * 3 + pi as u64);
        let dep_local = geo
            .airports
            .get(f.from)
            .map(|a| f.dep_utc.and_utc().with_timezone(&a.tz).naive_local())
            .unwrap_or(f.dep_utc);
        let name = format!("{}{:04}_{}_{}.edi", f.carrier, f.number, dep_local.format("%Y%m%d"), push.label);
        let path = dir.join(name);
        // create_new: two pushes never share a name; if they did, one would silently vanish.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::io::Write::write_all(&mut file, &bytes).with_context(|| format!("writing {}", path.display()))?;
        out.files += 1;
        out.bytes += bytes.len() as u64;
        out.pnr_versions += carried.len();
        if carried.len() > edifact::PART_PNRS {
            out.multipart += 1;
        }
        if push.msg_function == 141 {
            out.updates += 1;
        }
    }
    // API at check-in close: the passenger list of everyone checked in, and the crew list.
    let close_pnrs: Vec<&Pnr> = pnrs.iter().collect();
    let mut crng = Rng::new(cfg.seed, 7_000_000_000 + f.index as u64);
    let crew_country = world::carrier_country(f.carrier);
    let crew: Vec<model::Person> = (0..crng.range(6, 12))
        .map(|_| {
            let mut p = book::person(&mut crng, crew_country, model::PaxType::Adult, f.dep_utc.date(), None);
            let age = crng.range(22, 60);
            p.dob = book::birth_date(&mut crng, f.dep_utc.date(), age);
            p.doc = Some(book::usual_document(&mut crng, &p, f.dep_utc.date(), false));
            p
        })
        .collect();
    let api = edifact::render_paxlst(geo, f, &close_pnrs, close, &crew, serial_offset * 3 + 3);
    let dep_local =
        geo.airports.get(f.from).map(|a| f.dep_utc.and_utc().with_timezone(&a.tz).naive_local()).unwrap_or(f.dep_utc);
    let path = dir.join(format!("{}{:04}_{}_API.edi", f.carrier, f.number, dep_local.format("%Y%m%d")));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, &api).with_context(|| format!("writing {}", path.display()))?;
    out.files += 1;
    out.bytes += api.len() as u64;
    out.api_files += 1;
    let flight_name = format!("{}{}", f.carrier, f.number);
    let dep_local_date = geo
        .airports
        .get(f.from)
        .map(|a| f.dep_utc.and_utc().with_timezone(&a.tz).date_naive())
        .unwrap_or(f.dep_utc.date());
    for pnr in &pnrs {
        let pnr_id = ids::pnr_id(pnr.seller.system, &pnr.locator, Some(pnr.created.date()));
        for (i, p) in pnr.people.iter().enumerate() {
            let Some(scenario) = p.scenario else { continue };
            let doc_given = p.doc.as_ref().map(|_| p.given.as_str());
            let (given, _) = freetext::split_title(&edifact::booked_given(p), doc_given);
            out.labels.push(Label {
                traveller_id: ids::traveller_id(&pnr_id, &p.surname, &given, &(i + 1).to_string()).to_string(),
                pnr_id: pnr_id.to_string(),
                record_locator: pnr.locator.clone(),
                scenario,
                planted: scenarios::KINDS.iter().any(|k| k.id == scenario && !k.decoy),
                flight: flight_name.clone(),
                dep_date: dep_local_date.to_string(),
            });
        }
    }
    Ok(out)
}

fn write_labels(path: &Path, labels: &[Label]) -> anyhow::Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("traveller_id", DataType::Utf8, false),
        Field::new("pnr_id", DataType::Utf8, false),
        Field::new("record_locator", DataType::Utf8, false),
        Field::new("scenario", DataType::Utf8, false),
        Field::new("planted", DataType::Boolean, false),
        Field::new("flight", DataType::Utf8, false),
        Field::new("dep_date", DataType::Utf8, false),
    ]));
    let col =
        |f: &dyn Fn(&Label) -> &str| -> ArrayRef { Arc::new(StringArray::from_iter_values(labels.iter().map(f))) };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            col(&|l| &l.traveller_id),
            col(&|l| &l.pnr_id),
            col(&|l| &l.record_locator),
            col(&|l| l.scenario),
            Arc::new(BooleanArray::from_iter(labels.iter().map(|l| Some(l.planted)))),
            col(&|l| &l.flight),
            col(&|l| &l.dep_date),
        ],
    )?;
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}
