//! The EDIFACT lexer: bytes in, segments out. It owns the syntax of ISO 9735 and nothing else.
//!
//! It reads the service string advice (UNA), honours the release character for every service
//! character, splits elements, components and repetitions, drops line breaks wherever a sender
//! wrapped a file, decodes the character set that UNB declares, and remembers the byte offset of
//! every segment so that any row can be traced back to the raw input. It knows nothing of PNRs.
//!
//! Real feeds break the standard in many small ways. Each tolerated fault becomes a
//! [`Diagnostic`]; the lexer never gives up on a file while any segment can still be read.

use std::borrow::Cow;

use crate::diag::{Diagnostic, Severity};
use crate::edifact::Arena;
use crate::edifact::charset::Charset;

/// Longest segment we accept. Real segments are a few hundred bytes; free-text history lines
/// reach a few kilobytes. Anything longer is a file with no usable terminators, and reading it as
/// one segment would hold unbounded memory in component vectors.
pub const MAX_SEGMENT_BYTES: usize = 256 * 1024;

/// The right single quotation mark (U+2019) in UTF-8, which some senders declare as terminator
/// after copying a UNA out of a word processor.
const CURLY_TERMINATOR: &[u8] = "\u{2019}".as_bytes();

/// Segment tags after which a line break very likely means a lost terminator rather than a
/// wrapped line. Only tags from the envelope and the PNRGOV/PAXLST grammars are listed: a wrapped
/// free-text line almost never starts with one of these followed by an element separator.
const KNOWN_TAGS: &[&[u8]] = &[
    b"UNA", b"UNB", b"UNG", b"UNH", b"UNT", b"UNE", b"UNZ", b"MSG", b"ORG", b"TVL", b"EQN", b"SRC", b"RCI", b"SSR",
    b"DAT", b"IFT", b"ADD", b"EBD", b"TIF", b"FTI", b"REF", b"FAR", b"TKT", b"MON", b"PTK", b"TXD", b"FOP", b"TRA",
    b"RPI", b"APD", b"TRI", b"SSD", b"TBD", b"ABI", b"SAC", b"LTS", b"BGM", b"NAD", b"TDT", b"LOC", b"DTM", b"ATT",
    b"NAT", b"RFF", b"DOC", b"CNT", b"COM", b"FTX", b"GEI", b"MEA", b"EMP", b"CTA",
];

/// How the segment terminator is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    /// A single ASCII byte, `'` by default.
    Byte(u8),
    /// U+2019 declared in the UNA. Such files mix it with the ASCII apostrophe, so both end a
    /// segment.
    Curly,
}

/// The six service characters of ISO 9735, as declared by UNA or defaulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceChars {
    /// Separates components inside an element (`:`).
    pub component: u8,
    /// Separates data elements (`+`).
    pub element: u8,
    /// Decimal mark (`.`); informative only, values are kept as text.
    pub decimal: u8,
    /// Makes the next service character literal (`?`); `None` when the sender declared none.
    pub release: Option<u8>,
    /// Separates repetitions of one element (`*` in syntax 4); `None` when the UNA has a space
    /// there, as syntax 3 and older reserve it.
    pub repetition: Option<u8>,
    /// Ends a segment (`'`).
    pub terminator: Terminator,
}

impl Default for ServiceChars {
    /// ISO 9735 defaults when no UNA is present: `:+.? '`.
    fn default() -> Self {
        ServiceChars {
            component: b':',
            element: b'+',
            decimal: b'.',
            release: Some(b'?'),
            repetition: None,
            terminator: Terminator::Byte(b'\''),
        }
    }
}

/// One element of a segment, borrowed from it: its components, plus further repetitions when the
/// sender used the repetition separator (rare, so kept out of the common path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'s, 'a> {
    /// Components of the first (usually only) occurrence.
    pub components: &'s [Cow<'a, str>],
    /// Further repetitions of this element, in input order.
    repeats: &'s [Repeat<'a>],
}

impl<'s, 'a> Element<'s, 'a> {
    /// Component `c` (0-based) of the first occurrence, `None` when absent or empty.
    #[inline]
    pub fn get(&self, c: usize) -> Option<&'s str> {
        self.components.get(c).map(|s| s.as_ref()).filter(|s| !s.is_empty())
    }

    /// Every occurrence of the element, first included.
    pub fn occurrences(&self) -> impl Iterator<Item = &'s [Cow<'a, str>]> + use<'s, 'a> {
        std::iter::once(self.components).chain(self.repeats.iter().map(|r| r.components.as_slice()))
    }
}

/// A further occurrence of element `element` (after the repetition separator).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Repeat<'a> {
    element: u32,
    components: Vec<Cow<'a, str>>,
}

/// How many element ends a segment holds inline (when each fits in a `u16`).
const INLINE_ENDS: usize = 12;

/// Where each element's components end in [`Segment`]'s component vector. Segments with at most
/// [`INLINE_ENDS`] elements (almost all) keep them inline, so a segment costs one allocation.
///
/// The inline ends are `u16`s packed four to a word, little end first. The words are made in
/// registers and stored whole: an array of `u16` stored one by one and then moved into the
/// segment as words stalled the processor on every segment (the wide loads could not be served
/// from the narrow stores still in flight), which `perf` put at a sixth of the lexer's time.
#[derive(Debug, Clone)]
enum Ends {
    Inline { len: u8, words: [u64; INLINE_ENDS / 4] },
    Heap(Vec<u32>),
}

impl Ends {
    fn from_slice(ends: &[u32]) -> Ends {
        if ends.len() <= INLINE_ENDS && ends.last().is_none_or(|&e| e <= u16::MAX as u32) {
            let mut words = [0u64; INLINE_ENDS / 4];
            for (word, four) in words.iter_mut().zip(ends.chunks(4)) {
                *word = four.iter().enumerate().fold(0, |w, (k, &e)| w | (e as u64) << (16 * k));
            }
            Ends::Inline { len: ends.len() as u8, words }
        } else {
            Ends::Heap(ends.to_vec())
        }
    }

    #[inline]
    fn len(&self) -> usize {
        match self {
            Ends::Inline { len, .. } => *len as usize,
            Ends::Heap(v) => v.len(),
        }
    }

    /// End of element `e`; `e` must be below [`Ends::len`].
    #[inline]
    fn end(&self, e: usize) -> usize {
        match self {
            Ends::Inline { words, .. } => (words[e / 4] >> (16 * (e % 4))) as u16 as usize,
            Ends::Heap(v) => v[e] as usize,
        }
    }
}

impl PartialEq for Ends {
    fn eq(&self, other: &Ends) -> bool {
        self.len() == other.len() && (0..self.len()).all(|e| self.end(e) == other.end(e))
    }
}

impl Eq for Ends {}

/// A segment's components: a slice in the lexer's arena, or a vector of their own.
#[derive(Debug, Clone)]
enum Components<'a> {
    /// In the arena, each component borrowed (from the input or from the arena), so that
    /// nothing in the arena needs dropping.
    Arena(&'a [Cow<'a, str>]),
    Owned(Vec<Cow<'a, str>>),
}

impl<'a> std::ops::Deref for Components<'a> {
    type Target = [Cow<'a, str>];

    #[inline]
    fn deref(&self) -> &[Cow<'a, str>] {
        match self {
            Components::Arena(c) => c,
            Components::Owned(c) => c,
        }
    }
}

/// Equal when the components are, wherever they are held.
impl PartialEq for Components<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Components<'_> {}

/// A segment: its tag, its data elements and the byte offset of its first byte in the input.
///
/// The components of all its elements are held in one slice, element after element. A lexer
/// given an [`Arena`] ([`Lexer::in_arena`]) puts that slice in the arena, so the segment costs no
/// allocation of its own; otherwise it is a vector of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Three-letter tag, e.g. `TIF`.
    pub tag: Cow<'a, str>,
    /// Byte offset of the tag in the raw input.
    pub offset: usize,
    /// Byte offset just past the terminator.
    pub end: usize,
    /// Caller's tag for the input the segment came from (e.g. a file index); 0 from the lexer.
    /// Set by [`crate::edifact::interchange::read_messages`] so that a message reassembled from
    /// parts in several files still knows where each segment came from.
    pub origin: u32,
    /// Components of the first occurrence of every data element after the tag, in order.
    components: Components<'a>,
    /// End of each element's components in `components`.
    ends: Ends,
    /// Further occurrences of elements, in element order.
    repeats: Vec<Repeat<'a>>,
}

impl<'a> Segment<'a> {
    /// Element `e` (0-based, the first after the tag), if present.
    #[inline]
    pub fn element(&self, e: usize) -> Option<Element<'_, 'a>> {
        if e >= self.ends.len() {
            return None;
        }
        let start = if e == 0 { 0 } else { self.ends.end(e - 1) };
        let components = &self.components[start..self.ends.end(e)];
        let repeats = if self.repeats.is_empty() {
            &[][..]
        } else {
            let from = self.repeats.partition_point(|r| (r.element as usize) < e);
            let to = self.repeats.partition_point(|r| (r.element as usize) <= e);
            &self.repeats[from..to]
        };
        Some(Element { components, repeats })
    }

    /// Every data element after the tag, in order.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = Element<'_, 'a>> + Clone + '_ {
        (0..self.ends.len()).map(|e| self.element(e).unwrap_or(Element { components: &[], repeats: &[] }))
    }

    /// Every component of every element and of its repetitions, in element order. A word never
    /// spans a separator, so a search of each component finds what a search of the segment's
    /// rendered text would, without building it.
    pub fn components(&self) -> impl Iterator<Item = &str> + '_ {
        self.elements().flat_map(|e| e.occurrences()).flatten().map(|c| c.as_ref())
    }

    /// Component `c` of element `e`, both 0-based, `None` when absent or empty.
    #[inline]
    pub fn get(&self, e: usize, c: usize) -> Option<&str> {
        if e >= self.ends.len() {
            return None;
        }
        let start = if e == 0 { 0 } else { self.ends.end(e - 1) };
        let end = self.ends.end(e);
        if start + c >= end {
            return None;
        }
        Some(self.components[start + c].as_ref()).filter(|s| !s.is_empty())
    }

    /// Component `c` and all later components of element `e` joined by `sep`: free text that the
    /// sender's own separators split (SSR free text often contains `:`).
    pub fn text_from(&self, e: usize, c: usize, sep: char) -> Option<compact_str::CompactString> {
        let el = self.element(e)?;
        let parts = el.components.get(c..)?;
        let mut out = compact_str::CompactString::default();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            out.push_str(p);
        }
        let trimmed = out.trim_end_matches(sep);
        if trimmed.is_empty() { None } else { Some(trimmed.into()) }
    }

    /// Detaches the segment from the input buffer, e.g. to hold a message part until its other
    /// parts arrive in another file.
    pub fn into_owned(self) -> Segment<'static> {
        let owned = |v: Vec<Cow<'a, str>>| -> Vec<Cow<'static, str>> {
            v.into_iter().map(|c| Cow::Owned(c.into_owned())).collect()
        };
        Segment {
            tag: Cow::Owned(self.tag.into_owned()),
            offset: self.offset,
            end: self.end,
            origin: self.origin,
            components: Components::Owned(owned(match self.components {
                Components::Arena(c) => c.to_vec(),
                Components::Owned(c) => c,
            })),
            ends: self.ends,
            repeats: self
                .repeats
                .into_iter()
                .map(|r| Repeat { element: r.element, components: owned(r.components) })
                .collect(),
        }
    }
}

/// What a special byte does, for the three bytes that end nearly every run of text (see
/// [`Specials::class`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Component,
    Element,
    Terminator,
    /// The release character, a line break, the repetition separator, a terminator of more than
    /// one byte, or an ordinary byte.
    Other,
}

/// The bytes that [`Lexer`] must look at one by one under a set of service characters (the
/// service characters, the first byte of the terminator and line breaks); every other byte is
/// ordinary text. There are at most eight.
#[derive(Clone, Copy)]
struct Specials {
    /// Bit `b` is set for each special byte `b`.
    bits: [u64; 4],
    /// What each byte does when it is one of the three that end nearly every run of text (a
    /// component separator, an element separator or a one-byte terminator): [`Class::Component`],
    /// [`Class::Element`] or [`Class::Terminator`]. Every other byte is [`Class::Other`], and the
    /// lexer tests it one service character after another, in the order of `lex_segment`.
    class: [Class; 256],
    /// The special bytes, each once, the first repeated to fill the eight places.
    #[cfg(target_arch = "x86_64")]
    needles: [std::arch::x86_64::__m128i; 8],
}

impl Specials {
    fn new(sc: &ServiceChars) -> Specials {
        let terminator = match sc.terminator {
            Terminator::Byte(b) => [Some(b), None],
            Terminator::Curly => [Some(b'\''), Some(CURLY_TERMINATOR[0])],
        };
        let mut bytes = Vec::with_capacity(8);
        let listed = [Some(sc.component), Some(sc.element), sc.release, sc.repetition, Some(b'\r'), Some(b'\n')];
        for b in listed.into_iter().chain(terminator).flatten() {
            if !bytes.contains(&b) {
                bytes.push(b);
            }
        }
        let mut bits = [0u64; 4];
        for &b in &bytes {
            bits[(b >> 6) as usize] |= 1 << (b & 63);
        }
        // The lexer tests a special byte for the release character first, then a line break,
        // the element separator, the component separator, the repetition separator and the
        // terminator: a byte declared twice keeps the first meaning, so a class is given only
        // where no earlier test would take the byte.
        let earlier = |b: u8, upto: &[Option<u8>]| upto.iter().flatten().any(|&x| x == b);
        let line_breaks = [Some(b'\r'), Some(b'\n')];
        let mut class = [Class::Other; 256];
        let before_element = [sc.release, line_breaks[0], line_breaks[1]];
        if !earlier(sc.element, &before_element) {
            class[sc.element as usize] = Class::Element;
        }
        let before_component = [sc.release, line_breaks[0], line_breaks[1], Some(sc.element)];
        if !earlier(sc.component, &before_component) {
            class[sc.component as usize] = Class::Component;
        }
        if let Terminator::Byte(t) = sc.terminator {
            let before_terminator =
                [sc.release, line_breaks[0], line_breaks[1], Some(sc.element), Some(sc.component), sc.repetition];
            if !earlier(t, &before_terminator) {
                class[t as usize] = Class::Terminator;
            }
        }
        Specials {
            bits,
            class,
            #[cfg(target_arch = "x86_64")]
            needles: std::array::from_fn(|k| {
                let b = bytes.get(k).copied().unwrap_or(bytes[0]);
                // SAFETY: SSE2 is part of every x86_64 processor.
                unsafe { std::arch::x86_64::_mm_set1_epi8(b as i8) }
            }),
        }
    }

    /// Is `b` special?
    #[inline(always)]
    fn contains(&self, b: u8) -> bool {
        self.bits[(b >> 6) as usize] >> (b & 63) & 1 != 0
    }

    /// The position of the first special byte in `input[from..limit]`, or `limit` if none;
    /// `from` itself when it is at or past `limit` (the lexer can step past it over line breaks
    /// or a released character, and then stops on the segment's length).
    ///
    /// Sixteen bytes at a time where the processor allows: a byte-by-byte loop paid a mispredicted
    /// branch at the end of nearly every component, and was a fifth of the lexer's time.
    ///
    /// `block` is the last sixteen bytes compared (where they start, and one bit per special
    /// byte): a component is a few bytes long, so the next search nearly always starts inside
    /// them and is answered from the bits instead of comparing the bytes again. It must come
    /// from searches of the same `input` under the same service characters (or start empty,
    /// [`NO_BLOCK`]).
    #[inline(always)]
    fn find(&self, input: &[u8], from: usize, limit: usize, block: &mut (usize, u32)) -> usize {
        let limit = limit.min(input.len());
        if from >= limit {
            return from;
        }
        let mut i = from;
        let (at, mask) = *block;
        if at <= from && from - at < 16 {
            // The special bytes of the block at or after `from`.
            let rest = mask & (u32::MAX << (from - at));
            if rest != 0 {
                return (at + rest.trailing_zeros() as usize).min(limit);
            }
            i = at + 16;
        }
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            while i + 16 <= limit {
                // SAFETY: SSE2 is part of every x86_64 processor; the unaligned load reads
                // input[i..i + 16], inside input since i + 16 <= limit <= input.len().
                let mask = unsafe {
                    let v = _mm_loadu_si128(input.as_ptr().add(i).cast::<__m128i>());
                    let n = &self.needles;
                    let a = _mm_or_si128(_mm_cmpeq_epi8(v, n[0]), _mm_cmpeq_epi8(v, n[1]));
                    let b = _mm_or_si128(_mm_cmpeq_epi8(v, n[2]), _mm_cmpeq_epi8(v, n[3]));
                    let c = _mm_or_si128(_mm_cmpeq_epi8(v, n[4]), _mm_cmpeq_epi8(v, n[5]));
                    let d = _mm_or_si128(_mm_cmpeq_epi8(v, n[6]), _mm_cmpeq_epi8(v, n[7]));
                    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) as u32
                };
                if mask != 0 {
                    *block = (i, mask);
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
        if i >= limit {
            return limit;
        }
        input[i..limit].iter().position(|&x| self.contains(x)).map_or(limit, |k| i + k)
    }
}

/// No block compared yet (see [`Specials::find`]).
const NO_BLOCK: (usize, u32) = (usize::MAX, 0);

/// The lexer over one file's bytes. Iterate it to get segments; read [`Lexer::diagnostics`]
/// afterwards.
pub struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
    chars: ServiceChars,
    /// The bytes that can end a run of ordinary segment text under `chars`.
    special: Specials,
    charset: Charset,
    /// Whether every byte of the input is ASCII (nearly every airline file): its components are
    /// then text in any character set, and are not checked one by one.
    ascii: bool,
    charset_declared: bool,
    charset_fallback_reported: bool,
    diagnostics: Vec<Diagnostic>,
    done: bool,
    /// Components of the segment being lexed; moved into a vector of exactly their number at
    /// its end, so the segment's own vector never regrows.
    scratch_components: Vec<Cow<'a, str>>,
    /// Element ends of the segment being lexed.
    scratch_ends: Vec<u32>,
    /// The last block of input compared for special bytes ([`Specials::find`]).
    block: (usize, u32),
    /// Where the segments' components go, if anywhere ([`Lexer::in_arena`]).
    arena: Option<&'a Arena>,
    /// The iterator's room for one segment ([`Lexer::next_into`] writes into a vector).
    one: Vec<Segment<'a>>,
}

impl<'a> Lexer<'a> {
    /// A lexer over `input`. A UNA at the start (after any whitespace) sets the service
    /// characters; without one the ISO 9735 defaults apply.
    pub fn new(input: &'a [u8]) -> Self {
        let mut lexer = Lexer {
            input,
            pos: 0,
            chars: ServiceChars::default(),
            special: Specials::new(&ServiceChars::default()),
            charset: Charset::Utf8,
            ascii: input.is_ascii(),
            charset_declared: false,
            charset_fallback_reported: false,
            diagnostics: Vec::new(),
            done: false,
            scratch_components: Vec::new(),
            scratch_ends: Vec::new(),
            block: NO_BLOCK,
            arena: None,
            one: Vec::new(),
        };
        // A byte-order mark from a Windows editor is framing, not data.
        if input.starts_with(b"\xEF\xBB\xBF") {
            lexer.pos = 3;
            lexer.diag(0, Severity::Info, "BYTE_ORDER_MARK", "UTF-8 byte-order mark at the start ignored".into());
        }
        lexer.skip_whitespace();
        lexer.read_una();
        lexer
    }

    /// A lexer over `input` whose segments hold their components in `arena`: a segment then
    /// costs no allocation, and dropping it frees nothing. Ingest gives each file an arena of
    /// its own, dropped with the file's messages.
    pub fn in_arena(input: &'a [u8], arena: &'a Arena) -> Self {
        Lexer { arena: Some(arena), ..Lexer::new(input) }
    }

    /// The service characters in force.
    pub fn service_chars(&self) -> ServiceChars {
        self.chars
    }

    /// The character set in force (from UNB, or UTF-8 before it).
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Faults tolerated so far.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Takes the faults tolerated so far.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    fn diag(&mut self, offset: usize, severity: Severity, code: &'static str, message: String) {
        self.diagnostics.push(Diagnostic::new(offset, severity, code, message));
    }

    fn skip_whitespace(&mut self) {
        while let Some(&b) = self.input.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0c) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Reads `UNA` plus its service characters at the current position, if present.
    ///
    /// A well-formed UNA has exactly six characters. Senders also write five (one missing, as in
    /// `UNA:+\*'`) or a multi-byte terminator (`’`). We take the characters between `UNA` and the
    /// next `UNB` (trailing line breaks and spaces removed) and interpret what is there.
    fn read_una(&mut self) {
        let rest = &self.input[self.pos..];
        if !rest.starts_with(b"UNA") {
            return;
        }
        let una_offset = self.pos;
        let after = &rest[3..];
        // The UNA's content ends where UNB starts; look only a short way ahead.
        let window = &after[..after.len().min(32)];
        let unb_at = memchr::memmem::find(window, b"UNB");
        let (raw, consumed) = match unb_at {
            Some(i) => {
                let mut raw = &window[..i];
                while let Some((&last, head)) = raw.split_last() {
                    // Trailing line breaks and spaces separate UNA from UNB, unless the space is
                    // the sixth service character itself (`:-.? *` ends in `*`, so it is safe).
                    if matches!(last, b'\r' | b'\n') || (last == b' ' && head.len() >= 6) {
                        raw = head;
                    } else {
                        break;
                    }
                }
                (raw, i)
            }
            None => {
                let n = window.len().min(6);
                (&window[..n], n)
            }
        };
        let text = String::from_utf8_lossy(raw);
        let chars: Vec<char> = text.chars().collect();
        let byte = |c: char| if c.is_ascii() { Some(c as u8) } else { None };
        let terminator_of = |c: char| match c {
            '\u{2019}' => Some(Terminator::Curly),
            c => byte(c).map(Terminator::Byte),
        };
        let mut sc = ServiceChars::default();
        let ok = match chars.len() {
            6 => {
                sc.component = byte(chars[0]).unwrap_or(b':');
                sc.element = byte(chars[1]).unwrap_or(b'+');
                sc.decimal = byte(chars[2]).unwrap_or(b'.');
                sc.release = byte(chars[3]).filter(|&b| b != b' ');
                sc.repetition = byte(chars[4]).filter(|&b| b != b' ');
                sc.terminator = terminator_of(chars[5]).unwrap_or(Terminator::Byte(b'\''));
                true
            }
            5 => {
                // One character is missing. A decimal mark is `.` or `,`; if the third character
                // is neither, the decimal mark is the one that was left out.
                sc.component = byte(chars[0]).unwrap_or(b':');
                sc.element = byte(chars[1]).unwrap_or(b'+');
                if matches!(chars[2], '.' | ',') {
                    sc.decimal = chars[2] as u8;
                    sc.release = byte(chars[3]).filter(|&b| b != b' ');
                    sc.repetition = None;
                } else {
                    sc.release = byte(chars[2]).filter(|&b| b != b' ');
                    sc.repetition = byte(chars[3]).filter(|&b| b != b' ');
                }
                sc.terminator = terminator_of(chars[4]).unwrap_or(Terminator::Byte(b'\''));
                false
            }
            _ => false,
        };
        if !ok {
            let msg = if chars.len() == 5 {
                format!(
                    "UNA has 5 service characters {:?} instead of 6; read as component {:?}, element {:?}, release {:?}, repetition {:?}",
                    text,
                    sc.component as char,
                    sc.element as char,
                    sc.release.map(|b| b as char),
                    sc.repetition.map(|b| b as char)
                )
            } else {
                format!("UNA has {} service characters {:?}; using the defaults", chars.len(), text)
            };
            self.diag(una_offset, Severity::Warning, "UNA_MALFORMED", msg);
        }
        if let Terminator::Byte(t) = sc.terminator
            && (t == sc.element || t == sc.component)
        {
            self.diag(
                una_offset,
                Severity::Warning,
                "UNA_MALFORMED",
                "UNA declares the same character for terminator and separator; using the defaults".into(),
            );
            sc = ServiceChars::default();
        }
        self.chars = sc;
        self.special = Specials::new(&sc);
        // Its bits were of the old service characters.
        self.block = NO_BLOCK;
        self.pos += 3 + consumed;
    }

    /// Length of the terminator at `i`, if one starts there.
    #[inline]
    fn terminator_at(&self, i: usize) -> Option<usize> {
        let b = self.input[i];
        match self.chars.terminator {
            Terminator::Byte(t) => (b == t).then_some(1),
            Terminator::Curly => {
                if b == b'\'' {
                    Some(1)
                } else if self.input[i..].starts_with(CURLY_TERMINATOR) {
                    Some(CURLY_TERMINATOR.len())
                } else {
                    None
                }
            }
        }
    }

    /// Is the character starting at `i` a service character that the release character may
    /// escape? Returns its length in bytes.
    fn service_char_at(&self, i: usize) -> Option<usize> {
        let b = *self.input.get(i)?;
        let c = &self.chars;
        if b == c.component || b == c.element || Some(b) == c.release || Some(b) == c.repetition {
            return Some(1);
        }
        self.terminator_at(i)
    }

    /// After a line break inside a segment: does the next line start a new segment, meaning the
    /// sender lost a terminator? True when it begins with a known tag followed by the element
    /// separator or the terminator.
    fn new_segment_starts_at(&self, i: usize) -> bool {
        let rest = &self.input[i..];
        if rest.len() < 4 {
            return false;
        }
        let tag = &rest[..3];
        let next = rest[3];
        KNOWN_TAGS.contains(&tag) && (next == self.chars.element || self.terminator_at(i + 3).is_some())
    }

    /// Decodes a component of an input that is not all ASCII (`lex_segment` makes an ASCII
    /// input's components itself).
    fn decode(&mut self, bytes: Cow<'a, [u8]>, offset: usize) -> Cow<'a, str> {
        let (text, fell_back) = self.charset.decode(bytes);
        if fell_back && !self.charset_fallback_reported {
            self.charset_fallback_reported = true;
            let msg = match self.charset {
                Charset::Utf8 => {
                    "bytes are not valid UTF-8 for the declared character set; read as Latin-1".to_string()
                }
                Charset::Latin1 => "declared Latin-1 character set but the bytes are UTF-8; read as UTF-8".to_string(),
            };
            self.diag(offset, Severity::Warning, "CHARSET_FALLBACK", msg);
        }
        text
    }

    /// Lexes the next segment onto the end of `out`; false, with `out` as it was, at the end of
    /// the input. The segment is written once, where it stays: returned by value, it was put
    /// together on the stack and copied (twice), and the copy's wide loads of fields just
    /// written stalled the processor, an eighth of the lexer's time (docs/performance.md,
    /// change 92). The iterator ([`Iterator::next`]) gives the same segments one by one.
    pub fn next_into(&mut self, out: &mut Vec<Segment<'a>>) -> bool {
        loop {
            if self.done {
                return false;
            }
            self.skip_whitespace();
            if self.pos >= self.input.len() {
                self.done = true;
                return false;
            }
            // A second interchange in the same file may bring its own UNA.
            if self.input[self.pos..].starts_with(b"UNA") {
                self.read_una();
                continue;
            }
            match self.lex_segment(out) {
                Ok(()) => return true,
                Err(()) => continue,
            }
        }
    }

    /// Lexes one segment starting at `self.pos` onto the end of `out`. On a segment too long to
    /// be real it reports, skips to the next terminator and returns `Err`, `out` as it was.
    ///
    /// The tag is lexed as the first component of element zero, like any other value, and kept
    /// apart as soon as it ends: that keeps one code path for every separator, and no element
    /// has to be removed from the front of the vector afterwards.
    // `finish_element!` clears `in_tag_element` also where the segment ends and nothing reads it.
    // Not inlined: inlined into its caller (then `next_segment`, now `next_into`), which was then
    // not inlined into `read_messages`, ingest ran 0.8% more instructions (callgrind,
    // docs/performance.md change 71).
    #[allow(unused_assignments)]
    #[inline(never)]
    fn lex_segment(&mut self, out: &mut Vec<Segment<'a>>) -> Result<(), ()> {
        let start = self.pos;
        let input = self.input;
        let c = self.chars;
        // Components and element ends collect in the lexer's reused vectors; the segment gets a
        // copy of exactly the right size at its end.
        let mut components = std::mem::take(&mut self.scratch_components);
        let mut ends = std::mem::take(&mut self.scratch_ends);
        components.clear();
        ends.clear();
        let mut repeats: Vec<Repeat<'a>> = Vec::new();
        let mut in_repeat = false;
        // The tag is the first component of element zero; the rest of element zero is dropped.
        let mut tag: Option<Cow<'a, str>> = None;
        let mut in_tag_element = true;
        // The current component is input[comp_start..i] while `owned` is None; once a release
        // character or line break forces a copy, bytes accumulate in `owned`.
        let mut comp_start = start;
        let mut owned: Option<Vec<u8>> = None;
        let mut i = start;

        let ascii = self.ascii;
        let arena = self.arena;
        macro_rules! finish_component {
            () => {{
                // An ASCII input's components are text as they are: made here, in the loop, not
                // by a call per component (`decode` is for other inputs).
                let text: Cow<'a, str> = if ascii && owned.is_none() {
                    // SAFETY: every byte of the input is ASCII, and so valid UTF-8.
                    Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(&input[comp_start..i]) })
                } else {
                    let text = match (owned.take(), ascii) {
                        // SAFETY: as above; the bytes were copied from the input.
                        (Some(v), true) => Cow::Owned(unsafe { String::from_utf8_unchecked(v) }),
                        (Some(v), false) => self.decode(Cow::Owned(v), start),
                        (None, _) => self.decode(Cow::Borrowed(&input[comp_start..i]), start),
                    };
                    // Text of its own goes into the arena, which holds only borrowed components.
                    match (arena, text) {
                        (Some(arena), Cow::Owned(t)) => Cow::Borrowed(&*arena.alloc_str(&t)),
                        (_, text) => text,
                    }
                };
                if in_tag_element {
                    if tag.is_none() {
                        tag = Some(text);
                    }
                } else if in_repeat && let Some(r) = repeats.last_mut() {
                    r.components.push(text);
                } else {
                    components.push(text);
                }
            }};
        }

        macro_rules! finish_element {
            () => {{
                if in_tag_element {
                    in_tag_element = false;
                } else {
                    ends.push(components.len() as u32);
                }
            }};
        }

        // A segment longer than this is skipped (below).
        let limit = input.len().min(start + MAX_SEGMENT_BYTES + 1);
        let end = loop {
            // The run of ordinary text from `i`, if any, found in one pass: the branch on each
            // byte that a test of one byte at a time takes is the one the processor cannot guess.
            let run_end = self.special.find(input, i, limit, &mut self.block);
            if let Some(buf) = owned.as_mut() {
                buf.extend_from_slice(&input[i..run_end]);
            }
            i = run_end;
            // `limit` is the end of the input or the longest segment's end, whichever comes first.
            if i < limit {
                // Nearly every run of text ends at one of these three; the rest are tested below,
                // in the order that `Specials::class` follows.
                match self.special.class[input[i] as usize] {
                    Class::Component => {
                        finish_component!();
                        i += 1;
                        comp_start = i;
                        continue;
                    }
                    Class::Element => {
                        finish_component!();
                        finish_element!();
                        in_repeat = false;
                        i += 1;
                        comp_start = i;
                        continue;
                    }
                    Class::Terminator => {
                        finish_component!();
                        finish_element!();
                        self.pos = i + 1;
                        break i + 1;
                    }
                    Class::Other => {}
                }
            } else if i >= input.len() {
                // End of input without a terminator: what was read still counts.
                finish_component!();
                finish_element!();
                let t = tag.as_deref().unwrap_or_default().to_string();
                self.diag(
                    start,
                    Severity::Warning,
                    "MISSING_TERMINATOR",
                    format!("segment {t} at the end of the input has no terminator"),
                );
                self.pos = i;
                break i;
            } else {
                debug_assert!(i - start > MAX_SEGMENT_BYTES);
                let skip_to = self.find_next_terminator(i).unwrap_or(input.len());
                self.diag(
                    start,
                    Severity::Error,
                    "SEGMENT_TOO_LONG",
                    format!(
                        "no segment terminator within {MAX_SEGMENT_BYTES} bytes; skipped {} bytes to the next terminator",
                        skip_to - start
                    ),
                );
                self.pos = skip_to;
                self.scratch_components = components;
                self.scratch_ends = ends;
                return Err(());
            }
            // `input[i]` is special: a service character, a terminator or a line break.
            let b = input[i];
            if Some(b) == c.release {
                match self.service_char_at(i + 1) {
                    Some(n) => {
                        let buf = owned.get_or_insert_with(|| input[comp_start..i].to_vec());
                        buf.extend_from_slice(&input[i + 1..i + 1 + n]);
                        i += 1 + n;
                    }
                    None => {
                        // Release before an ordinary character is a sender bug: keep it literally.
                        if i + 1 < input.len() && !matches!(input[i + 1], b'\r' | b'\n') {
                            self.diag(
                                i,
                                Severity::Info,
                                "RELEASE_BEFORE_NON_SERVICE",
                                format!(
                                    "release character {:?} before ordinary character {:?}; kept literally",
                                    b as char,
                                    input[i + 1] as char
                                ),
                            );
                        }
                        if let Some(buf) = owned.as_mut() {
                            buf.push(b);
                        }
                        i += 1;
                    }
                }
                continue;
            }
            if b == b'\r' || b == b'\n' {
                // A line break inside a segment is framing from a wrapped file, never data.
                let mut j = i;
                while j < input.len() && matches!(input[j], b'\r' | b'\n') {
                    j += 1;
                }
                let in_unz = match &tag {
                    Some(t) => t == "UNZ",
                    None => owned.is_none() && &input[comp_start..i] == b"UNZ",
                };
                if j < input.len() && (in_unz || self.new_segment_starts_at(j)) {
                    finish_component!();
                    finish_element!();
                    let t = tag.as_deref().unwrap_or_default().to_string();
                    self.diag(
                        start,
                        Severity::Warning,
                        "MISSING_TERMINATOR",
                        format!("segment {t} ends at a line break without a terminator"),
                    );
                    self.pos = j;
                    break i;
                }
                owned.get_or_insert_with(|| input[comp_start..i].to_vec());
                i = j;
                continue;
            }
            // The element and component separators were taken above ([`Specials::class`] gives
            // them their class wherever a test before this point would not take the byte).
            if Some(b) == c.repetition {
                finish_component!();
                // A repetition inside the tag's element is dropped with the rest of it.
                if !in_tag_element {
                    repeats.push(Repeat { element: ends.len() as u32, components: Vec::new() });
                }
                in_repeat = true;
                i += 1;
                comp_start = i;
                continue;
            }
            if let Some(n) = self.terminator_at(i) {
                finish_component!();
                finish_element!();
                self.pos = i + n;
                break i + n;
            }
            if let Some(buf) = owned.as_mut() {
                buf.push(b);
            }
            i += 1;
        };
        let tag = tag.unwrap_or(Cow::Borrowed(""));
        let element_ends = Ends::from_slice(&ends);
        // Moved, not cloned, into the arena or a vector of exactly their number; the scratch keeps
        // its room.
        let exact = match arena {
            // Moved as one block: writing them one by one, each rebuilt as borrowed, took 43.5 M
            // instructions more over 5,000 PNRs (docs/performance.md, change 90).
            Some(arena) => {
                let n = components.len();
                let layout = std::alloc::Layout::array::<Cow<'a, str>>(n).unwrap_or_else(|_| unreachable!());
                let to = arena.alloc_layout(layout).cast::<Cow<'a, str>>().as_ptr();
                // SAFETY: `to` has room for `n` components, aligned for them, in the arena, which
                // lives for 'a and is not written again there. The components are moved, not
                // copied: the scratch forgets them (`set_len(0)`), so each has one owner. All
                // are borrowed (`finish_component!` put any owned text in the arena), so that the
                // arena, which never drops what it holds, loses nothing.
                Components::Arena(unsafe {
                    std::ptr::copy_nonoverlapping(components.as_ptr(), to, n);
                    components.set_len(0);
                    std::slice::from_raw_parts(to, n)
                })
            }
            None => {
                let mut exact = Vec::with_capacity(components.len());
                exact.append(&mut components);
                Components::Owned(exact)
            }
        };
        self.scratch_components = components;
        self.scratch_ends = ends;
        // Written field by field into its place: `push` put it together on the stack and copied
        // it, the copy's wide loads stalled on the narrow stores just made, and the caller then
        // copied it into the message's body (docs/performance.md, change 92). Put together and
        // taken apart at once, so that every field of `Segment` is named in both and a field left
        // unwritten is an unused variable.
        let Segment { tag, offset, end, origin, components, ends, repeats } =
            Segment { tag, offset: start, end, origin: 0, components: exact, ends: element_ends, repeats };
        out.reserve(1);
        let len = out.len();
        // SAFETY: `reserve` made room for one more segment at `len`; every field of it is written
        // there before the length covers it, and nothing reads it before.
        unsafe {
            let slot = out.as_mut_ptr().add(len);
            std::ptr::addr_of_mut!((*slot).tag).write(tag);
            std::ptr::addr_of_mut!((*slot).offset).write(offset);
            std::ptr::addr_of_mut!((*slot).end).write(end);
            std::ptr::addr_of_mut!((*slot).origin).write(origin);
            std::ptr::addr_of_mut!((*slot).components).write(components);
            std::ptr::addr_of_mut!((*slot).ends).write(ends);
            std::ptr::addr_of_mut!((*slot).repeats).write(repeats);
            out.set_len(len + 1);
        }
        if let Some(seg) = out.last()
            && seg.tag.starts_with("UN")
        {
            self.after_segment(seg);
        }
        Ok(())
    }

    fn find_next_terminator(&self, from: usize) -> Option<usize> {
        let t = match self.chars.terminator {
            Terminator::Byte(t) => t,
            Terminator::Curly => b'\'',
        };
        memchr::memchr(t, &self.input[from..]).map(|k| from + k + 1)
    }

    /// Envelope facts the lexer itself needs: the character set from UNB, and the end of the
    /// interchange at UNZ, after which only another interchange may follow.
    fn after_segment(&mut self, seg: &Segment<'a>) {
        match seg.tag.as_ref() {
            "UNB" => {
                let declared = seg.get(0, 0).unwrap_or("");
                match Charset::from_syntax_id(declared) {
                    Some(cs) => {
                        self.charset = cs;
                        self.charset_declared = true;
                    }
                    None => {
                        self.charset = Charset::Utf8;
                        self.diag(
                            seg.offset,
                            Severity::Warning,
                            "CHARSET_UNKNOWN",
                            format!(
                                "unknown syntax identifier {declared:?} in UNB; reading as UTF-8, Latin-1 where invalid"
                            ),
                        );
                    }
                }
            }
            "UNZ" => {
                let mut j = self.pos;
                while j < self.input.len() && self.input[j].is_ascii_whitespace() {
                    j += 1;
                }
                let rest = &self.input[j..];
                if !rest.is_empty() && !rest.starts_with(b"UNA") && !rest.starts_with(b"UNB") {
                    let preview = String::from_utf8_lossy(&rest[..rest.len().min(60)]).replace(['\r', '\n'], " ");
                    self.diag(
                        j,
                        Severity::Warning,
                        "TEXT_AFTER_UNZ",
                        format!("{} bytes after UNZ ignored: {:?}", rest.len(), preview.trim()),
                    );
                    self.done = true;
                }
            }
            _ => {}
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let mut one = std::mem::take(&mut self.one);
        let seg = if self.next_into(&mut one) { one.pop() } else { None };
        self.one = one;
        seg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders segments as `TAG | c,c | c,c ; c` (elements by `|`, components by `,`,
    /// repetitions by `;`) so expectations show every token.
    fn tokens(input: &[u8]) -> Vec<String> {
        Lexer::new(input)
            .map(|s| {
                let mut out = s.tag.to_string();
                for e in s.elements() {
                    out.push_str(" | ");
                    let occ: Vec<String> = e.occurrences().map(|o| o.join(",")).collect();
                    out.push_str(&occ.join(" ; "));
                }
                out
            })
            .collect()
    }

    fn codes(input: &[u8]) -> Vec<&'static str> {
        let mut l = Lexer::new(input);
        for _ in l.by_ref() {}
        l.diagnostics().iter().map(|d| d.code).collect()
    }

    #[test]
    fn the_scan_for_special_bytes_finds_the_first_one_wherever_it_is() {
        let curly = ServiceChars { terminator: Terminator::Curly, repetition: Some(b'*'), ..ServiceChars::default() };
        let odd = ServiceChars {
            component: b'|',
            element: b'^',
            release: None,
            repetition: None,
            terminator: Terminator::Byte(b'~'),
            ..ServiceChars::default()
        };
        for sc in [ServiceChars::default(), curly, odd] {
            let specials = Specials::new(&sc);
            let expected: Vec<u8> = (0..=255u8).filter(|&b| special_in(&sc, b)).collect();
            assert_eq!((0..=255u8).filter(|&b| specials.contains(b)).collect::<Vec<_>>(), expected);
            // Every special byte at every place of runs of ordinary text up to 40 bytes long,
            // and each limit around it: the sixteen-byte blocks, their tails and the limit agree
            // with a byte-by-byte search.
            for &special in &expected {
                for len in 0..40 {
                    for at in 0..=len {
                        let mut input = vec![b'A'; len];
                        if at < len {
                            input[at] = special;
                        }
                        for limit in [0, at, at + 1, len, len + 5] {
                            let naive = input[..limit.min(len)]
                                .iter()
                                .position(|&x| special_in(&sc, x))
                                .unwrap_or(limit.min(len));
                            assert_eq!(
                                specials.find(&input, 0, limit, &mut NO_BLOCK.clone()),
                                naive,
                                "{sc:?} {len} {at} {limit}"
                            );
                            if at > 0 && limit > 0 {
                                assert_eq!(specials.find(&input, 1, limit, &mut NO_BLOCK.clone()), naive.max(1));
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn searches_answered_from_the_last_block_agree_with_a_byte_by_byte_search() {
        // Text with a special byte about every fifth byte, searched from places and up to limits
        // in the lexer's order (forwards) and in any order, with one block kept throughout.
        let sc = ServiceChars::default();
        let specials = Specials::new(&sc);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let bytes = b"ABCDEFGH01234 :+'?*\r\n";
        let input: Vec<u8> =
            (0..2000).map(|_| if next(5) == 0 { bytes[13 + next(8)] } else { bytes[next(13)] }).collect();
        let naive = |from: usize, limit: usize| {
            let limit = limit.min(input.len());
            if from >= limit {
                return from;
            }
            input[from..limit].iter().position(|&x| special_in(&sc, x)).map_or(limit, |k| from + k)
        };
        let mut block = NO_BLOCK;
        let mut from = 0;
        while from < input.len() {
            let limit = if next(4) == 0 { from + next(40) } else { input.len() };
            let found = specials.find(&input, from, limit, &mut block);
            assert_eq!(found, naive(from, limit), "from {from} to {limit}");
            from = found + 1 + next(3);
        }
        for _ in 0..5000 {
            let (from, limit) = (next(2100), next(2100));
            assert_eq!(specials.find(&input, from, limit, &mut block), naive(from, limit), "from {from} to {limit}");
        }
    }

    #[test]
    fn a_byte_declared_twice_keeps_the_meaning_the_lexer_tests_first() {
        let class_of = |sc: &ServiceChars, b: u8| Specials::new(sc).class[b as usize];
        let iso = ServiceChars::default();
        assert!(class_of(&iso, b':') == Class::Component);
        assert!(class_of(&iso, b'+') == Class::Element);
        assert!(class_of(&iso, b'\'') == Class::Terminator);
        assert!(class_of(&iso, b'?') == Class::Other);
        assert!(class_of(&iso, b'A') == Class::Other);
        // The release character is tested first, then line breaks, then the element separator,
        // the component separator, the repetition separator and last the terminator.
        let release_is_component = ServiceChars { release: Some(b':'), ..iso };
        assert!(class_of(&release_is_component, b':') == Class::Other);
        let element_is_line_break = ServiceChars { element: b'\n', ..iso };
        assert!(class_of(&element_is_line_break, b'\n') == Class::Other);
        let component_is_element = ServiceChars { component: b'+', ..iso };
        assert!(class_of(&component_is_element, b'+') == Class::Element);
        let terminator_is_repetition = ServiceChars { repetition: Some(b'\''), ..iso };
        assert!(class_of(&terminator_is_repetition, b'\'') == Class::Other);
        let curly = ServiceChars { terminator: Terminator::Curly, ..iso };
        assert!(class_of(&curly, b'\'') == Class::Other);
        assert!(class_of(&curly, CURLY_TERMINATOR[0]) == Class::Other);
        // Lexed, such a segment splits as the earlier meaning says: the release character before
        // an ordinary byte is kept literally, so `a:b` stays one value.
        assert_eq!(tokens(b"UNA:+.:*'TAG+a:b+c'"), ["TAG | a:b | c"]);
    }

    /// Is `b` special under `sc`, said plainly.
    fn special_in(sc: &ServiceChars, b: u8) -> bool {
        let terminator = match sc.terminator {
            Terminator::Byte(t) => b == t,
            Terminator::Curly => b == b'\'' || b == CURLY_TERMINATOR[0],
        };
        terminator
            || b == sc.component
            || b == sc.element
            || Some(b) == sc.release
            || Some(b) == sc.repetition
            || b == b'\r'
            || b == b'\n'
    }

    #[test]
    fn no_una_uses_iso_defaults() {
        assert_eq!(tokens(b"UNH+1+PNRGOV:13:1:IA'MSG+:22'"), vec!["UNH | 1 | PNRGOV,13,1,IA", "MSG | ,22"]);
    }

    #[test]
    fn a_byte_order_mark_before_una_is_skipped() {
        let input = b"\xEF\xBB\xBFUNA:+.?*'UNB+IATA:1'";
        assert_eq!(tokens(input), vec!["UNB | IATA,1"]);
        assert_eq!(codes(input), vec!["BYTE_ORDER_MARK"]);
    }

    #[test]
    fn una_declares_all_six_service_characters() {
        // `-` separates elements, `*` ends segments, space means no repetition separator.
        let input = b"UNA:-.? *UNB-IATA:1-DL*TIF-SERIO-REUBEN:A:1*";
        assert_eq!(tokens(input), vec!["UNB | IATA,1 | DL", "TIF | SERIO | REUBEN,A,1"]);
        let l = Lexer::new(input);
        assert_eq!(l.service_chars().repetition, None);
        assert_eq!(l.service_chars().terminator, Terminator::Byte(b'*'));
    }

    #[test]
    fn five_character_una_is_understood_with_a_diagnostic() {
        let input = b"UNA:+\\*'\nUNB+IATA:1+1A'LTS+0/O/SS/LK \\*1A/E\\*'";
        assert_eq!(tokens(input), vec!["UNB | IATA,1 | 1A", "LTS | 0/O/SS/LK *1A/E*"]);
        assert_eq!(codes(input), vec!["UNA_MALFORMED"]);
        let sc = Lexer::new(input).service_chars();
        assert_eq!((sc.release, sc.repetition), (Some(b'\\'), Some(b'*')));
    }

    #[test]
    fn release_character_applies_to_every_service_character() {
        let input = b"UNA:+.?*'FTX+A?+B?:C??D?'E?*F'";
        assert_eq!(tokens(input), vec!["FTX | A+B:C?D'E*F"]);
    }

    #[test]
    fn double_release_before_terminator_is_a_literal_release_then_a_real_terminator() {
        assert_eq!(tokens(b"IFT+4:28+WHY??'TIF+A'"), vec!["IFT | 4,28 | WHY?", "TIF | A"]);
    }

    #[test]
    fn release_before_an_ordinary_character_is_kept_literally() {
        assert_eq!(tokens(b"IFT+A?B'"), vec!["IFT | A?B"]);
        assert_eq!(codes(b"IFT+A?B'"), vec!["RELEASE_BEFORE_NON_SERVICE"]);
    }

    #[test]
    fn repetition_separator_splits_occurrences() {
        assert_eq!(tokens(b"UNA:+.?*'DAT+700:061210*710:071210'"), vec!["DAT | 700,061210 ; 710,071210"]);
    }

    #[test]
    fn repetitions_belong_to_their_own_element_and_a_repetition_in_the_tag_is_dropped() {
        let input = b"UNA:+.?*'TIF*X+A:1*B:2+C+D*E*F'";
        assert_eq!(tokens(input), vec!["TIF | A,1 ; B,2 | C | D ; E ; F"]);
        let seg = Lexer::new(input).next().unwrap_or_else(|| panic!("no segment"));
        assert_eq!(seg.elements().len(), 3);
        assert_eq!(seg.get(0, 1), Some("1"));
        assert_eq!(seg.get(1, 0), Some("C"));
        assert_eq!(seg.get(1, 1), None);
        assert_eq!(seg.get(3, 0), None);
        let occurrences = |e: usize| seg.element(e).map(|el| el.occurrences().count());
        assert_eq!((occurrences(0), occurrences(1), occurrences(2), occurrences(3)), (Some(2), Some(1), Some(3), None));
        assert_eq!(seg.components().collect::<Vec<_>>(), vec!["A", "1", "B", "2", "C", "D", "E", "F"]);
        assert_eq!(seg.clone().into_owned(), seg);
    }

    #[test]
    fn segments_with_many_elements_or_components_keep_every_one() {
        // Up to twelve elements keep their ends inline, four to a word; thirteen do not.
        for n in [1, 3, 4, 5, 11, 12, 13, 40] {
            let many: String = (0..n).map(|i| format!("+e{i}:c{i}")).collect();
            let input = format!("FTX{many}'");
            let seg = Lexer::new(input.as_bytes()).next().unwrap_or_else(|| panic!("no segment"));
            assert_eq!(seg.elements().len(), n);
            let firsts: Vec<&str> = seg.elements().filter_map(|e| e.get(0)).collect();
            assert_eq!(firsts, (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>());
            let seconds: Vec<&str> = seg.elements().filter_map(|e| e.get(1)).collect();
            assert_eq!(seconds, (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>());
            assert_eq!(seg.get(n - 1, 1), Some(format!("c{}", n - 1).as_str()));
            assert_eq!(seg.get(n, 0), None);
        }
        // Ends at and just past the largest inline one (65,535 components).
        for k in [65_534, 65_535] {
            let input = format!("FTX+a+{}+z'", "x:".repeat(k - 2));
            let seg = Lexer::new(input.as_bytes()).next().unwrap_or_else(|| panic!("no segment"));
            assert_eq!(seg.elements().len(), 3);
            assert_eq!(seg.element(1).map(|e| e.components.len()), Some(k - 1));
            assert_eq!(seg.get(2, 0), Some("z"));
            assert_eq!(seg.clone().into_owned(), seg);
        }
        // 70,000 components in one element, then one more element: ends beyond u16.
        let input = format!("FTX+{}+last'", "x:".repeat(70_000));
        let seg = Lexer::new(input.as_bytes()).next().unwrap_or_else(|| panic!("no segment"));
        assert_eq!(seg.elements().len(), 2);
        assert_eq!(seg.element(0).map(|e| e.components.len()), Some(70_001));
        assert_eq!(seg.get(1, 0), Some("last"));
        assert_eq!(seg.clone().into_owned(), seg);
    }

    #[test]
    fn the_tag_is_the_first_component_and_the_rest_of_element_zero_is_dropped() {
        assert_eq!(tokens(b"UNH:X:Y+1:PNRGOV'TVL:Z+A'"), vec!["UNH | 1,PNRGOV", "TVL | A"]);
    }

    #[test]
    fn long_runs_of_ordinary_text_keep_released_characters_and_line_breaks_out() {
        let long = "X".repeat(5000);
        let input = format!("FTX+{long}?+{long}\n{long}:B'");
        let expected = format!("FTX | {long}+{long}{long},B");
        assert_eq!(tokens(input.as_bytes()), vec![expected]);
    }

    #[test]
    fn line_breaks_are_dropped_even_inside_a_wrapped_segment() {
        let input =
            b"SSR+DOCS:HK::DL:::::/P/GBR/123/GBR/12JUL64/M/23AUG19/SMITHJ\r\nR/JOHN'\nADD++702:45 HIGH\nSTREET:SLOUGH'";
        assert_eq!(
            tokens(input),
            vec![
                "SSR | DOCS,HK,,DL,,,,,/P/GBR/123/GBR/12JUL64/M/23AUG19/SMITHJR/JOHN",
                "ADD |  | 702,45 HIGHSTREET,SLOUGH"
            ]
        );
    }

    #[test]
    fn spaces_after_terminators_are_trimmed() {
        assert_eq!(
            tokens(b"TVL+121210:0915+LHR' APD+767'   \n  EQN+2'"),
            vec!["TVL | 121210,0915 | LHR", "APD | 767", "EQN | 2"]
        );
    }

    #[test]
    fn curly_terminator_declared_in_una_ends_segments_and_so_does_the_ascii_one() {
        let input = "UNA:+.\\*\u{2019} UNB+IATA:1+1A\u{2019}UNH+1+PNRGOV:11:1:IA'MSG+:22'".as_bytes();
        assert_eq!(tokens(input), vec!["UNB | IATA,1 | 1A", "UNH | 1 | PNRGOV,11,1,IA", "MSG | ,22"]);
    }

    #[test]
    fn curly_apostrophe_is_data_when_the_una_declares_the_ascii_terminator() {
        assert_eq!(tokens("UNB+IATA:1'TIF+O\u{2019}BRIEN'".as_bytes()), vec!["UNB | IATA,1", "TIF | O\u{2019}BRIEN"]);
    }

    #[test]
    fn latin1_charsets_decode_high_bytes() {
        assert_eq!(tokens(b"UNB+UNOC:3+X'TIF+M\xdcLLER'"), vec!["UNB | UNOC,3 | X", "TIF | MÜLLER"]);
    }

    #[test]
    fn utf8_charsets_decode_and_invalid_bytes_fall_back_with_a_diagnostic() {
        assert_eq!(tokens("UNB+IATA:1+X'TIF+MÜLLER'".as_bytes()), vec!["UNB | IATA,1 | X", "TIF | MÜLLER"]);
        let bad = b"UNB+UNOY:3+X'TIF+M\xdcLLER'";
        assert_eq!(tokens(bad)[1], "TIF | MÜLLER");
        assert_eq!(codes(bad), vec!["CHARSET_FALLBACK"]);
    }

    #[test]
    fn segments_lexed_in_an_arena_equal_those_lexed_without_and_detach_from_it() {
        // Borrowed and owned components: released characters, a wrapped line, decoded Latin-1
        // and invalid UTF-8 (owned text, which goes into the arena too), repetitions, a curly
        // terminator, a segment longer than the inline element ends.
        let many = format!("FTX{}'", "+A:B".repeat(20));
        let inputs: [&[u8]; 7] = [
            b"UNA:+.? 'UNB+IATA:1+X'TIF+O?'NEIL?+:JOHN?:MR'SSR+DOCS:HK::::/P/GB/12\r\n34'UNZ+1+1'",
            b"UNB+UNOC:3+X'TIF+M\xdcLLER+J\xc9R\xd4ME'",
            b"UNB+UNOY:3+X'TIF+M\xdcLLER'",
            "UNB+IATA:1+X'TIF+MÜLLER:Ä'".as_bytes(),
            b"UNA:+.?*'UNB+UNOA:4+X'NAD+A*B*C+D:E*F'",
            "UNA:+.? \u{2019}UNB+IATA:1+X\u{2019}TIF+A\u{2019}RCI+B'".as_bytes(),
            many.as_bytes(),
        ];
        for input in inputs {
            let owned: Vec<Segment<'_>> = Lexer::new(input).collect();
            let arena = Arena::new();
            let in_arena: Vec<Segment<'_>> = Lexer::in_arena(input, &arena).collect();
            assert_eq!(in_arena, owned, "{}", String::from_utf8_lossy(input));
            assert!(in_arena.iter().all(|s| matches!(s.components, Components::Arena(_))));
            let detached: Vec<Segment<'static>> = in_arena.into_iter().map(Segment::into_owned).collect();
            drop(arena);
            assert_eq!(detached, owned, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn segments_lexed_onto_a_vector_follow_what_it_held_and_equal_the_iterators() {
        // A segment too long to be real (skipped), a second UNA, text after UNZ (the end), and
        // the charset of UNB taken up by the next segment.
        let long = format!(
            "UNB+IATA:1+X'FTX+{}'TIF+A'UNZ+1+1'UNA:+.?*'UNB+UNOC:3+X'TIF+M\u{c9}'",
            "A".repeat(MAX_SEGMENT_BYTES + 10)
        );
        let inputs: [&[u8]; 3] = [
            b"UNA:+.? 'UNB+IATA:1+X'UNH+1'TIF+O?'NEIL'UNT+3+1'UNZ+1+1'trailing text",
            long.as_bytes(),
            b"UNB+UNOC:3+X'TIF+M\xdcLLER'\nSSR+DOCS",
        ];
        for input in inputs {
            let arena = Arena::new();
            let one_by_one: Vec<Segment<'_>> = Lexer::in_arena(input, &arena).collect();
            let mut lexer = Lexer::in_arena(input, &arena);
            let before = Lexer::new(b"MSG+1'ORG+2'").collect::<Vec<_>>();
            let mut onto = before.clone();
            let mut lexed = 0;
            while lexer.next_into(&mut onto) {
                lexed += 1;
                assert_eq!(onto.len(), before.len() + lexed);
            }
            // At the end it adds nothing, however often asked.
            assert!(!lexer.next_into(&mut onto));
            assert_eq!(onto.len(), before.len() + lexed);
            assert_eq!(onto[..before.len()], before[..]);
            assert_eq!(onto[before.len()..], one_by_one[..], "{}", String::from_utf8_lossy(input));
            let codes = |l: &Lexer<'_>| l.diagnostics().iter().map(|d| d.code).collect::<Vec<_>>();
            let mut again = Lexer::in_arena(input, &arena);
            again.by_ref().for_each(drop);
            assert_eq!(codes(&lexer), codes(&again));
            assert!(!codes(&lexer).is_empty(), "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn unknown_syntax_identifier_is_a_diagnostic() {
        assert_eq!(codes(b"UNB+ABCD:1+X'TIF+A'"), vec!["CHARSET_UNKNOWN"]);
    }

    #[test]
    fn every_segment_keeps_its_byte_offset() {
        let input = b"UNA:+.?*'\nUNB+IATA:1'\r\nUNH+1' MSG+:22'";
        let offsets: Vec<(String, usize)> = Lexer::new(input).map(|s| (s.tag.to_string(), s.offset)).collect();
        assert_eq!(offsets, vec![("UNB".into(), 10), ("UNH".into(), 23), ("MSG".into(), 30)]);
    }

    #[test]
    fn a_line_break_before_a_known_tag_ends_a_segment_that_lost_its_terminator() {
        let input = b"RCI+1A:35K2IO\nTIF+DORON+NINA MS::2'";
        assert_eq!(tokens(input), vec!["RCI | 1A,35K2IO", "TIF | DORON | NINA MS,,2"]);
        assert_eq!(codes(input), vec!["MISSING_TERMINATOR"]);
    }

    #[test]
    fn text_after_unz_is_a_diagnostic_and_not_a_segment() {
        let input = b"UNZ+1+00102181551362\n\nModify above message to create bad message.\n";
        assert_eq!(tokens(input), vec!["UNZ | 1 | 00102181551362"]);
        assert_eq!(codes(input), vec!["MISSING_TERMINATOR", "TEXT_AFTER_UNZ"]);
    }

    #[test]
    fn a_second_interchange_after_unz_is_read() {
        assert_eq!(tokens(b"UNZ+1+A'UNA:+.?*'UNB+IATA:1'"), vec!["UNZ | 1 | A", "UNB | IATA,1"]);
    }

    #[test]
    fn missing_final_terminator_keeps_the_segment() {
        assert_eq!(tokens(b"TIF+A+B"), vec!["TIF | A | B"]);
        assert_eq!(codes(b"TIF+A+B"), vec!["MISSING_TERMINATOR"]);
    }

    #[test]
    fn a_segment_with_no_terminator_for_megabytes_is_skipped_with_bounded_memory() {
        let mut input = b"TIF+A'FTX+".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_SEGMENT_BYTES + 10));
        input.extend(b"'TIF+B'");
        assert_eq!(tokens(&input), vec!["TIF | A", "TIF | B"]);
        assert_eq!(codes(&input), vec!["SEGMENT_TOO_LONG"]);
    }

    #[test]
    fn a_run_of_line_breaks_or_a_release_across_the_longest_segment_is_skipped_too() {
        // The lexer steps over line breaks and released characters several bytes at a time:
        // stepping past the longest segment's end must still end in SEGMENT_TOO_LONG.
        for short in 0..6 {
            let mut input = b"TIF+A'FTX+".to_vec();
            input.extend(std::iter::repeat_n(b'x', MAX_SEGMENT_BYTES - short));
            input.extend(b"\r\n\r\n\r\n\r\n\r\nx'TIF+B'");
            assert_eq!(tokens(&input), vec!["TIF | A", "TIF | B"], "{short}");
            assert_eq!(codes(&input), vec!["SEGMENT_TOO_LONG"], "{short}");
            // The skip goes to the next terminator byte, released or not (as it always has):
            // what follows a released one is read as a segment of its own.
            let mut input = b"TIF+A'FTX+".to_vec();
            input.extend(std::iter::repeat_n(b'x', MAX_SEGMENT_BYTES - short));
            input.extend(b"?'?'?'?'?'x'TIF+B'");
            let tokens = tokens(&input);
            assert_eq!(tokens.first().map(String::as_str), Some("TIF | A"), "{short}");
            assert_eq!(tokens.last().map(String::as_str), Some("TIF | B"), "{short}");
            assert_eq!(codes(&input), vec!["SEGMENT_TOO_LONG"], "{short}");
        }
    }
}
