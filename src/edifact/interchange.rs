//! The EDIFACT envelope: UNB/UNG/UNH/UNT/UNE/UNZ, and reassembly of multi-part messages.
//!
//! This layer turns the lexer's segment stream into messages. Trailer counts and references are
//! checked, but a mismatch is only ever a diagnostic: fixtures and real feeds alike carry UNT
//! counts that were never updated after editing. It still knows nothing of PNRs: the message
//! body is handed on as segments.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Severity};
use crate::edifact::Arena;
use crate::edifact::lexer::{Lexer, Segment, Terminator};

/// Facts from UNB that every message of the interchange shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Syntax identifier and version, e.g. `IATA:1` or `UNOA:4`.
    pub syntax: Option<String>,
    /// Sender identification (UNB e2.c1).
    pub sender: Option<String>,
    /// Recipient identification (UNB e3.c1).
    pub recipient: Option<String>,
    /// Preparation date `YYMMDD` (UNB e4.c1).
    pub prepared_date: Option<String>,
    /// Preparation time `HHMM` (UNB e4.c2).
    pub prepared_time: Option<String>,
    /// Interchange control reference (UNB e5).
    pub control_ref: Option<String>,
    /// Application reference (UNB e7, or e6 where senders misplace it).
    pub application_ref: Option<String>,
}

impl Envelope {
    fn from_unb(seg: &Segment<'_>) -> Envelope {
        let syntax = seg.get(0, 0).map(|id| match seg.get(0, 1) {
            Some(v) => format!("{id}:{v}"),
            None => id.to_string(),
        });
        Envelope {
            syntax,
            sender: seg.get(1, 0).map(str::to_string),
            recipient: seg.get(2, 0).map(str::to_string),
            prepared_date: seg.get(3, 0).map(str::to_string),
            prepared_time: seg.get(3, 1).map(str::to_string),
            control_ref: seg.get(4, 0).map(str::to_string),
            application_ref: seg.get(6, 0).or_else(|| seg.get(5, 0)).map(str::to_string),
        }
    }
}

/// Position of a message in a multi-part transfer (UNH element 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartInfo {
    /// Sequence number, 1 for the first part.
    pub seq: u32,
    /// `Some(true)` for the final part (`F`), `Some(false)` when more follow (`C`).
    pub last: Option<bool>,
}

/// One message: UNH, its body segments and UNT, possibly reassembled from several parts.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Caller's tag for where the (first) part came from, e.g. a file index; not interpreted here.
    pub origin: u32,
    /// Byte offset of UNH.
    pub offset: usize,
    /// The envelope of the interchange the (first) part came in.
    pub envelope: Envelope,
    /// Message reference number (UNH e1).
    pub reference: Option<String>,
    /// Message type, e.g. `PNRGOV` or `PAXLST` (UNH e2.c1).
    pub message_type: Option<String>,
    /// Version and release joined, e.g. `13.1` or `D.05B` (UNH e2.c2 and c3).
    pub version: Option<String>,
    /// Common access reference (UNH e3), which for PNRGOV usually names the flight.
    pub common_access_ref: Option<String>,
    /// Set when UNH element 4 marks this as a part of a multi-part transfer.
    pub part: Option<PartInfo>,
    /// Number of parts this message was reassembled from (1 for a single message).
    pub parts: u32,
    /// (origin, byte range) of every part's UNH..UNT span, for hashing and for auditors.
    pub spans: Vec<(u32, usize, usize)>,
    /// Segments between UNH and UNT of the (first) part. [`Message::segments`] gives those of
    /// every part.
    pub body: Vec<Segment<'a>>,
    /// The bodies of the later parts of a reassembled message, in order: kept apart rather than
    /// moved onto the end of `body`, which copied every segment of most pushes once more.
    pub later_bodies: Vec<Vec<Segment<'a>>>,
    /// Envelope faults found in this message.
    pub diagnostics: Vec<Diagnostic>,
}

impl Message<'_> {
    /// Detaches the message from the input buffer.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            origin: self.origin,
            offset: self.offset,
            envelope: self.envelope,
            reference: self.reference,
            message_type: self.message_type,
            version: self.version,
            common_access_ref: self.common_access_ref,
            part: self.part,
            parts: self.parts,
            spans: self.spans,
            body: self.body.into_iter().map(Segment::into_owned).collect(),
            later_bodies: self
                .later_bodies
                .into_iter()
                .map(|b| b.into_iter().map(Segment::into_owned).collect())
                .collect(),
            diagnostics: self.diagnostics,
        }
    }
}

impl<'a> Message<'a> {
    /// The body segments of every part, in order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment<'a>> + Clone {
        self.body.iter().chain(self.later_bodies.iter().flatten())
    }

    /// Number of body segments of every part.
    pub fn segment_count(&self) -> usize {
        self.body.len() + self.later_bodies.iter().map(Vec::len).sum::<usize>()
    }
}

/// The result of reading one input: its messages and the faults outside them.
#[derive(Debug)]
pub struct Interchanges<'a> {
    /// Messages in input order (parts not yet reassembled).
    pub messages: Vec<Message<'a>>,
    /// Faults that belong to no single message (UNA, UNZ counts, stray segments, trailing text).
    pub diagnostics: Vec<Diagnostic>,
    /// Number of segments read, envelope included.
    pub segments: usize,
}

/// The most segments [`BodyHint`] reserves for ahead of reading them.
const MAX_BODY_HINT: usize = 1 << 20;

/// The next place a tag (`UNT+`, `UNH+`) appears in an input, searched forward and remembered,
/// so that the searches of all the messages of a file scan it about once, whatever it holds.
struct Ahead {
    pattern: &'static [u8],
    /// Where the last search started, and what it found.
    last: Option<(usize, Option<usize>)>,
}

impl Ahead {
    fn new(pattern: &'static [u8]) -> Ahead {
        Ahead { pattern, last: None }
    }

    /// The first place at or after `from` where the tag appears.
    fn find(&mut self, input: &[u8], from: usize) -> Option<usize> {
        // The last answer holds for any later start that is not past what it found.
        if let Some((start, found)) = self.last
            && start <= from
            && found.is_none_or(|at| from <= at)
        {
            return found;
        }
        let found = memchr::memmem::find(input.get(from..).unwrap_or_default(), self.pattern).map(|k| from + k);
        self.last = Some((from, found));
        found
    }
}

/// How many segments the body of a message will have, counted ahead as the terminators before its
/// `UNT+`, so that the body is allocated once instead of doubling (and copying) as it grows: a
/// PNRGOV message has thousands of segments. Only a hint: a released terminator counts too. A
/// message with no `UNT+` before the next `UNH+` (truncated) gets no hint and grows as it is read,
/// so that no byte is counted for two messages.
struct BodyHint {
    terminator: u8,
    unt: Ahead,
    unh: Ahead,
}

impl BodyHint {
    fn new(terminator: u8) -> BodyHint {
        BodyHint { terminator, unt: Ahead::new(b"UNT+"), unh: Ahead::new(b"UNH+") }
    }

    /// Segments of the body that starts at `from` (just after its UNH).
    fn capacity(&mut self, input: &[u8], from: usize) -> usize {
        let Some(end) = self.unt.find(input, from) else { return 0 };
        if self.unh.find(input, from).is_some_and(|next| next < end) {
            return 0;
        }
        memchr::memchr_iter(self.terminator, &input[from..end]).count().min(MAX_BODY_HINT)
    }
}

/// Splits the segment stream of one input into messages, checking the envelope as it goes. The
/// segments hold their components in `arena` ([`Lexer::in_arena`]), which the messages borrow.
pub fn read_messages<'a>(input: &'a [u8], origin: u32, arena: &'a Arena) -> Interchanges<'a> {
    let mut lexer = Lexer::in_arena(input, arena);
    let mut body_hint = BodyHint::new(match lexer.service_chars().terminator {
        Terminator::Byte(t) => t,
        Terminator::Curly => b'\'',
    });
    let mut out = Interchanges { messages: Vec::new(), diagnostics: Vec::new(), segments: 0 };
    let mut envelope = Envelope::default();
    let mut unb: Option<(usize, Option<String>)> = None;
    let mut seen_unb = false;
    let mut messages_in_interchange = 0u64;
    let mut groups_in_interchange = 0u64;
    let mut group: Option<(usize, Option<String>, u64)> = None;
    let mut current: Option<Message<'_>> = None;

    fn close_message(msg: &mut Message<'_>, unt: Option<&Segment<'_>>, end: usize, out: &mut Vec<Diagnostic>) {
        let _ = out;
        let actual = msg.body.len() + if unt.is_some() { 2 } else { 1 };
        match unt {
            Some(unt) => {
                if let Some(declared) = unt.get(0, 0) {
                    match declared.trim().parse::<usize>() {
                        Ok(n) if n == actual => {}
                        Ok(n) => msg.diagnostics.push(Diagnostic::new(
                            unt.offset,
                            Severity::Info,
                            "UNT_COUNT_MISMATCH",
                            format!("UNT declares {n} segments, the message has {actual}"),
                        )),
                        Err(_) => msg.diagnostics.push(Diagnostic::new(
                            unt.offset,
                            Severity::Info,
                            "UNT_COUNT_MISMATCH",
                            format!("UNT segment count {declared:?} is not a number; the message has {actual}"),
                        )),
                    }
                }
                if let (Some(r), Some(h)) = (unt.get(1, 0), msg.reference.as_deref())
                    && r != h
                {
                    msg.diagnostics.push(Diagnostic::new(
                        unt.offset,
                        Severity::Info,
                        "UNT_REF_MISMATCH",
                        format!("UNT reference {r:?} differs from UNH reference {h:?}"),
                    ));
                }
            }
            None => msg.diagnostics.push(Diagnostic::new(
                msg.offset,
                Severity::Warning,
                "MESSAGE_TRUNCATED",
                format!("message has no UNT; read the {} segments that arrived", msg.body.len()),
            )),
        }
        if let Some(span) = msg.spans.first_mut() {
            span.2 = end;
        }
    }

    // A segment outside any message, or a service segment, for the moment it is looked at.
    let mut loose: Vec<Segment<'a>> = Vec::with_capacity(1);
    loop {
        // Nearly every segment is a message's body: it is lexed into the body, where it stays,
        // and two bytes tell its tag from the service segments' before six whole tags are
        // compared with it. Any other is taken back out and looked at below.
        let in_message = current.is_some();
        let into = match current.as_mut() {
            Some(m) => &mut m.body,
            None => &mut loose,
        };
        if !lexer.next_into(into) {
            break;
        }
        out.segments += 1;
        let Some(last) = into.last_mut() else { unreachable!("next_into lexed a segment onto it") };
        last.origin = origin;
        if in_message && !last.tag.starts_with("UN") {
            continue;
        }
        let Some(seg) = into.pop() else { unreachable!("next_into lexed a segment onto it") };
        let service = if seg.tag.starts_with("UN") { seg.tag.as_ref() } else { "" };
        match service {
            "UNB" => {
                if let Some(mut m) = current.take() {
                    let end = seg.offset;
                    close_message(&mut m, None, end, &mut out.diagnostics);
                    out.messages.push(m);
                }
                if let Some((off, _)) = unb.take() {
                    out.diagnostics.push(Diagnostic::new(
                        off,
                        Severity::Warning,
                        "MISSING_UNZ",
                        "interchange has no UNZ before the next UNB",
                    ));
                }
                envelope = Envelope::from_unb(&seg);
                unb = Some((seg.offset, envelope.control_ref.clone()));
                seen_unb = true;
                messages_in_interchange = 0;
                groups_in_interchange = 0;
            }
            "UNG" => {
                group = Some((seg.offset, seg.get(4, 0).map(str::to_string), 0));
                groups_in_interchange += 1;
            }
            "UNH" => {
                if let Some(mut m) = current.take() {
                    close_message(&mut m, None, seg.offset, &mut out.diagnostics);
                    out.messages.push(m);
                }
                if !seen_unb {
                    seen_unb = true;
                    out.diagnostics.push(Diagnostic::new(
                        seg.offset,
                        Severity::Warning,
                        "MISSING_UNB",
                        "message without an interchange header (UNB)",
                    ));
                }
                messages_in_interchange += 1;
                if let Some(g) = group.as_mut() {
                    g.2 += 1;
                }
                let part = seg
                    .get(3, 0)
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .map(|seq| PartInfo { seq, last: seg.get(3, 1).map(|f| f.eq_ignore_ascii_case("F")) });
                let version = match (seg.get(1, 1), seg.get(1, 2)) {
                    (Some(v), Some(r)) => Some(format!("{v}.{r}")),
                    (Some(v), None) => Some(v.to_string()),
                    _ => None,
                };
                current = Some(Message {
                    origin,
                    offset: seg.offset,
                    envelope: envelope.clone(),
                    reference: seg.get(0, 0).map(str::to_string),
                    message_type: seg.get(1, 0).map(|s| s.trim().to_ascii_uppercase()),
                    version,
                    common_access_ref: seg.get(2, 0).map(str::to_string),
                    part,
                    parts: 1,
                    spans: vec![(origin, seg.offset, seg.end)],
                    // And room for the UNT, which is lexed into the body before it is taken out.
                    body: Vec::with_capacity(body_hint.capacity(input, seg.end) + 1),
                    later_bodies: Vec::new(),
                    diagnostics: Vec::new(),
                });
            }
            "UNT" => match current.take() {
                Some(mut m) => {
                    close_message(&mut m, Some(&seg), seg.end, &mut out.diagnostics);
                    out.messages.push(m);
                }
                None => out.diagnostics.push(Diagnostic::new(
                    seg.offset,
                    Severity::Warning,
                    "SEGMENT_OUTSIDE_MESSAGE",
                    "UNT without a UNH",
                )),
            },
            "UNE" => {
                match group.take() {
                    Some((off, gref, count)) => {
                        if let Some(n) = seg.get(0, 0).and_then(|s| s.trim().parse::<u64>().ok())
                            && n != count
                        {
                            out.diagnostics.push(Diagnostic::new(
                                seg.offset,
                                Severity::Info,
                                "UNE_COUNT_MISMATCH",
                                format!("UNE declares {n} messages, the group has {count}"),
                            ));
                        }
                        if let (Some(r), Some(g)) = (seg.get(1, 0), gref.as_deref())
                            && r != g
                        {
                            out.diagnostics.push(Diagnostic::new(
                                seg.offset,
                                Severity::Info,
                                "UNE_REF_MISMATCH",
                                format!("UNE reference {r:?} differs from UNG reference {g:?} at byte {off}"),
                            ));
                        }
                    }
                    None => out.diagnostics.push(Diagnostic::new(
                        seg.offset,
                        Severity::Info,
                        "SEGMENT_OUTSIDE_MESSAGE",
                        "UNE without a UNG",
                    )),
                }
                if let Some(mut m) = current.take() {
                    close_message(&mut m, None, seg.offset, &mut out.diagnostics);
                    out.messages.push(m);
                }
            }
            "UNZ" => {
                if let Some(mut m) = current.take() {
                    close_message(&mut m, None, seg.offset, &mut out.diagnostics);
                    out.messages.push(m);
                }
                let expected = if groups_in_interchange > 0 { groups_in_interchange } else { messages_in_interchange };
                if let Some(n) = seg.get(0, 0).and_then(|s| s.trim().parse::<u64>().ok())
                    && n != expected
                {
                    out.diagnostics.push(Diagnostic::new(
                        seg.offset,
                        Severity::Info,
                        "UNZ_COUNT_MISMATCH",
                        format!("UNZ declares {n} messages or groups, the interchange has {expected}"),
                    ));
                }
                match unb.take() {
                    Some((_, cref)) => {
                        if let (Some(r), Some(c)) = (seg.get(1, 0), cref.as_deref())
                            && r != c
                        {
                            out.diagnostics.push(Diagnostic::new(
                                seg.offset,
                                Severity::Info,
                                "UNZ_REF_MISMATCH",
                                format!("UNZ reference {r:?} differs from UNB control reference {c:?}"),
                            ));
                        }
                    }
                    None => out.diagnostics.push(Diagnostic::new(
                        seg.offset,
                        Severity::Info,
                        "SEGMENT_OUTSIDE_MESSAGE",
                        "UNZ without a UNB",
                    )),
                }
            }
            _ => match current.as_mut() {
                Some(m) => m.body.push(seg),
                None => out.diagnostics.push(Diagnostic::new(
                    seg.offset,
                    Severity::Warning,
                    "SEGMENT_OUTSIDE_MESSAGE",
                    format!("segment {:?} outside any message (no UNH before it); ignored", truncate(&seg.tag, 12)),
                )),
            },
        }
    }
    if let Some(mut m) = current.take() {
        close_message(&mut m, None, input.len(), &mut out.diagnostics);
        out.messages.push(m);
    }
    if let Some((off, _)) = unb {
        out.diagnostics.push(Diagnostic::new(off, Severity::Info, "MISSING_UNZ", "interchange has no UNZ"));
    }
    let mut lex_diags = lexer.take_diagnostics();
    lex_diags.append(&mut out.diagnostics);
    out.diagnostics = lex_diags;
    out.diagnostics.sort_by_key(|d| d.offset);
    out
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Key that ties the parts of one transfer together.
fn part_key(m: &Message<'_>) -> Option<(String, String, String)> {
    m.part?;
    Some((
        m.message_type.clone().unwrap_or_default(),
        m.envelope.sender.clone().unwrap_or_default(),
        m.common_access_ref.clone()?,
    ))
}

/// Outcome of reassembly: whole messages, and parts whose transfer is still incomplete.
#[derive(Debug)]
pub struct Reassembled<'a> {
    /// Single messages and fully reassembled transfers, in the order of their first part.
    pub complete: Vec<Message<'a>>,
    /// Parts of transfers that lack a part (sequence gap or no final `F`).
    pub pending: Vec<Message<'a>>,
}

/// Joins the parts of multi-part transfers (UNH e4 `01:C` … `nn:F` under one common access
/// reference) into single messages. A message marked `01:F`, or with no part marker, is whole.
pub fn reassemble(messages: Vec<Message<'_>>) -> Reassembled<'_> {
    let mut out = Reassembled { complete: Vec::new(), pending: Vec::new() };
    let mut groups: BTreeMap<(String, String, String), Vec<(usize, Message<'_>)>> = BTreeMap::new();
    let mut slots: Vec<Option<Message<'_>>> = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        let single = matches!(m.part, Some(PartInfo { seq: 1, last: Some(true) }));
        match part_key(&m) {
            Some(k) if !single => {
                groups.entry(k).or_default().push((i, m));
                slots.push(None);
            }
            _ => slots.push(Some(m)),
        }
    }
    let mut assembled: Vec<(usize, Message<'_>)> = Vec::new();
    for (_, mut parts) in groups {
        parts.sort_by_key(|(i, m)| (m.part.map(|p| p.seq).unwrap_or(0), *i));
        if is_complete(parts.iter().map(|(_, m)| m)) {
            let first_index = parts.iter().map(|(i, _)| *i).min().unwrap_or(0);
            assembled.push((first_index, join_parts(parts.into_iter().map(|(_, m)| m).collect())));
        } else {
            out.pending.extend(parts.into_iter().map(|(_, m)| m));
        }
    }
    let mut by_index: BTreeMap<usize, Message<'_>> = assembled.into_iter().collect();
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some(m) = slot {
            out.complete.push(m);
        } else if let Some(m) = by_index.remove(&i) {
            out.complete.push(m);
        }
    }
    out
}

/// True when the parts run 1..=n without gaps or repeats and the last is marked final.
fn is_complete<'m, 'a: 'm>(parts: impl Iterator<Item = &'m Message<'a>>) -> bool {
    let mut last_final = false;
    for (expected, m) in (1..).zip(parts) {
        let Some(p) = m.part else { return false };
        if p.seq != expected {
            return false;
        }
        last_final = p.last == Some(true);
    }
    last_final
}

/// Concatenates the parts (already in sequence order) into one message. Call it directly for
/// transfers that never completed: the parts that did arrive are still read, with a diagnostic.
pub fn join_parts<'a>(parts: Vec<Message<'a>>) -> Message<'a> {
    let complete = is_complete(parts.iter());
    let mut iter = parts.into_iter();
    let Some(mut first) = iter.next() else { unreachable!("join_parts is only called with at least one part") };
    let mut seqs: Vec<u32> = vec![first.part.map(|p| p.seq).unwrap_or(0)];
    for m in iter {
        seqs.push(m.part.map(|p| p.seq).unwrap_or(0));
        first.parts += 1;
        first.spans.extend(m.spans);
        // A push of many parts holds tens of thousands of segments: the parts' bodies are moved,
        // not their segments.
        first.later_bodies.push(m.body);
        first.later_bodies.extend(m.later_bodies);
        first.diagnostics.extend(m.diagnostics);
    }
    if !complete {
        first.diagnostics.push(Diagnostic::new(
            first.offset,
            Severity::Warning,
            "MULTIPART_INCOMPLETE",
            format!(
                "multi-part transfer {:?} is incomplete (parts {:?} arrived); read the parts that did",
                first.common_access_ref.as_deref().unwrap_or(""),
                seqs
            ),
        ));
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_text(parts: &[&str]) -> String {
        let mut s = String::from("UNB+IATA:1+XX+YY+250101:1200+REF1'");
        s.push_str(&parts.concat());
        s.push_str("UNZ+1+REF1'");
        s
    }

    #[test]
    fn a_body_is_sized_from_the_terminators_before_its_unt() {
        let text = msg_text(&["UNH+1+PNRGOV:13:1:IA'", "SRC'", "RCI+AA:ABC123'", "TIF+DOE+JOHN'", "UNT+5+1'"]);
        let from = text.find("SRC").unwrap_or_default();
        assert_eq!(BodyHint::new(b'\'').capacity(text.as_bytes(), from), 3);
        let arena = Arena::new();
        let read = read_messages(text.as_bytes(), 0, &arena);
        assert_eq!(read.messages[0].body.len(), 3);
        assert!(read.messages[0].body.capacity() >= 3);
        // A truncated message has no UNT before the next UNH, or none at all: no hint, the body
        // grows as it is read.
        let truncated = "UNH+1+PNRGOV:13:1:IA'SRC'RCI+AA:ABC123'UNH+2+PNRGOV:13:1:IA'SRC'UNT+3+2'";
        let mut hint = BodyHint::new(b'\'');
        assert_eq!(hint.capacity(truncated.as_bytes(), 21), 0);
        assert_eq!(hint.capacity(truncated.as_bytes(), 60), 1);
        assert_eq!(BodyHint::new(b'\'').capacity(&truncated.as_bytes()[..60], 21), 0);
        let arena = Arena::new();
        let read = read_messages(truncated.as_bytes(), 0, &arena);
        assert_eq!(read.messages.iter().map(|m| m.body.len()).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn a_search_ahead_is_remembered_and_agrees_with_a_fresh_one() {
        let input = b"xxUNT+aaUNT+bb";
        let mut ahead = Ahead::new(b"UNT+");
        for from in [0, 1, 2, 3, 5, 8, 9, 14, 3, 0] {
            let fresh = memchr::memmem::find(&input[from..], b"UNT+").map(|k| from + k);
            assert_eq!(ahead.find(input, from), fresh, "from {from}");
        }
    }

    #[test]
    fn unt_count_mismatch_is_a_diagnostic_not_a_failure() {
        let text = msg_text(&["UNH+1+PNRGOV:13:1:IA+X'MSG+:22'UNT+9+1'"]);
        let arena = Arena::new();
        let r = read_messages(text.as_bytes(), 0, &arena);
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].body.len(), 1);
        let codes: Vec<_> = r.messages[0].diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["UNT_COUNT_MISMATCH"]);
    }

    #[test]
    fn message_without_unt_is_truncated_but_kept() {
        let arena = Arena::new();
        let r = read_messages(b"UNB+IATA:1+XX+YY+250101:1200+R'UNH+1+PNRGOV:13:1:IA+X'MSG+:22'SRC'", 0, &arena);
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].body.len(), 2);
        assert_eq!(r.messages[0].diagnostics[0].code, "MESSAGE_TRUNCATED");
    }

    #[test]
    fn three_parts_are_joined_in_sequence_order() {
        let text = msg_text(&[
            "UNH+1+PNRGOV:13:1:IA+CAR1+02'SRC'RCI+AA:B'UNT+4+1'",
            "UNH+2+PNRGOV:13:1:IA+CAR1+01:C'MSG+:22'SRC'RCI+AA:A'UNT+5+2'",
            "UNH+3+PNRGOV:13:1:IA+CAR1+03:F'SRC'RCI+AA:C'UNT+4+3'",
        ]);
        let arena = Arena::new();
        let r = read_messages(text.as_bytes(), 0, &arena);
        let re = reassemble(r.messages);
        assert!(re.pending.is_empty());
        assert_eq!(re.complete.len(), 1);
        let m = &re.complete[0];
        assert_eq!(m.parts, 3);
        let tags: Vec<String> = m.segments().map(|s| format!("{}{}", s.tag, s.get(0, 1).unwrap_or(""))).collect();
        assert_eq!(tags, vec!["MSG22", "SRC", "RCIA", "SRC", "RCIB", "SRC", "RCIC"]);
        assert_eq!(m.segment_count(), 7);
        // The later parts' bodies are kept as they were read, not copied onto the first.
        assert_eq!(m.body.len(), 3);
        assert_eq!(m.later_bodies.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
    }

    #[test]
    fn a_transfer_missing_its_final_part_is_pending() {
        let text =
            msg_text(&["UNH+1+PNRGOV:13:1:IA+CAR1+01:C'SRC'UNT+3+1'", "UNH+2+PNRGOV:13:1:IA+CAR1+02'SRC'UNT+3+2'"]);
        let arena = Arena::new();
        let r = read_messages(text.as_bytes(), 0, &arena);
        let re = reassemble(r.messages);
        assert!(re.complete.is_empty());
        assert_eq!(re.pending.len(), 2);
        let joined = join_parts(re.pending);
        assert_eq!(joined.segment_count(), 2);
        assert!(joined.diagnostics.iter().any(|d| d.code == "MULTIPART_INCOMPLETE"));
    }

    #[test]
    fn unz_count_and_reference_are_checked() {
        let arena = Arena::new();
        let r = read_messages(b"UNB+IATA:1+XX+YY+250101:1200+R1'UNH+1+PNRGOV:13:1:IA+X'UNT+2+1'UNZ+3+R2'", 0, &arena);
        let codes: Vec<_> = r.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["UNZ_COUNT_MISMATCH", "UNZ_REF_MISMATCH"]);
    }

    #[test]
    fn segments_between_messages_are_reported() {
        let arena = Arena::new();
        let r =
            read_messages(b"UNB+IATA:1+XX+YY+250101:1200+R1'SRC'UNH+1+PNRGOV:13:1:IA+X'UNT+2+1'UNZ+1+R1'", 0, &arena);
        assert_eq!(r.diagnostics[0].code, "SEGMENT_OUTSIDE_MESSAGE");
        assert_eq!(r.diagnostics[0].offset, 32);
    }
}
