//! Character sets that UNB declares, and decoding of component bytes into text.
//!
//! ISO 9735 level A/B/C syntax identifiers (UNOA, UNOB, UNOC) are single-byte Latin-1 here:
//! UNOA/UNOB are subsets of it. UNOY and the PADIS `IATA` identifier are read as UTF-8, which is
//! what airline systems that send non-ASCII actually emit.

use std::borrow::Cow;

/// How component bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8; invalid sequences fall back to Latin-1.
    Utf8,
    /// ISO 8859-1; bytes that form valid multi-byte UTF-8 are read as UTF-8 instead, because a
    /// mislabelled UTF-8 feed is far more common than Latin-1 text that happens to be valid UTF-8.
    Latin1,
}

impl Charset {
    /// The character set for a UNB syntax identifier (element 1, component 1), or `None` when it
    /// is not one we know.
    pub fn from_syntax_id(id: &str) -> Option<Charset> {
        match id.trim().to_ascii_uppercase().as_str() {
            "UNOA" | "UNOB" | "UNOC" => Some(Charset::Latin1),
            "UNOY" | "UNOW" | "IATA" | "IATB" => Some(Charset::Utf8),
            _ => None,
        }
    }

    /// Decodes `bytes`. The flag is true when the bytes did not fit the declared set and the other
    /// one was used, so the caller can report it once.
    pub fn decode(self, bytes: Cow<'_, [u8]>) -> (Cow<'_, str>, bool) {
        if bytes.is_ascii() {
            // ASCII is the same in every set we support: no copy, no check.
            // SAFETY: just checked.
            return (unsafe { ascii_unchecked(bytes) }, false);
        }
        match self {
            Charset::Utf8 => match bytes {
                Cow::Borrowed(b) => match std::str::from_utf8(b) {
                    Ok(s) => (Cow::Borrowed(s), false),
                    Err(_) => (Cow::Owned(latin1(b)), true),
                },
                Cow::Owned(v) => match String::from_utf8(v) {
                    Ok(s) => (Cow::Owned(s), false),
                    Err(e) => (Cow::Owned(latin1(e.as_bytes())), true),
                },
            },
            Charset::Latin1 => match std::str::from_utf8(&bytes) {
                Ok(s) => (Cow::Owned(s.to_string()), true),
                Err(_) => (Cow::Owned(latin1(&bytes)), false),
            },
        }
    }
}

/// `bytes` as text without a second pass over them: the text of every character set for ASCII
/// bytes.
///
/// # Safety
/// Every byte of `bytes` must be ASCII (below 0x80).
unsafe fn ascii_unchecked(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    debug_assert!(bytes.is_ascii());
    match bytes {
        // SAFETY: every byte is below 0x80 (the caller's contract), and ASCII is valid UTF-8.
        Cow::Borrowed(b) => Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(b) }),
        // SAFETY: as above.
        Cow::Owned(v) => Cow::Owned(unsafe { String::from_utf8_unchecked(v) }),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_bytes_decode_to_their_code_points() {
        let (s, fb) = Charset::Latin1.decode(Cow::Borrowed(b"M\xdcLLER"));
        assert_eq!(s, "MÜLLER");
        assert!(!fb);
    }

    #[test]
    fn utf8_declared_but_latin1_bytes_fall_back() {
        let (s, fb) = Charset::Utf8.decode(Cow::Borrowed(b"M\xdcLLER"));
        assert_eq!(s, "MÜLLER");
        assert!(fb);
    }

    #[test]
    fn latin1_declared_but_utf8_bytes_are_read_as_utf8() {
        let (s, fb) = Charset::Latin1.decode(Cow::Borrowed("MÜLLER".as_bytes()));
        assert_eq!(s, "MÜLLER");
        assert!(fb);
    }

    #[test]
    fn syntax_identifiers_map_to_charsets() {
        assert_eq!(Charset::from_syntax_id("UNOC"), Some(Charset::Latin1));
        assert_eq!(Charset::from_syntax_id("IATA"), Some(Charset::Utf8));
        assert_eq!(Charset::from_syntax_id("UNOY"), Some(Charset::Utf8));
        assert_eq!(Charset::from_syntax_id("XXXX"), None);
    }
}
