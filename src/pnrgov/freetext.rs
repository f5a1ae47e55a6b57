//! Sub-parsers for the AIRIMP free text inside SSR and IFT segments, and for names.
//!
//! DOCS/DOCO/DOCA carry documents and addresses as `/`-separated positional fields; CTCE/CTCM
//! and the `CTC*` lines of IFT 4:28 carry contacts in their own encoding (`//` for `@`, `..` for
//! `_`, `-1NAME` name associations). Everything here returns raw strings: resolving two-digit
//! years and time zones belongs to the mapping layer.

use crate::edifact::trim;
use crate::landing::schema::Text;

/// Fields of an SSR DOCS (travel document) free text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Docs {
    /// Document type: `P` passport, `I`/`A`/`C` identity cards, `IP` passport card, …
    pub doc_type: Option<Text>,
    /// Issuing state (ISO 3166 alpha-3, sometimes alpha-2).
    pub issuer: Option<Text>,
    /// Document number.
    pub number: Option<Text>,
    /// Nationality.
    pub nationality: Option<Text>,
    /// Date of birth as sent, `DDMMMYY`.
    pub dob: Option<Text>,
    /// Gender: `M`, `F`, `U`, `MI`/`FI` for infants.
    pub gender: Option<Text>,
    /// Expiry date as sent, `DDMMMYY`.
    pub expiry: Option<Text>,
    /// Surname on the document.
    pub surname: Option<Text>,
    /// First given name on the document.
    pub given: Option<Text>,
    /// Second given name.
    pub middle: Option<Text>,
}

impl Docs {
    /// True for `MI`/`FI`: the document belongs to an infant travelling on an adult's SSR.
    pub fn is_infant(&self) -> bool {
        matches!(self.gender.as_deref(), Some("MI" | "FI"))
    }
}

/// Fields a DOCS, DOCO or DOCA text is read for: the parsers read none beyond the tenth.
const FIELDS: usize = 10;

/// The first [`FIELDS`] slash-separated fields of the text, trimmed, `None` where empty or absent.
/// In an array, not a vector: every traveller's DOCS is read here. The slashes are found by a
/// loop over the bytes: `str::split` with a `char` took about 120 instructions a field
/// (callgrind, docs/performance.md, change 85).
fn fields(text: &str) -> [Option<&str>; FIELDS] {
    let t = trim(text);
    let t = t.strip_prefix('/').unwrap_or(t);
    let mut out = [None; FIELDS];
    fn field(f: &str) -> Option<&str> {
        Some(trim(f)).filter(|f| !f.is_empty())
    }
    let mut start = 0;
    let mut k = 0;
    for (i, b) in t.bytes().enumerate() {
        if b == b'/' {
            // A slash is one byte of UTF-8, so both sides of it are character boundaries.
            out[k] = field(&t[start..i]);
            k += 1;
            if k == FIELDS {
                return out;
            }
            start = i + 1;
        }
    }
    out[k] = field(&t[start..]);
    out
}

/// Field `i`, copied out once.
fn at(f: &[Option<&str>], i: usize) -> Option<Text> {
    f.get(i).copied().flatten().map(Text::from)
}

/// Parses DOCS free text, e.g. `/P/GBR/123456789/GBR/12JUL64/M/23AUG19/SMITH/JOHN/ROBERT`.
pub fn parse_docs(text: &str) -> Docs {
    let f = fields(text);
    Docs {
        doc_type: at(&f, 0),
        issuer: at(&f, 1),
        number: at(&f, 2),
        nationality: at(&f, 3),
        dob: at(&f, 4),
        gender: at(&f, 5),
        expiry: at(&f, 6),
        surname: at(&f, 7),
        given: at(&f, 8),
        middle: at(&f, 9),
    }
}

/// Fields of an SSR DOCO (other document: visa, place of birth).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doco {
    /// Place of birth.
    pub birth_place: Option<Text>,
    /// Document type, `V` for visa.
    pub doc_type: Option<Text>,
    /// Document (visa) number.
    pub number: Option<Text>,
    /// Place of issue.
    pub issue_place: Option<Text>,
    /// Issue date as sent, `DDMMMYY`.
    pub issue_date: Option<Text>,
    /// Country for which the document is valid.
    pub valid_for: Option<Text>,
}

/// Parses DOCO free text, e.g. `/HERE VA/V/8675309/OTHER PLACE/22DEC06/LI`.
pub fn parse_doco(text: &str) -> Doco {
    let f = fields(text);
    Doco {
        birth_place: at(&f, 0),
        doc_type: at(&f, 1),
        number: at(&f, 2),
        issue_place: at(&f, 3),
        issue_date: at(&f, 4),
        valid_for: at(&f, 5),
    }
}

/// Fields of an SSR DOCA (address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doca {
    /// `R` residence or `D` destination.
    pub kind: Option<Text>,
    /// Country.
    pub country: Option<Text>,
    /// Street.
    pub street: Option<Text>,
    /// City.
    pub city: Option<Text>,
    /// State or province.
    pub state: Option<Text>,
    /// Postal code.
    pub postcode: Option<Text>,
}

/// Parses DOCA free text, e.g. `/D/AUS/13 SHORE AVENUE/BROADBEACH/QLD/4215`.
pub fn parse_doca(text: &str) -> Doca {
    let f = fields(text);
    Doca {
        kind: at(&f, 0),
        country: at(&f, 1),
        street: at(&f, 2),
        city: at(&f, 3),
        state: at(&f, 4),
        postcode: at(&f, 5),
    }
}

/// Removes a trailing AIRIMP name association `-1SURNAME/GIVEN`.
fn strip_name_association(text: &str) -> &str {
    if let Some(i) = text.rfind("-1") {
        let rest = &text[i + 2..];
        if !rest.is_empty() && rest.chars().all(|c| c.is_alphabetic() || c == '/' || c == ' ') {
            return &text[..i];
        }
    }
    text
}

/// Normalises an AIRIMP e-mail: `//` is `@`, `..` is `_`, lower case, association removed.
/// Returns `None` when what is left has no `@`.
pub fn normalise_email(text: &str) -> Option<Text> {
    let t = strip_name_association(text.trim().trim_start_matches('/')).trim();
    let t = if t.is_ascii() { ascii_email(t) } else { unicode_email(t) };
    if t.contains('@') && !t.starts_with('@') && !t.ends_with('@') { Some(t) } else { None }
}

/// [`normalise_email`]'s rewriting of an ASCII text in one pass, with one allocation at most: the
/// same as [`unicode_email`] (`//` and `..` cannot overlap, and both are looked for before any
/// space is removed), which took 2% of ingest's samples in four passes.
fn ascii_email(t: &str) -> Text {
    let b = t.as_bytes();
    let mut out = AsciiOut::new();
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'/', Some(b'/')) => {
                out.push(b'@');
                i += 2;
            }
            (b'.', Some(b'.')) => {
                out.push(b'_');
                i += 2;
            }
            (c, _) => {
                if !char::from(c).is_whitespace() {
                    out.push(c.to_ascii_lowercase());
                }
                i += 1;
            }
        }
    }
    out.text()
}

/// ASCII bytes gathered one at a time, on the stack while they fit (e-mail addresses and phone
/// numbers nearly always do), and made into text once: `CompactString::push` cost about a
/// hundred instructions a character, 1.1% of `paxrisk ingest`'s over 200 files (callgrind).
struct AsciiOut {
    buf: [u8; AsciiOut::INLINE],
    len: usize,
    /// Every byte, once there are more than fit in `buf`.
    spill: Vec<u8>,
}

impl AsciiOut {
    const INLINE: usize = 64;

    fn new() -> AsciiOut {
        AsciiOut { buf: [0; AsciiOut::INLINE], len: 0, spill: Vec::new() }
    }

    /// Appends `b`, which must be ASCII.
    #[inline]
    fn push(&mut self, b: u8) {
        debug_assert!(b.is_ascii());
        if self.len < AsciiOut::INLINE {
            self.buf[self.len] = b;
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.buf);
            }
            self.spill.push(b);
        }
        self.len += 1;
    }

    fn as_bytes(&self) -> &[u8] {
        if self.len <= AsciiOut::INLINE { &self.buf[..self.len] } else { &self.spill }
    }

    fn text(&self) -> Text {
        // Every byte pushed is ASCII, so the bytes are UTF-8.
        Text::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// [`normalise_email`]'s rewriting of any text: `//` to `@`, `..` to `_`, lower case, no spaces.
fn unicode_email(t: &str) -> Text {
    let t = t.replace("//", "@").replace("..", "_").to_lowercase();
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Normalises a phone number: digits only, with a leading `+` kept, from the first run of digit
/// groups in the text (`SEA 866 746-4647 CARLSON` gives `8667464647`). `None` when fewer than
/// five digits are found.
pub fn normalise_phone(text: &str) -> Option<Text> {
    let t = strip_name_association(text.trim().trim_start_matches('/'));
    // ASCII text (almost all) is read as it is; other text as characters.
    if t.is_ascii() { phone_from(t.as_bytes()) } else { phone_from(&t.chars().collect::<Vec<char>>()) }
}

/// [`normalise_phone`] over the text's bytes (ASCII) or characters.
fn phone_from<C: Copy + Into<char>>(chars: &[C]) -> Option<Text> {
    let at = |i: usize| chars.get(i).map(|&c| c.into());
    let start = chars.iter().position(|&c| c.into().is_ascii_digit())?;
    let mut out = AsciiOut::new();
    if start > 0 && at(start - 1) == Some('+') {
        out.push(b'+');
    }
    let mut i = start;
    while let Some(c) = at(i) {
        if c.is_ascii_digit() {
            out.push(c as u8);
        } else if matches!(c, ' ' | '-' | '.' | '(' | ')') {
            // Separators inside a number; a letter ends it.
            if !at(i + 1).is_some_and(|n| n.is_ascii_digit() || matches!(n, ' ' | '-' | '(' | ')')) {
                break;
            }
        } else {
            break;
        }
        i += 1;
    }
    let digits = out.as_bytes().iter().filter(|b| b.is_ascii_digit()).count();
    if digits >= 5 { Some(out.text()) } else { None }
}

/// A contact read from free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// `email`, `phone`, `mobile`, `home`, `business`, `agency`, `fax`, `address`.
    pub kind: &'static str,
    /// Normalised value (lower-case e-mail, digits-only phone, or address text).
    pub value: Text,
    /// The CTC code it came with (`CTCE`, `CTCM`, …), when there was one.
    pub code: Text,
}

/// Kind of contact for a `CTC?` code.
pub fn ctc_kind(code: &str) -> &'static str {
    match code {
        "CTCE" => "email",
        "CTCM" => "mobile",
        "CTCH" => "home",
        "CTCB" => "business",
        "CTCT" => "agency",
        "CTCF" => "fax",
        "CTCA" => "address",
        _ => "phone",
    }
}

/// Finds a `CTC*` contact in IFT free text such as `CTCE A..B//GMAIL.COM`, `AM CTCT BOG 571 600
/// 5830 A` or `CTC 7732486972-U`.
pub fn parse_ctc_line(text: &str) -> Option<Contact> {
    let upper = text.to_ascii_uppercase();
    let mut search = 0;
    while let Some(rel) = upper[search..].find("CTC") {
        let i = search + rel;
        search = i + 3;
        if i > 0 && upper.as_bytes()[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let after = &text[i + 3..];
        let (code, rest) = match after.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => {
                let next = after[1..].chars().next();
                if next.is_some_and(|n| n.is_ascii_alphabetic()) {
                    continue;
                }
                (compact_str::format_compact!("CTC{}", c.to_ascii_uppercase()), &after[1..])
            }
            _ => (Text::from("CTC"), after),
        };
        let kind = ctc_kind(&code);
        let value = match kind {
            "email" => normalise_email(rest),
            "address" => Some(Text::from(rest.trim())).filter(|s| !s.is_empty()),
            _ => normalise_phone(rest),
        }?;
        return Some(Contact { kind, value, code });
    }
    None
}

/// Fields of an SSR FQTV (frequent flyer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fqtv {
    /// Programme airline.
    pub airline: Option<Text>,
    /// Membership number.
    pub number: Option<Text>,
}

/// Parses FQTV free text, e.g. `/DL1234567890-LASTNAME/FIRSTNAMEMI` or `SQ8794285757 S/KFES`.
pub fn parse_fqtv(text: &str) -> Fqtv {
    let t = text.trim().trim_start_matches('/').trim();
    let token = t.split(['-', ' ', '/']).next().unwrap_or("");
    if token.len() > 2 && token.is_char_boundary(2) {
        Fqtv { airline: Some(Text::from(&token[..2])), number: Some(Text::from(&token[2..])) }
    } else {
        Fqtv::default()
    }
}

/// Fields of an SSR TKNE (e-ticket number and coupon).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tkne {
    /// 13-digit ticket number.
    pub ticket_number: Option<Text>,
    /// Coupon number.
    pub coupon: Option<Text>,
    /// True for `INF…`: the infant's ticket.
    pub infant: bool,
}

/// Parses TKNE free text, e.g. `1393207166000C1` or `INF1392178947000C3`.
pub fn parse_tkne(text: &str) -> Tkne {
    let t = text.trim();
    let (infant, t) = match t.strip_prefix("INF") {
        Some(r) => (true, r),
        None => (false, t),
    };
    let digits: Text = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &t[digits.len()..];
    let coupon = rest.strip_prefix('C').map(|c| c.chars().take_while(|c| c.is_ascii_digit()).collect::<Text>());
    Tkne {
        ticket_number: if digits.len() >= 10 { Some(digits) } else { None },
        coupon: coupon.filter(|c| !c.is_empty()),
        infant,
    }
}

/// Fields of an SSR INFT (infant on lap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inft {
    /// Infant's surname.
    pub surname: Option<Text>,
    /// Infant's given name.
    pub given: Option<Text>,
    /// Date of birth as sent, `DDMMMYY`.
    pub dob: Option<Text>,
}

/// Parses INFT free text: `BELT/SOPHY 20SEP12` or `SURNAME/GIVEN/10AUG11`.
pub fn parse_inft(text: &str) -> Inft {
    let t = text.trim().trim_start_matches('/');
    let mut parts = t.splitn(2, '/');
    let surname = parts.next().map(str::trim).filter(|s| !s.is_empty()).map(Text::from);
    let rest = parts.next().unwrap_or("").trim();
    let (given, dob) = match rest.rsplit_once(['/', ' ']) {
        Some((g, d)) if looks_like_ddmmmyy(d) => (Some(Text::from(g.trim())), Some(Text::from(d))),
        _ => (Some(Text::from(rest)), None),
    };
    Inft { surname, given: given.filter(|g| !g.is_empty()), dob }
}

/// `12JUL64`-shaped: two digits, three letters, two digits.
pub fn looks_like_ddmmmyy(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..5].iter().all(u8::is_ascii_alphabetic)
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// Titles written after the given name with a space (`ISABELLE MRS`).
const SPACED_TITLES: &[&str] = &[
    "MR", "MRS", "MS", "MISS", "MSTR", "MSTER", "MASTER", "DR", "PROF", "REV", "CAPT", "SIR", "MX", "MME", "MLLE",
    "CHD", "INF", "ADT",
];

/// Titles run together with the given name (`JOHNMR`). Shorter list: `DR` would eat the end of
/// `ALEXANDR`.
const GLUED_TITLES: &[&str] = &["MSTR", "MISS", "MRS", "MR", "MS"];

/// Splits a PNR given name into the name and its title. `JOHNMR` gives (`JOHN`, `MR`),
/// `ISABELLE MRS` gives (`ISABELLE`, `MRS`). A glued `MS` is kept as part of the name when
/// `document_given` (from DOCS) spells the name with it: `WILLIAMS` stays whole if the passport
/// says so.
pub fn split_title(given: &str, document_given: Option<&str>) -> (Text, Option<Text>) {
    // The words one space apart. Nearly every name already is, and is then not copied to be.
    let g: std::borrow::Cow<'_, str> = if is_spaced_words(given) {
        given.into()
    } else {
        given.split_whitespace().collect::<Vec<_>>().join(" ").into()
    };
    if let Some((head, last)) = g.rsplit_once(' ')
        && SPACED_TITLES.contains(&last)
        && !head.is_empty()
    {
        return (Text::from(head), Some(Text::from(last)));
    }
    // `MS` is the one glued title that real given names end in (WILLIAMS, ADAMS). When the
    // document spells the name the same way, the letters are the name's (asked only of a name
    // ending in `MS`).
    let document_keeps_ms = || {
        document_given.is_some_and(|doc| {
            let doc: String = doc.split_whitespace().collect();
            doc == g.replace(' ', "")
        })
    };
    for t in GLUED_TITLES {
        if let Some(head) = g.strip_suffix(t)
            && head.chars().count() >= 2
            && !head.ends_with(' ')
        {
            if *t == "MS" && document_keeps_ms() {
                continue;
            }
            return (Text::from(head), Some(Text::from(*t)));
        }
    }
    (Text::from(g.as_ref()), None)
}

/// Whether `s` is ASCII words one space apart, with no space at either end: what
/// `split_whitespace` joined by single spaces would give back unchanged (it splits at the
/// vertical tab too, `\t..=\r`). `ingest::ids` borrows its normal form by the same test.
pub(crate) fn is_spaced_words(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_ascii()
        && b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && !b.iter().any(|c| (b'\t'..=b'\r').contains(c))
        && !b.windows(2).any(|w| w == b"  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_the_first_ten_slash_separated_pieces_trimmed() {
        // What `fields` gave when it split with `str::split('/')`.
        fn by_split(text: &str) -> [Option<&str>; FIELDS] {
            let t = trim(text);
            let t = t.strip_prefix('/').unwrap_or(t);
            let mut out = [None; FIELDS];
            for (slot, f) in out.iter_mut().zip(t.split('/')) {
                let f = trim(f);
                *slot = (!f.is_empty()).then_some(f);
            }
            out
        }
        for text in [
            "",
            "/",
            "//",
            "P",
            "/P/GBR/123456789/GBR/12JUL64/M/23AUG19/SMITH/JOHN/ROBERT",
            " /P/ GBR /123456789//12JUL64/M/23AUG19/SMITH/JOHN/ROBERT/ ",
            "/1/2/3/4/5/6/7/8/9/10/11/12",
            "/1/2/3/4/5/6/7/8/9/10",
            "/1/2/3/4/5/6/7/8/9/",
            "P/D/\u{c9}LODIE/STRA\u{df}E/\u{201c}Q\u{201d}/",
            "no slash at all",
        ] {
            assert_eq!(fields(text), by_split(text), "{text:?}");
        }
    }

    #[test]
    fn docs_fields_are_positional() {
        let d = parse_docs("/P/GBR/123456789/GBR/12JUL64/M/23AUG19/SMITHJR/JONATHON/ROBERT");
        assert_eq!(d.doc_type.as_deref(), Some("P"));
        assert_eq!(d.number.as_deref(), Some("123456789"));
        assert_eq!(d.nationality.as_deref(), Some("GBR"));
        assert_eq!(d.dob.as_deref(), Some("12JUL64"));
        assert_eq!(d.expiry.as_deref(), Some("23AUG19"));
        assert_eq!(d.given.as_deref(), Some("JONATHON"));
        assert_eq!(d.middle.as_deref(), Some("ROBERT"));
        // Fields after the tenth are not read; a short text leaves the rest empty.
        let d = parse_docs(" /P/GBR/1/GBR/12JUL64/M/23AUG19/SMITH/JOHN/ PAUL /EXTRA/MORE ");
        assert_eq!((d.middle.as_deref(), d.doc_type.as_deref()), (Some("PAUL"), Some("P")));
        assert_eq!(parse_docs("/P/GBR").number, None);
        assert_eq!(parse_doca("/R/USA").country.as_deref(), Some("USA"));
    }

    #[test]
    fn apis_lite_docs_keeps_empty_positions() {
        let d = parse_docs("/////05FEB53/F//DORON/NINA");
        assert_eq!(d.doc_type, None);
        assert_eq!(d.dob.as_deref(), Some("05FEB53"));
        assert_eq!(d.gender.as_deref(), Some("F"));
        assert_eq!(d.surname.as_deref(), Some("DORON"));
    }

    #[test]
    fn emails_decode_airimp_escapes() {
        assert_eq!(normalise_email("/MOLLY..LOBB//GMAIL.COM").as_deref(), Some("molly_lobb@gmail.com"));
        assert_eq!(
            normalise_email("USERNAME..//HOTMAIL.COM-1FIRSTNAMELASTNAME").as_deref(),
            Some("username_@hotmail.com")
        );
        assert_eq!(normalise_email("NOT AN EMAIL"), None);
        assert_eq!(normalise_email("JOSÉ..ÁLVAREZ//CORREO.ES").as_deref(), Some("josé_álvarez@correo.es"));
    }

    #[test]
    fn ascii_emails_are_rewritten_as_the_general_path_does() {
        for t in ["A///B", "A...B", "A./.B", "A/ /B..C", "A. .B//C", "X//Y\u{b}Z\tW", "..//..", "/", "AB", ""] {
            assert_eq!(ascii_email(t), unicode_email(t), "{t:?}");
        }
        // Longer than the bytes kept on the stack, around that length, and far past it.
        for n in [62, 63, 64, 65, 66, 200] {
            let head = "AB. C/".repeat(n / 6 + 1);
            let t = format!("{}//EXAMPLE..ORG", &head[..n]);
            assert_eq!(ascii_email(&t), unicode_email(&t), "{t:?}");
        }
    }

    #[test]
    fn long_phone_numbers_are_kept_whole() {
        let digits: String = (0..150).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
        assert_eq!(normalise_phone(&format!("+{digits} X")).as_deref(), Some(format!("+{digits}").as_str()));
        let spaced = format!("TEL {}", "12 34-".repeat(30));
        assert_eq!(normalise_phone(&spaced).map(|p| p.len()), Some(120));
    }

    #[test]
    fn phones_keep_digits_of_the_first_number() {
        assert_eq!(normalise_phone("SEA 866 746-4647 CARLSON WAGONLIT TVL").as_deref(), Some("8667464647"));
        assert_eq!(normalise_phone("/1800123456789-1LASTNAME/FIRSTNAME").as_deref(), Some("1800123456789"));
        assert_eq!(normalise_phone("+44 20 7946 0000").as_deref(), Some("+442079460000"));
        assert_eq!(normalise_phone("ABC"), None);
        assert_eq!(normalise_phone("TÉL +34 (91) 123-45.67 MADRID").as_deref(), Some("+34911234567"));
        assert_eq!(normalise_phone("TEL +34 (91) 123-45.67 MADRID").as_deref(), Some("+34911234567"));
        assert_eq!(normalise_phone("Nº 1234"), None);
    }

    #[test]
    fn ctc_lines_in_ift_become_contacts() {
        let c = parse_ctc_line("CTCE REUBEN..SERIO//GMAIL.COM").unwrap();
        assert_eq!((c.kind, c.value.as_str()), ("email", "reuben_serio@gmail.com"));
        let c = parse_ctc_line("AM CTCT BOG 571 600 5830 A").unwrap();
        assert_eq!((c.kind, c.value.as_str()), ("agency", "5716005830"));
        let c = parse_ctc_line("CTC 7732486972-U").unwrap();
        assert_eq!((c.kind, c.value.as_str()), ("phone", "7732486972"));
        assert_eq!(parse_ctc_line("THIS PASSENGER IS A VIP"), None);
    }

    #[test]
    fn titles_are_split_from_given_names() {
        assert_eq!(split_title("JOHNMR", None), ("JOHN".into(), Some("MR".into())));
        assert_eq!(split_title("ISABELLE MRS", None), ("ISABELLE".into(), Some("MRS".into())));
        assert_eq!(split_title("KONG CHUN MRS", None), ("KONG CHUN".into(), Some("MRS".into())));
        assert_eq!(split_title("ALEXANDR", None), ("ALEXANDR".into(), None));
        assert_eq!(split_title("WILLIAMS", Some("WILLIAMS")), ("WILLIAMS".into(), None));
        // Agents often glue the title in DOCS too: it is still a title.
        assert_eq!(split_title("CHARLESMR", Some("CHARLESMR")), ("CHARLES".into(), Some("MR".into())));
        assert_eq!(split_title("SOPHY", None), ("SOPHY".into(), None));
        // Words are taken one space apart whatever separates them, before titles are looked for.
        assert_eq!(split_title(" ANNA\tMARIA  MRS ", None), ("ANNA MARIA".into(), Some("MRS".into())));
        assert_eq!(split_title("ADAMS\u{a0}", Some("ADAMS")), ("ADAMS".into(), None));
        assert_eq!(split_title("ADAMS\u{a0}", None), ("ADA".into(), Some("MS".into())));
        assert_eq!(split_title("", None), ("".into(), None));
        assert!(is_spaced_words("ANNA MARIA") && is_spaced_words(""));
        assert!(!is_spaced_words("ANNA  MARIA") && !is_spaced_words(" ANNA") && !is_spaced_words("ANNA\u{b}"));
    }

    #[test]
    fn tkne_and_inft_and_fqtv() {
        let t = parse_tkne("INF1392178947000C3");
        assert_eq!(
            (t.ticket_number.as_deref(), t.coupon.as_deref(), t.infant),
            (Some("1392178947000"), Some("3"), true)
        );
        let i = parse_inft("BELT/SOPHY 20SEP12");
        assert_eq!(
            (i.surname.as_deref(), i.given.as_deref(), i.dob.as_deref()),
            (Some("BELT"), Some("SOPHY"), Some("20SEP12"))
        );
        let f = parse_fqtv("/DL1234567890-LASTNAME/FIRSTNAMEMI");
        assert_eq!((f.airline.as_deref(), f.number.as_deref()), (Some("DL"), Some("1234567890")));
    }
}
