//! The sensitive-data filter: SSR codes that reveal religion, health or ethnic origin.
//!
//! EU Directive 2016/681 Art. 13(4) forbids processing such data. The codes are data in the rule
//! pack (`rules/lists/sensitive_ssr.csv`), so a unit can extend the list without a release. An
//! SSR with such a code is dropped at ingest, and so is any free-text item (OSI, history line,
//! SSR free text) that mentions one of the codes as a word. Only counts per code are kept.

use std::collections::BTreeMap;
use std::path::Path;

use crate::reference::DataFileError;

/// The set of sensitive SSR codes.
#[derive(Debug, Clone, Default)]
pub struct SensitiveCodes {
    /// Each code (four ASCII letters, upper case) under its bytes read as a number, sorted by it:
    /// every SSR and every word of free text is looked up, and a binary search over a few numbers
    /// is cheaper than hashing a string (2-3% of ingest's samples went to the lookups).
    codes: Vec<(u32, String)>,
    /// For each first letter of a code (`b & 0x1F`, the same for both cases), a bit per second
    /// letter: a word whose first two letters begin no code is passed without a search. Nearly
    /// every word of free text is so.
    pairs: [u32; 32],
}

/// The number a four-byte code is looked up by.
fn key(code: [u8; 4]) -> u32 {
    u32::from_be_bytes(code)
}

impl SensitiveCodes {
    /// Reads the list (a CSV with a `code` column).
    pub fn load(path: &Path) -> Result<Self, DataFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataFileError::Io { path: path.into(), source })?;
        Self::parse(&text, path)
    }

    /// Parses the CSV text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, DataFileError> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let err = |line, message: String| DataFileError::Row { path: path.into(), line, message };
        let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
        let code_i =
            headers.iter().position(|h| h == "code").ok_or_else(|| err(1, "missing column \"code\"".into()))?;
        let mut codes = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.position().map(|p| p.line()).unwrap_or(0), e.to_string()))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let code = rec.get(code_i).unwrap_or("").trim().to_ascii_uppercase();
            if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(err(line, format!("SSR code {code:?} is not four letters")));
            }
            codes.push(code);
        }
        Ok(Self::from_upper(codes))
    }

    /// The set of these codes, already upper case. A code that is not four letters (which `parse`
    /// refuses) is left out: the scan of free text looks only at words that begin with two letters
    /// ([`SensitiveCodes::may_begin_code`]), so it could never find one, though a lookup of the SSR
    /// code would.
    fn from_upper(codes: impl IntoIterator<Item = String>) -> Self {
        let mut codes: Vec<(u32, String)> = codes
            .into_iter()
            .filter_map(|c| <[u8; 4]>::try_from(c.as_bytes()).ok().map(|b| (key(b), c)))
            .filter(|(k, _)| k.to_be_bytes().iter().all(u8::is_ascii_alphabetic))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let mut pairs = [0u32; 32];
        for (k, _) in &codes {
            let [a, b, ..] = k.to_be_bytes();
            pairs[usize::from(a & 0x1F)] |= 1 << (b & 0x1F);
        }
        SensitiveCodes { codes, pairs }
    }

    /// A list from codes, for tests and embedding.
    pub fn from_codes<'a>(codes: impl IntoIterator<Item = &'a str>) -> Self {
        Self::from_upper(codes.into_iter().map(|c| c.to_ascii_uppercase()))
    }

    /// Is `code` (an SSR code) sensitive?
    pub fn is_sensitive_code(&self, code: &str) -> bool {
        code.len() == 4 && self.code_at_head(code.as_bytes()).is_some()
    }

    /// The listed code that `word`'s first four characters spell in any case. Called for every
    /// SSR and every word of free text, so it upper-cases on the stack instead of allocating.
    fn code_at_head(&self, word: &[u8]) -> Option<&str> {
        let mut head = [0u8; 4];
        head.copy_from_slice(word.get(..4)?);
        head.make_ascii_uppercase();
        let i = self.codes.binary_search_by_key(&key(head), |(k, _)| *k).ok()?;
        Some(self.codes[i].1.as_str())
    }

    /// The first sensitive code that appears in `text` as a word, or glued to the front of an
    /// AIRIMP history token (`SSR MOMLSQHK1`). Returns the code.
    pub fn find_in_text(&self, text: &str) -> Option<&str> {
        // Split as bytes: the words are the same as between characters, since every byte of a
        // character beyond ASCII is a separator too.
        for word in text.as_bytes().split(|b| !b.is_ascii_alphanumeric()) {
            // A whole word, or a code followed by carrier+status as in history lines. Its first
            // two letters are tested against `pairs` before any search: nearly every word of
            // free text fails there (docs/performance.md, change 91).
            if (word.len() == 4 || word.len() >= 8)
                && self.may_begin_code(word[0], word[1])
                && let Some(c) = self.code_at_head(word)
                && (word.len() == 4 || word[4..].iter().any(|b| b.is_ascii_digit()))
            {
                return Some(c);
            }
        }
        None
    }

    /// Whether some code begins with the letters `a` and `b`, in any case (false for digits).
    fn may_begin_code(&self, a: u8, b: u8) -> bool {
        a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && self.pairs[usize::from(a & 0x1F)] & (1 << (b & 0x1F)) != 0
    }
}

/// Counts of dropped items per code. Never holds content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensitiveDrops {
    /// Drops per sensitive code.
    pub by_code: BTreeMap<String, u64>,
}

impl SensitiveDrops {
    /// Records one drop.
    pub fn record(&mut self, code: &str) {
        *self.by_code.entry(code.to_string()).or_default() += 1;
    }

    /// Total number of drops.
    pub fn total(&self) -> u64 {
        self.by_code.values().sum()
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &SensitiveDrops) {
        for (k, v) in &other.by_code {
            *self.by_code.entry(k.clone()).or_default() += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_as_words_and_in_history_tokens() {
        let s = SensitiveCodes::from_codes(["MOML", "WCHR"]);
        assert_eq!(s.find_in_text("PAX REQUESTS WCHR AT ARRIVAL"), Some("WCHR"));
        assert_eq!(s.find_in_text("0/O/SR/SSR MOMLSQHK1 SQ 602"), Some("MOML"));
        assert_eq!(s.find_in_text("MOMLAND IS A PLACE"), None);
        assert_eq!(s.find_in_text("NOTHING HERE"), None);
        assert_eq!(s.find_in_text("pax wants wchr; ssr momlsqhk1"), Some("WCHR"));
        assert_eq!(s.find_in_text("ssr momlsqhk1"), Some("MOML"));
        assert_eq!(s.find_in_text("WCHRX MOMLSQHK"), None);
        assert_eq!(s.find_in_text("WCH\u{e9}R"), None);
        assert_eq!(s.find_in_text("\u{e9}WCHR\u{e9}"), Some("WCHR"));
        assert_eq!(s.find_in_text("NO \u{201c}MOML\u{201d}"), Some("MOML"));
        assert!(s.is_sensitive_code("moml"));
        assert!(s.is_sensitive_code("Wchr"));
        assert!(!s.is_sensitive_code("WCH"));
        assert!(!s.is_sensitive_code("W\u{e9}HR"));
        // Listed in any case, twice, or with a code that is not four letters: the same set.
        let t = SensitiveCodes::from_codes(["wchr", "WCHR", "MOML", "TOOLONG", "WCH1", "1WCH"]);
        assert_eq!(t.codes, s.codes);
        assert_eq!(t.pairs, s.pairs);
    }

    /// The scan as first written: words split by `split`, every word of four or eight or more
    /// bytes searched for.
    fn find_by_search<'s>(s: &'s SensitiveCodes, text: &str) -> Option<&'s str> {
        text.as_bytes().split(|b| !b.is_ascii_alphanumeric()).find_map(|word| {
            ((word.len() == 4 || word.len() >= 8) && (word.len() == 4 || word[4..].iter().any(|b| b.is_ascii_digit())))
                .then(|| s.code_at_head(word))
                .flatten()
        })
    }

    #[test]
    fn the_scan_by_first_letters_finds_what_a_search_of_every_word_finds() {
        let list = include_str!("../../rules/lists/sensitive_ssr.csv");
        let s = SensitiveCodes::parse(list, Path::new("sensitive_ssr.csv")).unwrap();
        assert!(s.codes.len() > 20, "the bundled list");
        let codes: Vec<&str> = s.codes.iter().map(|(_, c)| c.as_str()).collect();
        // Each code, its neighbours by one letter (which share its first two letters, or not),
        // in both cases, alone, glued to a history token, and among other words and separators.
        let mut words: Vec<String> = Vec::new();
        for c in &codes {
            let b = c.as_bytes();
            for i in 0..4 {
                for d in [b'A', b'Z', b'0', b'@'] {
                    let mut w = b.to_vec();
                    w[i] = d;
                    words.push(String::from_utf8(w).unwrap());
                }
            }
            words.extend([c.to_string(), c.to_lowercase(), format!("{c}SQHK1"), format!("{c}SQHK"), format!("X{c}")]);
        }
        words.extend(["", "A", "AB", "ABC", "12345678", "DOCS", "\u{e9}", "WCH\u{e9}R"].map(String::from));
        let seps = [" ", "/", "\u{201c}", "-", "\u{e9}"];
        let mut texts = 0;
        for (i, a) in words.iter().enumerate() {
            let b = &words[(i * 7 + 3) % words.len()];
            let sep = seps[i % seps.len()];
            for text in [a.clone(), format!("{a}{sep}{b}"), format!("{b}{sep}{a}{sep}"), format!("{sep}{a}")] {
                assert_eq!(s.find_in_text(&text), find_by_search(&s, &text), "{text:?}");
                texts += 1;
            }
        }
        assert!(texts > 1000);
        // Every code is found alone in either case, so the letters' table left none out.
        for c in &codes {
            assert_eq!(s.find_in_text(c), Some(*c));
            assert_eq!(s.find_in_text(&c.to_lowercase()), Some(*c));
        }
        // No codes: nothing is found, whatever the text.
        assert_eq!(SensitiveCodes::default().find_in_text("WCHR MOML"), None);
    }
}
