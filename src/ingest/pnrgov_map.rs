//! Mapping a parsed PNRGOV message to landing-table rows.
//!
//! This is where segments get their meaning: names lose their titles, SSR free text becomes
//! document and contact columns, local flight times get their UTC twin, card numbers are masked,
//! and sensitive SSRs are dropped. A PNR that cannot be keyed (no record locator) is rejected on
//! its own; its neighbours load as usual.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::diag::{Diagnostic, Severity};
use crate::edifact::interchange::Message;
use crate::edifact::lexer::Segment;
use crate::edifact::trim;
use crate::ingest::ids;
use crate::ingest::sensitive::{SensitiveCodes, SensitiveDrops};
use crate::ingest::times::{self, YearKind};
use crate::landing::schema::*;
use crate::pnrgov::freetext::{self, Docs};
use crate::pnrgov::grammar::{self, Pnr};
use crate::reference::Airports;

/// What the mapping needs besides the message.
pub struct MapContext<'c> {
    /// Input file names by segment origin, shared by every row that names its file.
    pub files: &'c [Shared],
    /// Raw bytes of the input files by origin, for the first bytes of rejected units.
    pub raw: &'c (dyn Fn(u32, usize) -> Option<String> + Sync),
    /// Airport reference table, for UTC conversion.
    pub airports: &'c Airports,
    /// Sensitive SSR codes to drop.
    pub sensitive: &'c SensitiveCodes,
}

impl MapContext<'_> {
    /// Name of the input file with origin `origin` (empty if unknown), shared, not copied.
    pub fn file(&self, origin: u32) -> Shared {
        self.files.get(origin as usize).cloned().unwrap_or_default()
    }
}

/// Counts for one message, for the manifest's invariants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// PNRs (SRC groups) read.
    pub pnrs_read: u64,
    /// PNRs loaded.
    pub pnrs_loaded: u64,
    /// PNRs rejected.
    pub pnrs_rejected: u64,
    /// Travellers (named TIFs of group 2) read.
    pub travellers_read: u64,
    /// Travellers loaded.
    pub travellers_loaded: u64,
    /// Travellers rejected (with their PNR).
    pub travellers_rejected: u64,
    /// PNRs not loaded because the same message was already loaded from another file or place,
    /// or because the same PNR (the same `pnr_id`) came earlier in the same push.
    pub pnrs_duplicate: u64,
    /// Travellers of those PNRs.
    pub travellers_duplicate: u64,
    /// People (passengers and crew) of PAXLST messages read.
    pub api_persons_read: u64,
    /// Of those, loaded into `api_traveller`.
    pub api_persons_loaded: u64,
    /// Not loaded because the same PAXLST message was already loaded.
    pub api_persons_duplicate: u64,
}

impl Counts {
    /// Adds `o` to these counts.
    pub fn add(&mut self, o: &Counts) {
        self.pnrs_read += o.pnrs_read;
        self.pnrs_loaded += o.pnrs_loaded;
        self.pnrs_rejected += o.pnrs_rejected;
        self.travellers_read += o.travellers_read;
        self.travellers_loaded += o.travellers_loaded;
        self.travellers_rejected += o.travellers_rejected;
        self.pnrs_duplicate += o.pnrs_duplicate;
        self.travellers_duplicate += o.travellers_duplicate;
        self.api_persons_read += o.api_persons_read;
        self.api_persons_loaded += o.api_persons_loaded;
        self.api_persons_duplicate += o.api_persons_duplicate;
    }
}

/// Rows, counts and sensitive-data drops of one message.
#[derive(Debug, Default)]
pub struct Mapped {
    /// The rows.
    pub rows: Rows,
    /// PNR and traveller counts.
    pub counts: Counts,
    /// Sensitive items dropped.
    pub drops: SensitiveDrops,
}

/// The columns of a `push` row that come from the envelope and UNH, for either format.
pub fn envelope_row(msg: &Message<'_>, push_id: &str, format: &str, ctx: &MapContext<'_>) -> PushRow {
    let env = &msg.envelope;
    PushRow {
        push_id: Shared::from(push_id),
        format: Text::from(format),
        version: msg.version.as_deref().map(Text::from),
        sender: env.sender.as_deref().map(Text::from),
        recipient: env.recipient.as_deref().map(Text::from),
        interchange_ref: env.control_ref.as_deref().map(Text::from),
        message_ref: msg.reference.as_deref().map(Text::from),
        common_access_ref: msg.common_access_ref.as_deref().map(Text::from),
        parts: msg.parts as i64,
        prepared_at_utc: times::utc(
            env.prepared_date.as_deref().and_then(times::parse_yymmdd),
            env.prepared_time.as_deref().and_then(times::parse_hhmm),
        ),
        source_file: ctx.file(msg.origin),
        source_offset: msg.offset as i64,
        ..Default::default()
    }
}

/// A diagnostic of a message's mapping as a `diagnostics` row, for either format.
pub fn diagnostic_row(ctx: &MapContext<'_>, push_id: &str, origin: u32, d: &Diagnostic) -> DiagnosticRow {
    DiagnosticRow {
        source_file: ctx.file(origin).to_string(),
        source_offset: d.offset as i64,
        push_id: Some(push_id.to_string()),
        severity: d.severity.as_str().to_string(),
        code: d.code.to_string(),
        message: d.message.clone(),
    }
}

/// The envelope's diagnostics of a message and its grammar's, as rows, each with the file of the
/// part it was found in, for either format.
pub fn message_diagnostic_rows(
    msg: &Message<'_>,
    grammar: &[Diagnostic],
    push_id: &str,
    ctx: &MapContext<'_>,
) -> Vec<DiagnosticRow> {
    let envelope = msg.diagnostics.iter().map(|d| diagnostic_row(ctx, push_id, msg.origin, d));
    let parsed = grammar.iter().map(|d| {
        // Only a message reassembled from parts can have segments from another file. Looking the
        // segment up costs a scan of the body per diagnostic, which a messy message makes many of.
        let origin = if msg.parts > 1 {
            msg.segments().find(|s| s.offset == d.offset).map(|s| s.origin).unwrap_or(msg.origin)
        } else {
            msg.origin
        };
        diagnostic_row(ctx, push_id, origin, d)
    });
    envelope.chain(parsed).collect()
}

/// Renders a segment's elements back as text (`+` between elements, `:` between components),
/// for history items and free text that has no column of its own.
///
/// Trailing empty components of each occurrence and trailing empty elements are left out. Built
/// in one string: it runs for every SSR, history item and free-text segment.
pub fn render(seg: &Segment<'_>) -> Text {
    let mut out = Text::default();
    for (i, e) in seg.elements().enumerate() {
        if i > 0 {
            out.push('+');
        }
        for (j, occ) in e.occurrences().enumerate() {
            if j > 0 {
                out.push('*');
            }
            let start = out.len();
            for (k, c) in occ.iter().enumerate() {
                if k > 0 {
                    out.push(':');
                }
                out.push_str(c);
            }
            let kept = out[start..].trim_end_matches(':').len();
            out.truncate(start + kept);
        }
    }
    let kept = out.trim_end_matches('+').len();
    out.truncate(kept);
    out
}

/// The trimmed text, `None` when absent or blank: how an optional field of a segment becomes a
/// column (for PAXLST too).
pub(super) fn owned(s: Option<&str>) -> Option<Text> {
    s.map(trim).filter(|s| !s.is_empty()).map(Text::from)
}

/// An amount, a decimal comma read as a point. Text without a comma is parsed as it stands: it
/// runs for every payment, fare, tax and bag weight, and the copy that `replace` made each time
/// was 4% of ingest's allocations (`callgrind`, docs/performance.md, change 88).
fn parse_amount(s: Option<&str>) -> Option<f64> {
    let t = trim(s?);
    let v = if t.contains(',') { t.replace(',', ".").parse::<f64>() } else { t.parse::<f64>() };
    v.ok().filter(|v| v.is_finite())
}

fn parse_int(s: Option<&str>) -> Option<i64> {
    trim(s?).parse::<i64>().ok()
}

fn same_flight_number(a: &str, b: &str) -> bool {
    a.trim_start_matches('0') == b.trim_start_matches('0')
}

/// Mapping state for one message.
struct Mapper<'c, 'm> {
    ctx: &'c MapContext<'c>,
    msg: &'m Message<'m>,
    push_id: Shared,
    dep_date: Option<NaiveDate>,
    /// Date that two-digit birth years must not pass.
    reference_date: Option<NaiveDate>,
    flight: Option<(Text, Text)>,
    /// Departure and arrival airport of the pushed flight.
    route: (Option<Text>, Option<Text>),
    /// Payment rows so far of the PNR being mapped, for each payment's `seq`. A pnr_id is loaded
    /// once per push (`loaded_pnrs`), so this counts the payments of that pnr_id in the message.
    payment_seq: i64,
    /// The PNRs of this push loaded so far: pnr_id, and the input and byte offset of its SRC.
    loaded_pnrs: foldhash::HashMap<Text, (u32, usize)>,
    /// Local flight times converted to UTC lately in this message.
    recent_utc: times::RecentUtc,
    out: Mapped,
}

/// Local date and time of a TVL composite and its UTC conversion, with a diagnostic for an
/// unknown airport.
struct Times {
    dep_local: Option<NaiveDateTime>,
    dep_utc: Option<DateTime<Utc>>,
    arr_local: Option<NaiveDateTime>,
    arr_utc: Option<DateTime<Utc>>,
}

impl<'c, 'm> Mapper<'c, 'm> {
    fn file(&self, seg: &Segment<'_>) -> Shared {
        self.ctx.file(seg.origin)
    }

    fn diag(&mut self, seg: &Segment<'_>, severity: Severity, code: &'static str, message: String) {
        self.push_diag(seg.origin, &Diagnostic::new(seg.offset, severity, code, message));
    }

    fn push_diag(&mut self, origin: u32, d: &Diagnostic) {
        let row = diagnostic_row(self.ctx, &self.push_id, origin, d);
        self.out.rows.diagnostics.push(row);
    }

    fn local_to_utc(
        &mut self,
        seg: &Segment<'_>,
        airport: Option<&str>,
        local: Option<NaiveDateTime>,
    ) -> Option<DateTime<Utc>> {
        let (utc, diag) = self.recent_utc.utc_at(self.ctx.airports, airport?, local?, seg.offset);
        if let Some(d) = diag {
            self.push_diag(seg.origin, &d);
        }
        utc
    }

    /// Dates and times of a TVL: `DDMMYY:HHMM:DDMMYY:HHMM`, with the variants senders use
    /// (arrival date left out, or the arrival time written in the arrival date's place).
    fn tvl_times(&mut self, tvl: &Segment<'_>, dep_airport: Option<&str>, arr_airport: Option<&str>) -> Times {
        let dep_date = tvl.get(0, 0).and_then(times::parse_ddmmyy);
        let dep_time = tvl.get(0, 1).and_then(times::parse_hhmm);
        let (arr_date, arr_time) = match (tvl.get(0, 2), tvl.get(0, 3)) {
            (Some(c3), None) if c3.len() == 4 => (dep_date, times::parse_hhmm(c3)),
            (c3, c4) => (c3.and_then(times::parse_ddmmyy).or(dep_date), c4.and_then(times::parse_hhmm)),
        };
        if tvl.get(0, 0).is_some() && dep_date.is_none() {
            self.diag(
                tvl,
                Severity::Warning,
                "BAD_DATE",
                format!("TVL departure date {:?} is not DDMMYY", tvl.get(0, 0).unwrap_or("")),
            );
        }
        let dep_local = dep_date.map(|d| d.and_time(dep_time.unwrap_or_default()));
        let arr_local = arr_time.and_then(|t| arr_date.map(|d| d.and_time(t)));
        // A time of day is needed for an instant; a date alone stays local.
        let dep_utc = if dep_time.is_some() { self.local_to_utc(tvl, dep_airport, dep_local) } else { None };
        let arr_utc = self.local_to_utc(tvl, arr_airport, arr_local);
        Times { dep_local, dep_utc, arr_local, arr_utc }
    }

    /// Is a leg the pushed flight? Same departure date, and the pushed carrier and flight number
    /// as marketing or operating flight. Code-share pairs in real feeds do not always say which
    /// number is whose, so the same carrier on the same route and date also counts.
    fn is_pushed_flight(
        &self,
        date: Option<NaiveDate>,
        flights: [(&Option<Text>, &Option<Text>); 2],
        dep: Option<&str>,
        arr: Option<&str>,
    ) -> bool {
        let (Some((carrier, number)), Some(date)) = (&self.flight, date) else { return false };
        if Some(date) != self.dep_date {
            return false;
        }
        let carrier_matches = |c: &Option<Text>| c.as_deref() == Some(carrier.as_str());
        if flights
            .iter()
            .any(|(c, n)| carrier_matches(c) && n.as_deref().is_some_and(|n| same_flight_number(n, number)))
        {
            return true;
        }
        let (push_dep, push_arr) = &self.route;
        flights.iter().any(|(c, _)| carrier_matches(c))
            && dep.is_some()
            && dep == push_dep.as_deref()
            && arr == push_arr.as_deref()
    }

    fn map_header(&mut self, g: &grammar::PnrgovMessage<'_, '_>) {
        let env = &self.msg.envelope;
        let prepared = times::utc(
            env.prepared_date.as_deref().and_then(times::parse_yymmdd),
            env.prepared_time.as_deref().and_then(times::parse_hhmm),
        );
        let mut row = PushRow {
            push_type: g.msg.and_then(|m| parse_int(m.get(0, 1).or(m.get(0, 0)))),
            originator: g.originator.map(|o| render(o)).filter(|s| !s.is_empty()),
            pnr_count: g.pnrs.len() as i64,
            declared_pnr_count: g.eqn.and_then(|e| parse_int(e.get(0, 0))),
            ..envelope_row(self.msg, &self.push_id, "PNRGOV", self.ctx)
        };
        self.reference_date = prepared.map(|p| p.date_naive());
        match g.flight {
            Some(tvl) => {
                let dep = owned(tvl.get(1, 0));
                let arr = owned(tvl.get(2, 0));
                let t = self.tvl_times(tvl, dep.as_deref(), arr.as_deref());
                row.flight_carrier = owned(tvl.get(3, 0));
                row.flight_number = owned(tvl.get(4, 0));
                self.route = (dep.clone(), arr.clone());
                row.dep_airport = dep;
                row.arr_airport = arr;
                row.dep_local = t.dep_local;
                row.dep_utc = t.dep_utc;
                row.arr_local = t.arr_local;
                row.arr_utc = t.arr_utc;
                row.dep_date = t.dep_local.map(|d| d.date());
                self.dep_date = row.dep_date;
                if let Some(d) = row.dep_date {
                    self.reference_date = Some(d);
                }
                if let (Some(c), Some(n)) = (&row.flight_carrier, &row.flight_number) {
                    self.flight = Some((c.clone(), n.clone()));
                }
            }
            None => {
                let d = Diagnostic::new(
                    self.msg.offset,
                    Severity::Warning,
                    "NO_PUSHED_FLIGHT",
                    "message has no level-0 TVL naming the pushed flight; flight columns left NULL",
                );
                self.push_diag(self.msg.origin, &d);
            }
        }
        if let (Some(d), n) = (row.declared_pnr_count, row.pnr_count)
            && d != n
            && row.push_type != Some(141)
        {
            let at = g.eqn.map(|e| (e.origin, e.offset)).unwrap_or((self.msg.origin, self.msg.offset));
            let d = Diagnostic::new(
                at.1,
                Severity::Info,
                "EQN_COUNT_MISMATCH",
                format!("EQN declares {d} PNRs, the message has {n}"),
            );
            self.push_diag(at.0, &d);
        }
        self.out.rows.push.push(row);
    }

    fn reject_pnr(&mut self, pnr: &Pnr<'_, '_>, code: &str, message: String, travellers: u64) {
        let src = pnr.src;
        self.out.rows.rejects.push(RejectRow {
            source_file: self.file(src).to_string(),
            source_offset: src.offset as i64,
            unit: "pnr".into(),
            code: code.into(),
            message,
            raw_prefix: (self.ctx.raw)(src.origin, src.offset),
        });
        self.out.counts.pnrs_rejected += 1;
        self.out.counts.travellers_rejected += travellers;
    }

    /// Is this SSR sensitive (by code or by a code in its free text)? Records the drop.
    fn drop_sensitive_ssr(&mut self, ssr: &Segment<'_>) -> bool {
        let code = ssr.get(0, 0).unwrap_or("");
        if self.ctx.sensitive.is_sensitive_code(code) {
            self.out.drops.record(&code.to_ascii_uppercase());
            return true;
        }
        let ctx = self.ctx;
        self.record_drop(ssr.components().find_map(|c| ctx.sensitive.find_in_text(c)))
    }

    /// Does this free text mention a sensitive code? Records the drop.
    fn drop_sensitive_text(&mut self, text: &str) -> bool {
        let ctx = self.ctx;
        self.record_drop(ctx.sensitive.find_in_text(text))
    }

    /// Records the drop of an item for the sensitive `code` found in it, if any; whether one was.
    fn record_drop(&mut self, code: Option<&str>) -> bool {
        code.inspect(|c| self.out.drops.record(c)).is_some()
    }

    fn map_pnr(&mut self, pnr: &Pnr<'_, '_>) {
        let read_travellers = pnr.travellers.iter().filter(|t| !is_group(t.tif)).count() as u64;
        self.out.counts.pnrs_read += 1;
        self.out.counts.travellers_read += read_travellers;

        // The first RCI composite with a locator identifies the PNR.
        let mut locators: Vec<Locator> = Vec::new();
        for rci in &pnr.rci {
            for el in rci.elements() {
                if let Some(loc) = el.get(1) {
                    // Standard: c3 control type, c4 date, c5 time. Some senders leave out the
                    // control type and its separator (`RCI+UA:06A9FD:110418:1220`).
                    let shifted =
                        el.get(3).is_some_and(|t| t.len() == 4) && el.get(2).and_then(times::parse_ddmmyy).is_some();
                    let (date, time) = if shifted { (el.get(2), el.get(3)) } else { (el.get(3), el.get(4)) };
                    locators.push((
                        Text::from(el.get(0).unwrap_or("").trim()),
                        Text::from(loc.trim()),
                        date.and_then(times::parse_ddmmyy),
                        time.and_then(times::parse_hhmm),
                    ));
                }
            }
        }
        let Some((carrier, locator, created_date, created_time)) = locators.first().cloned() else {
            let why = if pnr.rci.is_empty() { "PNR has no RCI segment" } else { "RCI carries no record locator" };
            self.reject_pnr(
                pnr,
                "PNR_NO_LOCATOR",
                format!("{why}: the PNR cannot be keyed, so it is not loaded; {read_travellers} traveller(s) rejected with it"),
                read_travellers,
            );
            return;
        };
        if locators.first().is_some_and(|l| l.2.is_none()) {
            self.diag(
                pnr.src,
                Severity::Info,
                "PNR_NO_CREATION_DATE",
                format!("RCI for {carrier}:{locator} has no creation date; pnr_id uses the 'nodate' fallback"),
            );
        }
        let pnr_id = ids::pnr_id(&carrier, &locator, created_date);
        if let Some(&(origin, offset)) = self.loaded_pnrs.get(&pnr_id) {
            // One push is one snapshot of the flight: a PNR it sends twice is one booking, and
            // loading both copies would give each of its travellers two rows in the view.
            let first = self.ctx.file(origin);
            self.diag(
                pnr.src,
                Severity::Warning,
                "PNR_REPEATED_IN_PUSH",
                format!(
                    "PNR {carrier}:{locator} (pnr_id {pnr_id}) was already sent in this push, at byte {offset} of \
                     {first}; the first copy is loaded, and this one is counted as a duplicate with its \
                     {read_travellers} traveller(s)"
                ),
            );
            self.out.counts.pnrs_duplicate += 1;
            self.out.counts.travellers_duplicate += read_travellers;
            return;
        }
        self.loaded_pnrs.insert(pnr_id.clone(), (pnr.src.origin, pnr.src.offset));
        self.payment_seq = 0;
        let file = self.file(pnr.src);
        let mut row = PnrRow {
            pnr_id: pnr_id.clone(),
            push_id: self.push_id.clone(),
            carrier: Some(carrier).filter(|c| !c.is_empty()),
            record_locator: Some(locator),
            other_locators: joined_pairs(locators.iter().skip(1).map(|l| (l.0.as_str(), l.1.as_str()))),
            created_at_utc: times::utc(created_date, created_time),
            dep_date: self.dep_date,
            source_file: file.clone(),
            source_offset: pnr.src.offset as i64,
            ..Default::default()
        };
        for dat in &pnr.dat {
            for el in dat.elements() {
                let at = times::utc(el.get(1).and_then(times::parse_ddmmyy), el.get(2).and_then(times::parse_hhmm));
                match el.get(0) {
                    Some("700") => row.last_txn_at_utc = row.last_txn_at_utc.or(at),
                    Some("710") => row.ticketed_at_utc = row.ticketed_at_utc.or(at),
                    _ => {}
                }
            }
        }
        if let Some(org) = pnr.org {
            row.booking_system = owned(org.get(0, 0));
            row.booking_location = owned(org.get(0, 1));
            row.agency_iata = owned(org.get(1, 0));
            row.office_id = owned(org.get(1, 1));
            row.city_of_sale = owned(org.get(2, 0));
            row.agent_type = owned(org.get(4, 0));
            row.booking_country = owned(org.get(5, 0));
            row.booking_currency = owned(org.get(5, 1));
        }
        for split in &pnr.splits {
            row.split_count = row.split_count.or(parse_int(split.eqn.get(0, 0)));
            row.split_locators = joined_pairs(
                split
                    .rci
                    .iter()
                    .flat_map(|r| r.elements())
                    .filter_map(|e| e.get(1).map(|l| (e.get(0).unwrap_or(""), l))),
            );
        }

        let travellers = self.map_travellers(pnr, &pnr_id);
        row.party_size = travellers.iter().filter(|t| t.is_some()).count() as i64;
        row.is_group = pnr.travellers.iter().any(|t| is_group(t.tif));
        row.group_name = pnr.travellers.iter().find(|t| is_group(t.tif)).and_then(|t| owned(t.tif.get(0, 0)));
        row.leg_count = pnr.legs.len() as i64;

        self.map_pnr_level_items(pnr, &pnr_id, &travellers);
        self.map_legs(pnr, &pnr_id, &travellers);
        self.map_history(pnr, &pnr_id);
        if pnr.travellers.is_empty() {
            self.diag(
                pnr.src,
                Severity::Warning,
                "PNR_NO_TRAVELLERS",
                "PNR has no TIF segment; loaded without travellers".into(),
            );
        }
        self.out.rows.pnr.push(row);
        self.out.counts.pnrs_loaded += 1;
        self.out.counts.travellers_loaded += read_travellers;
    }

    /// Builds the traveller rows. Returns, per group-2 TIF, the (traveller_id, surname, given
    /// name, reference) of the traveller, or `None` for a group name.
    fn map_travellers(&mut self, pnr: &Pnr<'_, '_>, pnr_id: &str) -> Vec<Option<TravellerKey>> {
        // Stubs first: documents are matched to travellers by name and reference.
        let stubs = stubs_of(pnr);

        // Every SSR that describes a person, with the traveller it was sent under (if any).
        let mut person_ssrs: Vec<(&Segment<'_>, Option<usize>)> = Vec::new();
        for s in &pnr.ssr {
            person_ssrs.push((s, None));
        }
        for (i, t) in pnr.travellers.iter().enumerate() {
            for s in &t.ssr {
                person_ssrs.push((s, Some(i)));
            }
        }
        for l in &pnr.legs {
            for s in &l.ssr {
                person_ssrs.push((s, None));
            }
        }
        // What the SSRs say of each traveller, in one vector: six vectors of `None`, each
        // allocated and filled, were a twelfth of this function's samples.
        let mut found: Vec<PersonItems> = std::iter::repeat_with(PersonItems::default).take(stubs.len()).collect();
        for (ssr, under) in &person_ssrs {
            let code = ssr.get(0, 0).unwrap_or("");
            if !matches!(code, "DOCS" | "DOCO" | "DOCA" | "FQTV" | "INFT") {
                continue;
            }
            let text = ssr.text_from(0, 8, ':').unwrap_or_default();
            let ssr_ref = ssr.get(1, 2);
            match code {
                "DOCS" => {
                    let d = freetext::parse_docs(&text);
                    // Among namesakes: the one this document was already seen for (DOCS is
                    // often sent once per leg), then one with no document yet.
                    let rank = |i: usize| match &found[i].docs {
                        Some(x) if x.number.is_some() && x.number == d.number => 0,
                        None => 1,
                        Some(_) => 2,
                    };
                    let (sn, gn) = (d.surname.as_deref(), d.given.as_deref());
                    let who = match_person(&stubs, sn, gn, ssr_ref, *under, d.is_infant(), &rank);
                    match who {
                        Some(i) => merge_docs(&mut found[i].docs, d),
                        None => self.diag(
                            ssr,
                            Severity::Warning,
                            "DOCS_UNMATCHED",
                            "SSR DOCS names no traveller of this PNR; not loaded".into(),
                        ),
                    }
                }
                "DOCO" => {
                    if let Some(i) = match_person(&stubs, None, None, ssr_ref, *under, text.ends_with("/I"), &|_| 0)
                        && found[i].doco.is_none()
                    {
                        found[i].doco = Some(freetext::parse_doco(&text));
                    }
                }
                "DOCA" => {
                    if let Some(i) = match_person(&stubs, None, None, ssr_ref, *under, text.ends_with("/I"), &|_| 0) {
                        let a = freetext::parse_doca(&text);
                        let slot =
                            if a.kind.as_deref() == Some("D") { &mut found[i].doca_d } else { &mut found[i].doca_r };
                        if slot.is_none() {
                            *slot = Some(a);
                        }
                    }
                }
                "FQTV" => {
                    if let Some(i) = match_person(&stubs, None, None, ssr_ref, *under, false, &|_| 0)
                        && found[i].fqtv.is_none()
                    {
                        found[i].fqtv = Some(freetext::parse_fqtv(&text));
                    }
                }
                _ => {
                    let inf = freetext::parse_inft(&text);
                    if let Some(i) =
                        match_person(&stubs, inf.surname.as_deref(), inf.given.as_deref(), None, None, true, &|i| {
                            u8::from(found[i].inft_dob.is_some())
                        })
                        && found[i].inft_dob.is_none()
                    {
                        found[i].inft_dob = inf.dob;
                    }
                }
            }
        }

        // Keys, then infant links.
        let mut keys: Vec<Option<TravellerKey>> = Vec::with_capacity(stubs.len());
        for (i, stub) in stubs.iter().enumerate() {
            let Some(s) = stub else {
                keys.push(None);
                continue;
            };
            let doc_given = found[i].docs.as_ref().and_then(|d| d.given.as_deref());
            let (given, title) = freetext::split_title(&s.given_raw, doc_given);
            let reference = s.reference.clone().unwrap_or_default();
            let mut id = ids::traveller_id(pnr_id, &s.surname, &given, &reference);
            if keys.iter().flatten().any(|k| k.id == id) {
                // Namesakes with the same (or no) reference would share one id and be merged
                // downstream; the later one takes its TIF position as the reference instead.
                let position = format!("#{}", i + 1);
                id = ids::traveller_id(pnr_id, &s.surname, &given, &position);
                self.diag(
                    pnr.travellers[i].tif,
                    Severity::Warning,
                    "TRAVELLER_ID_CLASH",
                    format!(
                        "traveller {} has the name and reference {:?} of an earlier traveller of this PNR; \
                         its traveller_id is derived with reference {position:?}",
                        i + 1,
                        reference
                    ),
                );
            }
            keys.push(Some(TravellerKey {
                id,
                surname: s.surname.clone(),
                given,
                title,
                reference: s.reference.clone(),
            }));
        }
        for (i, t) in pnr.travellers.iter().enumerate() {
            let (Some(stub), Some(key)) = (&stubs[i], &keys[i]) else { continue };
            let kind = stub.kind;
            let infant_of = if kind == "infant" {
                find_infant_adult(&stubs, i).and_then(|a| keys[a].as_ref()).map(|k| k.id.clone())
            } else {
                None
            };
            let items = &mut found[i];
            let d = items.docs.take().unwrap_or_default();
            let o = items.doco.take().unwrap_or_default();
            let ff = items.fqtv.take();
            let (doca_r, doca_d, inft_dob) = (&items.doca_r, &items.doca_d, &items.inft_dob);
            let fti = t.fti.first();
            let dob = d
                .dob
                .as_deref()
                .or(inft_dob.as_deref())
                .and_then(|s| times::parse_ddmmmyy(s, YearKind::Birth, self.reference_date));
            if d.dob.is_some() && dob.is_none() {
                self.diag(
                    t.tif,
                    Severity::Warning,
                    "BAD_DATE",
                    format!("date of birth {:?} in DOCS is not DDMMMYY", d.dob.as_deref().unwrap_or("")),
                );
            }
            let row = TravellerRow {
                traveller_id: key.id.clone(),
                pnr_id: Text::from(pnr_id),
                push_id: self.push_id.clone(),
                surname: Some(stub.surname.clone()).filter(|s| !s.is_empty()),
                given_name: Some(key.given.clone()).filter(|s| !s.is_empty()),
                title: key.title.clone(),
                given_name_raw: Some(stub.given_raw.clone()).filter(|s| !s.is_empty()),
                traveller_type: Text::from(kind),
                traveller_type_code: stub.type_code.clone(),
                traveller_ref: stub.reference.clone(),
                infant_of,
                with_infant: stub.with_infant,
                doc_type: d.doc_type,
                doc_number: d.number,
                doc_issuer: d.issuer,
                nationality: d.nationality,
                date_of_birth: dob,
                gender: d.gender,
                doc_expiry: d.expiry.as_deref().and_then(|s| times::parse_ddmmmyy(s, YearKind::Recent, None)),
                doc_surname: d.surname,
                doc_given_name: match (d.given, d.middle) {
                    (Some(g), Some(m)) => Some(compact_str::format_compact!("{g} {m}")),
                    (g, _) => g,
                },
                birth_place: o.birth_place,
                visa_type: o.doc_type,
                visa_number: o.number,
                visa_issue_place: o.issue_place,
                visa_issue_date: o
                    .issue_date
                    .as_deref()
                    .and_then(|s| times::parse_ddmmmyy(s, YearKind::Birth, self.reference_date)),
                visa_valid_for: o.valid_for,
                residence_country: doca_r.as_ref().and_then(|a| a.country.clone()),
                residence_address: doca_r.as_ref().and_then(address_text),
                destination_country: doca_d.as_ref().and_then(|a| a.country.clone()),
                destination_address: doca_d.as_ref().and_then(address_text),
                frequent_flyer_airline: fti
                    .and_then(|f| owned(f.get(0, 0)))
                    .or_else(|| ff.as_ref().and_then(|f| f.airline.clone())),
                frequent_flyer_number: fti
                    .and_then(|f| owned(f.get(0, 1)))
                    .or_else(|| ff.as_ref().and_then(|f| f.number.clone())),
                frequent_flyer_tier: fti.and_then(|f| f.element(0)).and_then(|e| {
                    e.components.iter().skip(2).rev().find(|c| !c.is_empty()).map(|c| Text::from(c.as_ref()))
                }),
                unique_passenger_ref: t.reference.and_then(|r| owned(r.get(0, 1).or(r.get(0, 0)))),
                fare_pax_type: t.far.and_then(|f| owned(f.get(0, 0))),
                age: t.far.and_then(|f| parse_int(f.get(1, 0))),
                dep_date: self.dep_date,
                source_file: self.file(t.tif),
                source_offset: t.tif.offset as i64,
            };
            self.out.rows.traveller.push(row);
        }
        // Tickets, payments, contacts and other SSRs of each traveller.
        for (i, t) in pnr.travellers.iter().enumerate() {
            let Some(key) = &keys[i] else { continue };
            for tk in &t.tickets {
                self.map_ticket(tk, pnr_id, &key.id);
            }
            for s in &t.ssr {
                self.map_ssr(s, pnr_id, Some(&key.id), None, "traveller", &keys);
            }
            for ift in &t.ift {
                self.map_ift(ift, pnr_id, Some(&key.id), None, "traveller");
            }
            for tk in &t.tickets {
                for ift in &tk.ift {
                    self.map_ift(ift, pnr_id, Some(&key.id), None, "traveller");
                }
            }
            for add in &t.add {
                self.map_add(add, pnr_id, Some(&key.id));
            }
            for e in &t.ebd {
                self.map_ebd(e, pnr_id, Some(&key.id));
            }
        }
        keys
    }

    fn map_ticket(&mut self, tk: &grammar::Ticket<'_, '_>, pnr_id: &str, traveller_id: &str) {
        let number = tk.tkt.and_then(|t| owned(t.get(0, 0)));
        if let Some(tkt) = tk.tkt {
            let mut row = TicketRow {
                traveller_id: Text::from(traveller_id),
                pnr_id: Text::from(pnr_id),
                push_id: self.push_id.clone(),
                ticket_number: number.clone(),
                doc_type: owned(tkt.get(0, 1)),
                booklets: parse_int(tkt.get(0, 2)),
                dep_date: self.dep_date,
                source_file: self.file(tkt),
                source_offset: tkt.offset as i64,
                ..Default::default()
            };
            if let Some(mon) = tk.mon {
                for el in mon.elements() {
                    let amount_text = el.get(1);
                    let amount = parse_amount(amount_text);
                    let hidden = amount_text.is_some() && amount.is_none();
                    match el.get(0) {
                        Some("B") => {
                            row.base_fare = amount;
                            row.base_currency = owned(el.get(2));
                        }
                        Some("T") => {
                            row.total_fare = amount;
                            row.total_currency = owned(el.get(2));
                        }
                        _ => {}
                    }
                    row.fare_not_disclosed |= hidden;
                }
            }
            let taxes: Vec<f64> =
                tk.txd.iter().flat_map(|t| t.elements().filter_map(|e| parse_amount(e.get(0)))).collect();
            row.tax_total = if taxes.is_empty() { None } else { Some(taxes.iter().sum()) };
            if let Some(ptk) = tk.ptk {
                row.pricing_indicator = owned(ptk.get(0, 0));
                row.refundable = match ptk.get(0, 0) {
                    Some("NR") => Some(false),
                    _ => None,
                };
                row.validating_carrier = owned(ptk.get(3, 0));
                row.city_of_sale = owned(ptk.get(5, 0));
            }
            for dat in &tk.dat {
                for el in dat.elements() {
                    if el.get(0) == Some("710") || el.get(0).is_some_and(|q| q.len() == 6) {
                        let (d, t) =
                            if el.get(0) == Some("710") { (el.get(1), el.get(2)) } else { (el.get(0), el.get(1)) };
                        row.issued_at_utc = row
                            .issued_at_utc
                            .or(times::utc(d.and_then(times::parse_ddmmyy), t.and_then(times::parse_hhmm)));
                    }
                }
            }
            self.out.rows.ticket.push(row);
        }
        for p in &tk.payments {
            self.map_payment(p, pnr_id, Some(traveller_id), number.clone());
        }
    }

    fn map_payment(
        &mut self,
        p: &grammar::Payment<'_, '_>,
        pnr_id: &str,
        traveller_id: Option<&str>,
        ticket: Option<Text>,
    ) {
        let sponsor = p.ift.iter().find(|i| i.get(0, 1) == Some("43")).copied();
        for el in p.fop.elements() {
            let fop_type = el.get(0).map(Text::from);
            if fop_type.is_none() && el.get(2).is_none() && el.get(4).is_none() {
                continue;
            }
            // The card number's letters and digits: borrowed when it has nothing else (nearly
            // always), where collecting it pushed each character on its own.
            let number = el.get(4).unwrap_or("");
            let digits: std::borrow::Cow<'_, str> = if number.bytes().all(|b| b.is_ascii_alphanumeric()) {
                number.into()
            } else {
                number.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().into()
            };
            let last4 = if digits.len() >= 4 && digits[digits.len() - 4..].chars().all(|c| c.is_ascii_digit()) {
                Some(Text::from(&digits[digits.len() - 4..]))
            } else {
                None
            };
            let masked = last4.as_ref().map(|l| masked_card(digits.len(), l));
            let vendor = owned(el.get(3));
            let expiry = owned(el.get(5));
            let card_key = match (&vendor, &last4) {
                (Some(v), Some(l)) => {
                    let expiry = expiry.as_deref().unwrap_or("");
                    let mut key = Text::with_capacity(v.len() + l.len() + expiry.len() + 2);
                    for part in [v.as_str(), ":", l.as_str(), ":", expiry] {
                        key.push_str(part);
                    }
                    Some(key)
                }
                _ => None,
            };
            self.payment_seq += 1;
            let seq = self.payment_seq;
            let row = PaymentRow {
                pnr_id: Text::from(pnr_id),
                traveller_id: traveller_id.map(Text::from),
                push_id: self.push_id.clone(),
                ticket_number: ticket.clone(),
                seq,
                is_cash: fop_type.as_deref() == Some("CA"),
                fop_type,
                previous: el.get(1) == Some("2"),
                amount: parse_amount(el.get(2)),
                card_vendor: vendor,
                card_number_masked: masked,
                card_last4: last4,
                card_expiry: expiry,
                card_key,
                payer_name: sponsor.and_then(|s| owned(s.get(1, 0))),
                payer_address: sponsor
                    .and_then(|s| s.text_from(2, 0, ' '))
                    .or_else(|| p.add.first().and_then(|a| a.text_from(1, 1, ' '))),
                payer_phone: sponsor.and_then(|s| s.get(3, 0)).and_then(freetext::normalise_phone),
                dep_date: self.dep_date,
                source_file: self.file(p.fop),
                source_offset: p.fop.offset as i64,
            };
            if let Some(phone) = row.payer_phone.clone() {
                self.push_contact(pnr_id, traveller_id, "phone", phone, "IFT 4:43 sponsor", None, None, p.fop);
            }
            self.out.rows.payment.push(row);
        }
        for add in &p.add {
            self.map_add(add, pnr_id, traveller_id);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_contact(
        &mut self,
        pnr_id: &str,
        traveller_id: Option<&str>,
        kind: &str,
        value: Text,
        source: &str,
        purpose: Option<Text>,
        country: Option<Text>,
        seg: &Segment<'_>,
    ) {
        self.out.rows.contact.push(ContactRow {
            pnr_id: Text::from(pnr_id),
            traveller_id: traveller_id.map(Text::from),
            push_id: self.push_id.clone(),
            kind: Text::from(kind),
            value,
            source_segment: Text::from(source),
            purpose,
            country,
            dep_date: self.dep_date,
            source_file: self.file(seg),
            source_offset: seg.offset as i64,
        });
    }

    /// ADD: an address and, in its last component, often a phone or e-mail.
    fn map_add(&mut self, add: &Segment<'_>, pnr_id: &str, traveller_id: Option<&str>) {
        let text = render(add);
        if self.drop_sensitive_text(&text) {
            return;
        }
        for el in add.elements().skip(1) {
            let purpose = owned(el.get(0));
            let country = owned(el.get(5));
            let address: Vec<&str> = [1, 2, 3, 4, 6].iter().filter_map(|&c| el.get(c)).collect();
            if !address.is_empty() {
                self.push_contact(
                    pnr_id,
                    traveller_id,
                    "address",
                    Text::from(address.join(", ")),
                    "ADD",
                    purpose.clone(),
                    country.clone(),
                    add,
                );
            }
            if let Some(extra) = el.get(7) {
                if let Some(c) = freetext::parse_ctc_line(extra) {
                    self.push_contact(
                        pnr_id,
                        traveller_id,
                        c.kind,
                        c.value,
                        "ADD",
                        purpose.clone(),
                        country.clone(),
                        add,
                    );
                } else if extra.contains("//") {
                    if let Some(e) = freetext::normalise_email(extra.rsplit(' ').next().unwrap_or(extra)) {
                        self.push_contact(
                            pnr_id,
                            traveller_id,
                            "email",
                            e,
                            "ADD",
                            purpose.clone(),
                            country.clone(),
                            add,
                        );
                    }
                } else if let Some(p) = freetext::normalise_phone(extra) {
                    let kind = match purpose.as_deref() {
                        Some("M") => "mobile",
                        Some("H") => "home",
                        Some("E") => "email",
                        _ => "phone",
                    };
                    self.push_contact(pnr_id, traveller_id, kind, p, "ADD", purpose.clone(), country.clone(), add);
                }
            }
        }
    }

    fn map_ebd(&mut self, ebd: &Segment<'_>, pnr_id: &str, traveller_id: Option<&str>) {
        self.out.rows.ssr.push(SsrRow {
            pnr_id: Text::from(pnr_id),
            traveller_id: traveller_id.map(Text::from),
            push_id: self.push_id.clone(),
            level: if traveller_id.is_some() { "traveller".into() } else { "pnr".into() },
            code: Some("EBD".into()),
            quantity: parse_int(ebd.get(1, 0)),
            free_text: Some(render(ebd)),
            dep_date: self.dep_date,
            source_file: self.file(ebd),
            source_offset: ebd.offset as i64,
            ..Default::default()
        });
    }

    /// IFT: contacts (CTC*) go to `contact`; other free text (OSI, fare calculation) to `ssr`
    /// with code OSI, FARECALC or IFT.
    fn map_ift(
        &mut self,
        ift: &Segment<'_>,
        pnr_id: &str,
        traveller_id: Option<&str>,
        leg_seq: Option<i64>,
        level: &str,
    ) {
        let text = ift.text_from(1, 0, ' ').map(|t| {
            // Free text continues over further elements.
            let rest: Vec<String> = ift.elements().skip(2).map(|e| e.components.join(":")).collect();
            if rest.is_empty() { t } else { compact_str::format_compact!("{t} {}", rest.join(" ")) }
        });
        let Some(text) = text else { return };
        if self.drop_sensitive_text(&text) {
            return;
        }
        if let Some(c) = freetext::parse_ctc_line(&text) {
            let mut source = Text::const_new("IFT ");
            source.push_str(&c.code);
            self.push_contact(pnr_id, traveller_id, c.kind, c.value, &source, None, None, ift);
            return;
        }
        let code = match (ift.get(0, 0), ift.get(0, 1)) {
            (Some("4"), Some("28")) | (Some("3"), _) => "OSI",
            (Some("4"), Some("15")) => "FARECALC",
            (Some("4"), Some("43")) => "SPONSOR",
            _ => "IFT",
        };
        self.out.rows.ssr.push(SsrRow {
            pnr_id: Text::from(pnr_id),
            traveller_id: traveller_id.map(Text::from),
            push_id: self.push_id.clone(),
            leg_seq,
            level: Text::from(level),
            code: Some(code.into()),
            carrier: owned(ift.get(0, 3)),
            free_text: Some(text),
            dep_date: self.dep_date,
            source_file: self.file(ift),
            source_offset: ift.offset as i64,
            ..Default::default()
        });
    }

    /// One SSR. DOCS/DOCO/DOCA/FQTV/INFT already went into traveller columns; contacts go to
    /// `contact`; the rest to `ssr` (one row per traveller reference for SEAT-like SSRs).
    #[allow(clippy::too_many_arguments)]
    fn map_ssr(
        &mut self,
        ssr: &Segment<'_>,
        pnr_id: &str,
        under: Option<&str>,
        leg_seq: Option<i64>,
        level: &str,
        keys: &[Option<TravellerKey>],
    ) {
        if self.drop_sensitive_ssr(ssr) {
            return;
        }
        let code = Text::from(ssr.get(0, 0).unwrap_or("")).to_ascii_uppercase();
        // Person SSRs are the travellers' (`map_travellers`): returned before their text is built.
        if matches!(code.as_str(), "DOCS" | "DOCO" | "DOCA" | "FQTV" | "INFT") {
            return;
        }
        let text = ssr.text_from(0, 8, ':');
        let by_ref = |r: Option<&str>| -> Option<Text> {
            let r = r?;
            keys.iter().flatten().find(|k| k.reference.as_deref() == Some(r)).map(|k| k.id.clone())
        };
        match code.as_str() {
            c if c.starts_with("CTC") => {
                let traveller = by_ref(ssr.get(1, 2)).or(under.map(Text::from));
                let kind = freetext::ctc_kind(c);
                let value = match kind {
                    "email" => text.as_deref().and_then(freetext::normalise_email),
                    "address" => text.clone(),
                    _ => text.as_deref().and_then(freetext::normalise_phone),
                };
                match value {
                    Some(v) => {
                        // Built inline (a code is a few letters): no allocation per contact.
                        let mut source = Text::const_new("SSR ");
                        source.push_str(c);
                        self.push_contact(pnr_id, traveller.as_deref(), kind, v, &source, None, None, ssr);
                    }
                    None => self.diag(
                        ssr,
                        Severity::Info,
                        "CONTACT_UNREADABLE",
                        format!("SSR {c} free text holds no usable contact"),
                    ),
                }
                return;
            }
            _ => {}
        }
        let base = SsrRow {
            pnr_id: Text::from(pnr_id),
            traveller_id: under.map(Text::from),
            push_id: self.push_id.clone(),
            leg_seq,
            level: Text::from(level),
            code: Some(code.clone()).filter(|c| !c.is_empty()),
            status: owned(ssr.get(0, 1)),
            quantity: parse_int(ssr.get(0, 2)),
            carrier: owned(ssr.get(0, 3)),
            board_airport: owned(ssr.get(0, 6)),
            off_airport: owned(ssr.get(0, 7)),
            free_text: text,
            seat: None,
            dep_date: self.dep_date,
            source_file: self.file(ssr),
            source_offset: ssr.offset as i64,
        };
        let targets: Vec<crate::edifact::lexer::Element<'_, '_>> = ssr.elements().skip(1).collect();
        if targets.is_empty() {
            self.out.rows.ssr.push(base);
            return;
        }
        for t in targets {
            let mut row = base.clone();
            row.seat = owned(t.get(0)).filter(|s| s != "XXX");
            if let Some(id) = by_ref(t.get(2)) {
                row.traveller_id = Some(id);
            }
            self.out.rows.ssr.push(row);
        }
    }

    fn map_pnr_level_items(&mut self, pnr: &Pnr<'_, '_>, pnr_id: &str, keys: &[Option<TravellerKey>]) {
        for s in &pnr.ssr {
            self.map_ssr(s, pnr_id, None, None, "pnr", keys);
        }
        for ift in &pnr.ift {
            self.map_ift(ift, pnr_id, None, None, "pnr");
        }
        for add in &pnr.add {
            self.map_add(add, pnr_id, None);
        }
        for e in &pnr.ebd {
            self.map_ebd(e, pnr_id, None);
        }
        for p in &pnr.payments {
            self.map_payment(p, pnr_id, None, None);
        }
        for n in &pnr.non_air {
            for tvl in &n.tvl {
                self.out.rows.ssr.push(SsrRow {
                    pnr_id: Text::from(pnr_id),
                    push_id: self.push_id.clone(),
                    level: "pnr".into(),
                    code: Some(compact_str::format_compact!("NONAIR:{}", n.msg.get(0, 0).unwrap_or(""))),
                    free_text: Some(render(tvl)),
                    dep_date: self.dep_date,
                    source_file: self.file(tvl),
                    source_offset: tvl.offset as i64,
                    ..Default::default()
                });
            }
        }
    }

    fn map_legs(&mut self, pnr: &Pnr<'_, '_>, pnr_id: &str, keys: &[Option<TravellerKey>]) {
        for (i, leg) in pnr.legs.iter().enumerate() {
            let seq = i as i64 + 1;
            let tvl = leg.tvl;
            let dep = owned(tvl.get(1, 0));
            let arr = owned(tvl.get(2, 0));
            let t = self.tvl_times(tvl, dep.as_deref(), arr.as_deref());
            let marketing_carrier = owned(tvl.get(3, 0));
            let marketing_flight = owned(tvl.get(4, 0));
            let operating_carrier = leg
                .tra
                .and_then(|t| owned(t.get(0, 0)))
                .or_else(|| owned(tvl.get(3, 1)))
                .or_else(|| marketing_carrier.clone());
            let operating_flight = leg
                .tra
                .and_then(|t| owned(t.get(1, 0)))
                .or_else(|| leg.operating_tvl.and_then(|o| owned(o.get(4, 0))))
                .or_else(|| marketing_flight.clone());
            let arnk = tvl.components().any(|c| c.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"ARNK")));
            let segment_type = if arnk {
                "arnk"
            } else if marketing_flight.as_deref() == Some("OPEN") || t.dep_local.is_none() {
                "open"
            } else {
                "air"
            };
            let is_pushed = self.is_pushed_flight(
                t.dep_local.map(|d| d.date()),
                [(&marketing_carrier, &marketing_flight), (&operating_carrier, &operating_flight)],
                dep.as_deref(),
                arr.as_deref(),
            );
            self.out.rows.leg.push(LegRow {
                pnr_id: Text::from(pnr_id),
                push_id: self.push_id.clone(),
                seq,
                segment_type: segment_type.into(),
                marketing_carrier,
                marketing_flight,
                operating_carrier,
                operating_flight,
                booking_class: owned(tvl.get(4, 1)).or_else(|| leg.tra.and_then(|t| owned(t.get(1, 1)))),
                dep_airport: dep,
                arr_airport: arr,
                dep_local: t.dep_local,
                dep_utc: t.dep_utc,
                arr_local: t.arr_local,
                arr_utc: t.arr_utc,
                status: leg.rpi.and_then(|r| owned(r.get(1, 0))),
                seats: leg.rpi.and_then(|r| parse_int(r.get(0, 0))),
                equipment: leg.apd.and_then(|a| owned(a.get(0, 0))),
                leg_locator: leg
                    .rci
                    .first()
                    .and_then(|r| r.element(0))
                    .and_then(|e| e.get(1).map(|l| pair_text(e.get(0).unwrap_or(""), l))),
                is_pushed_flight: is_pushed,
                dep_date: self.dep_date,
                source_file: self.file(tvl),
                source_offset: tvl.offset as i64,
            });
            for s in &leg.ssr {
                self.map_ssr(s, pnr_id, None, Some(seq), "leg", keys);
            }
            for ift in &leg.ift {
                self.map_ift(ift, pnr_id, None, Some(seq), "leg");
            }
            for g in &leg.checkins {
                self.map_checkin_group(g, pnr_id, seq, keys);
            }
        }
    }

    fn map_checkin_group(
        &mut self,
        g: &grammar::CheckinGroup<'_, '_>,
        pnr_id: &str,
        leg_seq: i64,
        keys: &[Option<TravellerKey>],
    ) {
        let (at, text) = match g.dat {
            Some(d) => match d.get(0, 0) {
                Some("3") => (None, d.text_from(0, 1, ':')),
                _ => (
                    times::utc(d.get(0, 1).and_then(times::parse_ddmmyy), d.get(0, 2).and_then(times::parse_hhmm)),
                    None,
                ),
            },
            None => (None, None),
        };
        let agent = g.org.map(render).filter(|s| !s.is_empty());
        for r in &g.records {
            let Some(first) = r.tri.or(r.tif).or(r.ssd).or(r.tbd.first().copied()) else { continue };
            let reference = r.tri.and_then(|t| owned(t.get(1, 3))).or_else(|| r.tif.and_then(|t| owned(t.get(1, 2))));
            let surname = r.tif.and_then(|t| owned(t.get(0, 0)));
            let given = r.tif.and_then(|t| owned(t.get(1, 0)));
            let who = match_checkin(keys, reference.as_deref(), surname.as_deref(), given.as_deref());
            if who.is_none() {
                self.diag(first, Severity::Warning, "CHECKIN_UNMATCHED", "check-in record matches no traveller of the PNR by reference or name; loaded with traveller_id NULL".into());
            }
            let mut row = CheckinRow {
                traveller_id: who,
                pnr_id: Text::from(pnr_id),
                push_id: self.push_id.clone(),
                leg_seq,
                checked_in_at_utc: at,
                checkin_text: text.clone(),
                agent: agent.clone(),
                boarding_sequence: r.tri.and_then(|t| owned(t.get(1, 0))),
                traveller_ref: reference,
                surname,
                seat: r.ssd.and_then(|s| owned(s.get(0, 0))).filter(|s| s != "XXX"),
                cabin: r.ssd.and_then(|s| owned(s.get(4, 0))),
                dep_date: self.dep_date,
                source_file: self.file(first),
                source_offset: first.offset as i64,
                ..Default::default()
            };
            let mut tags = Vec::new();
            let mut dests = BTreeSet::new();
            let mut tag_count = 0i64;
            for tbd in &r.tbd {
                for e in [1usize, 2] {
                    if let Some(n) = parse_int(tbd.get(e, 0)) {
                        row.bag_count = Some(row.bag_count.unwrap_or(0) + n);
                    }
                    if let Some(w) = parse_amount(tbd.get(e, 1)) {
                        row.bag_weight = Some(row.bag_weight.unwrap_or(0.0) + w);
                        row.bag_weight_unit = match tbd.get(e, 2) {
                            Some("700" | "K" | "KG") => Some("kg".into()),
                            Some("701" | "L" | "LB") => Some("lb".into()),
                            _ => row.bag_weight_unit.take(),
                        };
                    }
                }
                if let Some(role) = owned(tbd.get(3, 0)) {
                    row.pool_role = Some(role);
                    row.pool_ref = owned(tbd.get(3, 1));
                }
                for el in tbd.elements().skip(4) {
                    let Some(number) = el.get(1) else { continue };
                    let n = el
                        .get(2)
                        .and_then(|c| c.trim().parse::<i64>().ok())
                        .filter(|&c| (1..1000).contains(&c))
                        .unwrap_or(1);
                    tag_count += n;
                    let issuer = el.get(0).unwrap_or("");
                    tags.push(if n > 1 { format!("{issuer}:{number}+{n}") } else { format!("{issuer}:{number}") });
                    if let Some(d) = el.get(3) {
                        dests.insert(d.to_string());
                    }
                }
            }
            row.bag_tags = join_nonempty(tags.into_iter());
            row.tag_count = if tag_count > 0 { Some(tag_count) } else { None };
            row.tag_destinations = join_nonempty(dests.into_iter());
            self.out.rows.checkin.push(row);
        }
    }

    fn map_history(&mut self, pnr: &Pnr<'_, '_>, pnr_id: &str) {
        let mut seq = 0i64;
        for h in &pnr.history {
            let at = h.dat.and_then(|d| {
                times::utc(d.get(0, 1).and_then(times::parse_ddmmyy), d.get(0, 2).and_then(times::parse_hhmm))
            });
            let by = h.abi.map(render).filter(|s| !s.is_empty());
            for item in &h.items {
                let text =
                    item.segments.iter().map(|s| format!("{}+{}", s.tag, render(s))).collect::<Vec<_>>().join(" ");
                let sensitive_ssr = item
                    .segments
                    .iter()
                    .any(|s| s.tag == "SSR" && self.ctx.sensitive.is_sensitive_code(s.get(0, 0).unwrap_or("")));
                if sensitive_ssr {
                    let code = item
                        .segments
                        .iter()
                        .find_map(|s| s.get(0, 0).filter(|c| self.ctx.sensitive.is_sensitive_code(c)))
                        .unwrap_or("");
                    let code = code.to_ascii_uppercase();
                    self.out.drops.record(&code);
                    continue;
                }
                if self.drop_sensitive_text(&text) {
                    continue;
                }
                seq += 1;
                let action_code = owned(item.sac.get(2, 0));
                self.out.rows.history.push(HistoryRow {
                    pnr_id: Text::from(pnr_id),
                    push_id: self.push_id.clone(),
                    seq,
                    at_utc: at,
                    action: action_code.as_deref().map(|a| {
                        match a {
                            "A" => "added",
                            "X" => "cancelled",
                            "C" | "U" => "changed",
                            _ => "other",
                        }
                        .into()
                    }),
                    action_code,
                    item_kind: item
                        .segments
                        .first()
                        .map(|s| Text::from(s.tag.as_ref()))
                        .unwrap_or_else(|| "SAC".into()),
                    item: Some(Text::from(text)).filter(|t| !t.is_empty()),
                    by: by.clone(),
                    dep_date: self.dep_date,
                    source_file: self.file(item.sac),
                    source_offset: item.sac.offset as i64,
                });
            }
        }
        for lts in &pnr.lts {
            let text = render(lts);
            if self.drop_sensitive_text(&text) {
                continue;
            }
            seq += 1;
            self.out.rows.history.push(HistoryRow {
                pnr_id: Text::from(pnr_id),
                push_id: self.push_id.clone(),
                seq,
                item_kind: "LTS".into(),
                item: Some(text),
                dep_date: self.dep_date,
                source_file: self.file(lts),
                source_offset: lts.offset as i64,
                ..Default::default()
            });
        }
    }
}

/// One RCI locator: company, locator, creation date and time.
type Locator = (Text, Text, Option<NaiveDate>, Option<chrono::NaiveTime>);

/// What identifies a traveller before the id is computed.
#[derive(Debug, Clone)]
struct Stub {
    surname: Text,
    given_raw: Text,
    type_code: Option<Text>,
    /// [`traveller_type`] of `type_code`, once: matching each person SSR asks it of every
    /// traveller of the PNR, several times.
    kind: &'static str,
    reference: Option<Text>,
    with_infant: bool,
}

/// A traveller's id and the name parts it was derived from.
#[derive(Debug, Clone)]
struct TravellerKey {
    id: Text,
    surname: Text,
    given: Text,
    #[allow(dead_code)]
    title: Option<Text>,
    reference: Option<Text>,
}

/// A card number of `len` characters shown as its last four digits after an `X` for each of the
/// others. Pushed piece by piece: `format_compact!` and a repeated "X" (a `String` on the heap)
/// were a third of `map_payment`'s samples.
fn masked_card(len: usize, last4: &str) -> Text {
    const XS: &str = "XXXXXXXXXXXXXXXXXXXXXXXX";
    let mut masked = Text::with_capacity(len.max(last4.len()));
    let mut hidden = len.saturating_sub(last4.len());
    while hidden > 0 {
        let n = hidden.min(XS.len());
        masked.push_str(&XS[..n]);
        hidden -= n;
    }
    masked.push_str(last4);
    masked
}

/// What the person SSRs of a PNR (DOCS, DOCO, DOCA, FQTV, INFT) say of one of its travellers.
#[derive(Default)]
struct PersonItems {
    docs: Option<Docs>,
    doco: Option<freetext::Doco>,
    /// DOCA of the residence (any kind but `D`).
    doca_r: Option<freetext::Doca>,
    /// DOCA of the destination (kind `D`).
    doca_d: Option<freetext::Doca>,
    fqtv: Option<freetext::Fqtv>,
    /// An infant's date of birth from INFT.
    inft_dob: Option<Text>,
}

fn stubs_of(pnr: &Pnr<'_, '_>) -> Vec<Option<Stub>> {
    pnr.travellers
        .iter()
        .map(|t| {
            (!is_group(t.tif)).then(|| Stub {
                surname: owned(t.tif.get(0, 0)).unwrap_or_default(),
                given_raw: owned(t.tif.get(1, 0)).unwrap_or_default(),
                type_code: owned(t.tif.get(1, 1)),
                kind: traveller_type(t.tif.get(1, 1)),
                reference: owned(t.tif.get(1, 2)),
                with_infant: t.tif.get(1, 3).is_some(),
            })
        })
        .collect()
}

fn is_group(tif: &Segment<'_>) -> bool {
    tif.get(1, 1) == Some("G") || tif.get(0, 1) == Some("G")
}

fn traveller_type(code: Option<&str>) -> &'static str {
    // Compared in place: this runs for every traveller each time an SSR is matched to one.
    let Some(code) = code.map(str::trim) else { return "unknown" };
    let is = |codes: &[&str]| codes.iter().any(|c| code.eq_ignore_ascii_case(c));
    if is(&["A", "ADT", "M", "F"]) {
        "adult"
    } else if is(&["C", "CHD", "CNN"]) {
        "child"
    } else if is(&["IN", "INF", "I"]) {
        "infant"
    } else {
        "unknown"
    }
}

/// A name's letters and digits, upper-cased: what names are compared by.
fn squashed(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase)
}

/// [`squashed`] for an ASCII name (almost every name), byte by byte: for ASCII,
/// `is_alphanumeric` and `to_uppercase` are their ASCII forms.
fn ascii_squashed(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_uppercase())
}

/// Whether two names are the same, squashed.
fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { ascii_squashed(a).eq(ascii_squashed(b)) } else { squashed(a).eq(squashed(b)) }
}

/// Whether one of two squashed names begins the other (equal names included).
fn one_begins_other(a: &str, b: &str) -> bool {
    fn begins<T: PartialEq>(mut a: impl Iterator<Item = T>, mut b: impl Iterator<Item = T>) -> bool {
        loop {
            match (a.next(), b.next()) {
                (Some(x), Some(y)) if x == y => {}
                (Some(_), Some(_)) => return false,
                _ => return true,
            }
        }
    }
    if a.is_ascii() && b.is_ascii() {
        begins(ascii_squashed(a), ascii_squashed(b))
    } else {
        begins(squashed(a), squashed(b))
    }
}

/// Finds the traveller an SSR describes: an infant's document goes to an infant; then a name
/// match; then the traveller reference; then the traveller the SSR was sent under; then the only
/// traveller. When several travellers have the name, the reference or the traveller the SSR was
/// sent under decides, else the lowest `rank` (the first of equals).
///
/// It runs for every traveller and every SSR that names a person, so it walks the few travellers
/// of the PNR again where it needs them rather than collecting them (an eighth of `map_travellers`'
/// samples went to those vectors and to Unicode case mapping).
fn match_person(
    stubs: &[Option<Stub>],
    surname: Option<&str>,
    given: Option<&str>,
    reference: Option<&str>,
    under: Option<usize>,
    infant: bool,
    rank: &dyn Fn(usize) -> u8,
) -> Option<usize> {
    let live = || (0..stubs.len()).filter(|&i| stubs[i].is_some());
    let is_infant = |i: usize| stubs[i].as_ref().is_some_and(|s| s.kind == "infant");
    let has_reference = |i: usize, r: &str| stubs[i].as_ref().and_then(|s| s.reference.as_deref()) == Some(r);
    // A given name with no letter or digit names nobody.
    let given = given.map(|g| (g, g.chars().any(char::is_alphanumeric)));
    let name_ok = |i: usize| -> bool {
        let Some(s) = &stubs[i] else { return false };
        let Some(sn) = surname else { return false };
        if !same_name(&s.surname, sn) {
            return false;
        }
        match given {
            Some((g, named)) => named && one_begins_other(g, &s.given_raw),
            None => true,
        }
    };
    // Travellers of the SSR's kind (infant or not), or all of them when it has none.
    let any_of_kind = live().any(|i| is_infant(i) == infant);
    let named = || live().filter(|&i| !any_of_kind || is_infant(i) == infant).filter(|&i| name_ok(i));
    let mut first_two = named();
    let first = first_two.next();
    if first_two.next().is_some() {
        // Namesakes in one PNR (a father and son, say): the reference, then the traveller the SSR
        // was sent under, then the caller's preference tell them apart.
        if let Some(r) = reference
            && let Some(i) = named().find(|&i| has_reference(i, r))
        {
            return Some(i);
        }
        if let Some(u) = under
            && named().any(|i| i == u)
        {
            return Some(u);
        }
        return named().min_by_key(|&i| rank(i));
    }
    if first.is_some() {
        return first;
    }
    if infant {
        // The infant's SSR is sent under its adult's reference.
        if let Some(r) = reference
            && let Some(adult) = live().find(|&i| has_reference(i, r))
            && let Some(inf) = live().find(|&i| is_infant(i) && find_infant_adult(stubs, i) == Some(adult))
        {
            return Some(inf);
        }
        if let Some(u) = under
            && let Some(inf) = live().find(|&i| is_infant(i) && find_infant_adult(stubs, i) == Some(u))
        {
            return Some(inf);
        }
    }
    if let Some(r) = reference
        && let Some(i) = live().find(|&i| has_reference(i, r))
    {
        return Some(i);
    }
    if let Some(u) = under {
        return Some(u);
    }
    let mut all = live();
    match (all.next(), all.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

/// The adult an infant travels with: the adult whose reference is the infant's without a trailing
/// `I`; else the nearest adult before it that declares an infant; else the nearest adult before it.
fn find_infant_adult(stubs: &[Option<Stub>], infant: usize) -> Option<usize> {
    let inf_ref = stubs[infant].as_ref()?.reference.as_deref();
    let adults: Vec<usize> = stubs
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != infant && s.as_ref().is_some_and(|s| s.kind != "infant"))
        .map(|(i, _)| i)
        .collect();
    if let Some(r) = inf_ref.and_then(|r| r.strip_suffix('I'))
        && let Some(&a) = adults.iter().find(|&&a| stubs[a].as_ref().and_then(|s| s.reference.as_deref()) == Some(r))
    {
        return Some(a);
    }
    let before: Vec<usize> = adults.iter().copied().filter(|&a| a < infant).collect();
    before
        .iter()
        .rev()
        .copied()
        .find(|&a| stubs[a].as_ref().is_some_and(|s| s.with_infant))
        .or_else(|| before.last().copied())
        .or_else(|| adults.iter().copied().find(|&a| stubs[a].as_ref().is_some_and(|s| s.with_infant)))
}

fn match_checkin(
    keys: &[Option<TravellerKey>],
    reference: Option<&str>,
    surname: Option<&str>,
    given: Option<&str>,
) -> Option<Text> {
    if let Some(r) = reference
        && let Some(k) = keys.iter().flatten().find(|k| k.reference.as_deref() == Some(r))
    {
        return Some(k.id.clone());
    }
    let sn = surname?;
    let by_surname: Vec<&TravellerKey> = keys.iter().flatten().filter(|k| same_name(&k.surname, sn)).collect();
    if let Some(g) = given {
        let (g, _) = freetext::split_title(g, None);
        if let Some(k) = by_surname.iter().find(|k| same_name(&k.given, &g)) {
            return Some(k.id.clone());
        }
    }
    if by_surname.len() == 1 { Some(by_surname[0].id.clone()) } else { None }
}

/// Fills the fields of `slot` that are still empty from `d`: a traveller's DOCS is often sent
/// once per leg, sometimes with fields left out in one copy.
fn merge_docs(slot: &mut Option<Docs>, d: Docs) {
    match slot {
        None => *slot = Some(d),
        Some(s) => {
            macro_rules! fill {
                ($($f:ident),*) => { $( if s.$f.is_none() { s.$f = d.$f; } )* };
            }
            fill!(doc_type, issuer, number, nationality, dob, gender, expiry, surname, given, middle);
        }
    }
}

fn address_text(a: &freetext::Doca) -> Option<Text> {
    joined([&a.street, &a.city, &a.state, &a.postcode].iter().filter_map(|p| p.as_deref()), ", ")
}

fn join_nonempty<S: AsRef<str>>(items: impl Iterator<Item = S>) -> Option<Text> {
    joined(items, ";")
}

/// `a:b`, built in place (`format!` parses its pattern and writes piece by piece: hundreds of
/// instructions for a locator).
fn pair_text(a: &str, b: &str) -> Text {
    let mut text = Text::with_capacity(a.len() + 1 + b.len());
    text.push_str(a);
    text.push(':');
    text.push_str(b);
    text
}

/// Pairs as `a:b`, joined by `;`; `None` when there are none.
fn joined_pairs<'p>(pairs: impl Iterator<Item = (&'p str, &'p str)>) -> Option<Text> {
    let mut out: Option<Text> = None;
    for (a, b) in pairs {
        match &mut out {
            None => out = Some(pair_text(a, b)),
            Some(o) => {
                o.push(';');
                o.push_str(a);
                o.push(':');
                o.push_str(b);
            }
        }
    }
    out
}

/// The non-empty items joined by `sep`, `None` when there are none.
fn joined<S: AsRef<str>>(items: impl Iterator<Item = S>, sep: &str) -> Option<Text> {
    let mut out: Option<Text> = None;
    for item in items.filter(|s| !s.as_ref().is_empty()) {
        match &mut out {
            None => out = Some(Text::from(item.as_ref())),
            Some(o) => {
                o.push_str(sep);
                o.push_str(item.as_ref());
            }
        }
    }
    out
}

/// Maps one PNRGOV message. `push_id` is computed by the caller from the raw bytes.
pub fn map_message(msg: &Message<'_>, push_id: String, ctx: &MapContext<'_>) -> Mapped {
    let g = grammar::parse(msg.segments());
    let mut m = Mapper {
        ctx,
        msg,
        push_id: Shared::from(push_id),
        dep_date: None,
        reference_date: None,
        flight: None,
        route: (None, None),
        payment_seq: 0,
        loaded_pnrs: Default::default(),
        recent_utc: Default::default(),
        out: Mapped::default(),
    };
    // The larger rows' vectors sized once, not grown (and copied) row by row.
    m.out.rows.pnr.reserve(g.pnrs.len());
    m.out.rows.traveller.reserve(g.pnrs.iter().map(|p| p.travellers.len()).sum());
    m.out.rows.leg.reserve(g.pnrs.iter().map(|p| p.legs.len()).sum());
    let tickets = |p: &Pnr<'_, '_>| p.travellers.iter().map(|t| t.tickets.len()).sum::<usize>();
    m.out.rows.ticket.reserve(g.pnrs.iter().map(tickets).sum());
    let checkins = |p: &Pnr<'_, '_>| p.legs.iter().flat_map(|l| &l.checkins).map(|c| c.records.len()).sum::<usize>();
    m.out.rows.checkin.reserve(g.pnrs.iter().map(checkins).sum());
    m.out.rows.history.reserve(g.pnrs.iter().flat_map(|p| &p.history).map(|h| h.items.len()).sum());
    let ticket_payments =
        |p: &Pnr<'_, '_>| p.travellers.iter().flat_map(|t| &t.tickets).map(|k| k.payments.len()).sum::<usize>();
    m.out.rows.payment.reserve(g.pnrs.iter().map(|p| p.payments.len() + ticket_payments(p)).sum());
    // Contacts come from ADD, IFT and SSR segments: one each, as an estimate (an ADD can give
    // two, and most SSRs give none).
    let traveller_contacts =
        |p: &Pnr<'_, '_>| p.travellers.iter().map(|t| t.add.len() + t.ift.len() + t.ssr.len()).sum::<usize>();
    m.out
        .rows
        .contact
        .reserve(g.pnrs.iter().map(|p| p.add.len() + p.ift.len() + p.ssr.len() + traveller_contacts(p)).sum());
    let rows = message_diagnostic_rows(msg, &g.diagnostics, &m.push_id, ctx);
    m.out.rows.diagnostics.extend(rows);
    m.map_header(&g);
    for pnr in &g.pnrs {
        m.map_pnr(pnr);
    }
    m.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edifact::lexer::Lexer;

    fn rendered(input: &str) -> String {
        let seg = Lexer::new(input.as_bytes()).next().unwrap_or_else(|| panic!("no segment in {input}"));
        render(&seg).to_string()
    }

    #[test]
    fn locator_pairs_are_joined_as_company_colon_locator() {
        assert_eq!(pair_text("1A", "ABC123"), "1A:ABC123");
        let pairs = [("1A", "ABC123"), ("", "XYZ")];
        assert_eq!(joined_pairs(pairs.into_iter()).as_deref(), Some("1A:ABC123;:XYZ"));
        assert_eq!(joined_pairs(std::iter::empty()), None);
    }

    #[test]
    fn a_masked_card_number_keeps_its_length_and_last_four_digits() {
        assert_eq!(masked_card(16, "9198"), "XXXXXXXXXXXX9198");
        assert_eq!(masked_card(4, "9198"), "9198");
        // Longer than the run of X the function copies from.
        assert_eq!(masked_card(40, "1234"), format!("{}1234", "X".repeat(36)));
    }

    #[test]
    fn names_compare_by_their_letters_and_digits_upper_cased() {
        assert!(same_name("o'brien-smith", "OBRIEN SMITH"));
        assert!(same_name("straße", "STRASSE"));
        assert!(same_name("ÉLODIE", "élodie"));
        assert!(!same_name("Müller", "MULLER"));
        assert!(!same_name("SMITH", "SMITHS"));
        assert!(one_begins_other("Zoë", "ZOË MRS"));
        assert!(!one_begins_other("ZOE", "ZOË"));
        assert!(one_begins_other("JOHN", "JOHN MR"));
        assert!(one_begins_other("john mr", "JOHN"));
        assert!(one_begins_other("JOHN", "john"));
        assert!(one_begins_other("", "JOHN"));
        assert!(!one_begins_other("JON", "JOHN"));
    }

    #[test]
    fn traveller_types_ignore_case_and_spaces() {
        assert_eq!(traveller_type(Some(" adt ")), "adult");
        assert_eq!(traveller_type(Some("Chd")), "child");
        assert_eq!(traveller_type(Some("in")), "infant");
        assert_eq!(traveller_type(Some("G")), "unknown");
        assert_eq!(traveller_type(None), "unknown");
    }

    #[test]
    fn an_amount_reads_a_decimal_comma_and_refuses_what_is_not_a_finite_number() {
        let old_way = |s: Option<&str>| trim(s?).replace(',', ".").parse::<f64>().ok().filter(|v| v.is_finite());
        let texts = [
            "12.50", "12,50", " 7 ", "1,2,3", "1.2,3", "", " ", "abc", "-3,5", "+4", "1e3", "inf", "NaN", "1,", ",5",
            "0012", "1 000", "١٢",
        ];
        for t in texts {
            assert_eq!(parse_amount(Some(t)), old_way(Some(t)), "{t:?}");
        }
        assert_eq!(parse_amount(Some("12,50")), Some(12.5));
        assert_eq!(parse_amount(Some(" 99.9 ")), Some(99.9));
        assert_eq!(parse_amount(Some("inf")), None);
        assert_eq!(parse_amount(None), None);
    }

    #[test]
    fn render_leaves_out_trailing_empty_components_and_elements() {
        assert_eq!(rendered("SSR+DOCS:HK:1:LH:::+++'"), "DOCS:HK:1:LH");
        assert_eq!(rendered("LTS+0+ 0/O/SR/SSR MOMLSQHK1:'"), "0+ 0/O/SR/SSR MOMLSQHK1");
        assert_eq!(rendered("IFT+4:28::LH+CTCR 4930 123?:'"), "4:28::LH+CTCR 4930 123");
        assert_eq!(rendered("UNA:+.?*'DAT+700:061210*710:071210::+'"), "700:061210*710:071210");
        assert_eq!(rendered("EBD'"), "");
    }
}
