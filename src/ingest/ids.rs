//! Stable keys: how `push_id`, `pnr_id`, `traveller_id` and `api_traveller_id` are derived.
//!
//! The keys are deterministic functions of what the airline sent, so that every push version of a
//! PNR, every run, the generator's labels and an auditor's notes can join on them.
//!
//! * `pnr_id` = `P` + the first 16 hex digits of SHA-256 over
//!   `"pnr" 0x1F carrier 0x1F record_locator 0x1F creation_date`, where carrier and locator are
//!   the first RCI composite's company and locator, upper-cased and trimmed, and creation date is
//!   `YYYY-MM-DD` from RCI c4. **Fallback:** when the feed leaves out the creation date, the
//!   literal `nodate` is used instead. Record locators are recycled by reservation systems after
//!   some months, so two different PNRs without a creation date that share carrier and locator
//!   get the same id; the `pnr` table keeps `created_at_utc` NULL so that such rows can be found.
//! * `traveller_id` = `T` + 16 hex of SHA-256 over
//!   `"traveller" 0x1F pnr_id 0x1F surname 0x1F given_name 0x1F traveller_ref`, with surname and
//!   given name upper-cased, whitespace collapsed, and the title removed from the given name
//!   (`JOHNMR` and `JOHN MR` give the same id); a missing part is the empty string.
//!   **Namesakes:** when a later traveller of the same PNR would get an earlier one's id (same
//!   name, same or no reference), its `traveller_ref` part is `#` + its 1-based TIF position
//!   instead, with a `TRAVELLER_ID_CLASH` warning.
//! * `api_traveller_id` = `A` + 16 hex of SHA-256 over `"api" 0x1F carrier 0x1F number 0x1F
//!   dep_date 0x1F surname 0x1F given_name 0x1F date_of_birth 0x1F doc_number` of a PAXLST
//!   person, each trimmed and upper-cased.
//! * `push_id` = `M` + 16 hex of SHA-256 over the raw bytes of the message (UNH to UNT) and, for
//!   a multi-part push, of each part in sequence. Resending the same message gives the same id.

use sha2::{Digest, Sha256};

use crate::landing::schema::Text;

const SEP: &[u8] = &[0x1f];

fn short_hash(prefix: char, parts: &[&[u8]]) -> Text {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(SEP);
        }
        h.update(p);
    }
    let digest = h.finalize();
    // Built on the stack: an id is 17 bytes, held inline by `Text`.
    let mut id = [0u8; 17];
    debug_assert!(prefix.is_ascii(), "id prefixes are ASCII letters");
    id[0] = prefix as u8;
    if let Err(e) = hex::encode_to_slice(&digest[..8], &mut id[1..]) {
        unreachable!("8 bytes are 16 hex digits: {e}");
    }
    match std::str::from_utf8(&id) {
        Ok(id) => Text::from(id),
        Err(e) => unreachable!("an ASCII prefix and hex digits are UTF-8: {e}"),
    }
}

/// Whitespace runs as one space, no space at either end, upper case. Text that is already so
/// (nearly every name and locator) is borrowed, not copied.
fn norm(s: &str) -> std::borrow::Cow<'_, str> {
    if crate::pnrgov::freetext::is_spaced_words(s) && !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase())
}

/// `YYYY-MM-DD` of a date, as chrono writes it (`to_string`). Dates of the years 0 to 9999 (all
/// but a broken feed's) are written by hand on the stack, into text held inline: chrono's
/// `format` parses its pattern on every call, `format!` took about 1,300 instructions and
/// `to_string` about 800 (callgrind, docs/performance.md, change 85).
pub fn iso_date(d: chrono::NaiveDate) -> Text {
    use chrono::Datelike;
    if !(0..=9999).contains(&d.year()) {
        return Text::from(d.to_string());
    }
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (y, m, day) = (d.year() as u32, d.month(), d.day());
    let ymd = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    match std::str::from_utf8(&ymd) {
        Ok(s) => Text::from(s),
        Err(e) => unreachable!("digits and dashes are UTF-8: {e}"),
    }
}

/// The `pnr_id` for a carrier, record locator and creation date (`None` when not sent).
pub fn pnr_id(carrier: &str, record_locator: &str, created: Option<chrono::NaiveDate>) -> Text {
    // `iso_date` writes what chrono's `format("%Y-%m-%d")` did here, signed years included.
    let date = created.map_or(Text::const_new("nodate"), iso_date);
    short_hash('P', &[b"pnr", norm(carrier).as_bytes(), norm(record_locator).as_bytes(), date.as_bytes()])
}

/// The `api_traveller_id` of a person in a PAXLST message, from the flight and the person's
/// identifying fields (carrier, number, departure date, surname, given name, date of birth,
/// document number), each trimmed and upper-cased.
pub fn api_traveller_id(parts: &[&str]) -> Text {
    // Borrowed when already upper case (nearly always): a `String` per part was most of the
    // function's instructions besides the hash.
    let upper: Vec<std::borrow::Cow<'_, str>> = parts
        .iter()
        .map(|p| {
            let p = p.trim();
            if p.bytes().all(|b| b.is_ascii() && !b.is_ascii_lowercase()) { p.into() } else { p.to_uppercase().into() }
        })
        .collect();
    let mut hashed: Vec<&[u8]> = Vec::with_capacity(upper.len() + 1);
    hashed.push(b"api");
    hashed.extend(upper.iter().map(|p| p.as_bytes()));
    short_hash('A', &hashed)
}

/// The `traveller_id` for a traveller of `pnr_id`; `given_name` must already have its title
/// removed (see `pnrgov::freetext::split_title`).
pub fn traveller_id(pnr_id: &str, surname: &str, given_name: &str, traveller_ref: &str) -> Text {
    short_hash(
        'T',
        &[
            b"traveller",
            pnr_id.as_bytes(),
            norm(surname).as_bytes(),
            norm(given_name).as_bytes(),
            traveller_ref.trim().as_bytes(),
        ],
    )
}

/// The `push_id` for the raw bytes of a message's parts, in order.
pub fn push_id<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    format!("M{}", hex::encode(&h.finalize()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_are_what_chrono_writes() {
        use chrono::NaiveDate;
        let mut days = vec![NaiveDate::MIN, NaiveDate::MAX];
        let mut d = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        while d < NaiveDate::from_ymd_opt(2101, 1, 7).unwrap() {
            days.push(d);
            d = d.succ_opt().unwrap();
        }
        days.extend(
            [(-1, 12, 31), (0, 1, 1), (7, 8, 9), (999, 10, 11), (9999, 12, 31), (10_000, 1, 1)]
                .map(|(y, m, day)| NaiveDate::from_ymd_opt(y, m, day).unwrap()),
        );
        for d in days {
            assert_eq!(iso_date(d), d.to_string());
        }
        // A creation date out of chrono's four-digit range still gives its `format` in the id.
        for far in [NaiveDate::from_ymd_opt(12_345, 6, 7).unwrap(), NaiveDate::from_ymd_opt(-44, 3, 15).unwrap()] {
            let expected = short_hash('P', &[b"pnr", b"LH", b"ABC123", far.format("%Y-%m-%d").to_string().as_bytes()]);
            assert_eq!(pnr_id("LH", "ABC123", Some(far)), expected, "{far}");
        }
    }

    #[test]
    fn api_traveller_ids_hash_api_then_each_part_after_a_separator() {
        let parts = ["ua", "0989", "2026-12-03", " Doe ", "John", "1980-01-02", "X123"];
        let mut h = Sha256::new();
        h.update(b"api");
        for p in parts {
            h.update([0x1f]);
            h.update(p.trim().to_uppercase().as_bytes());
        }
        let expected = format!("A{}", hex::encode(&h.finalize()[..8]));
        assert_eq!(api_traveller_id(&parts), expected.as_str());
        assert_eq!(
            api_traveller_id(&parts),
            api_traveller_id(&["UA", "0989", "2026-12-03", "DOE", "JOHN", "1980-01-02", "x123"])
        );
        // Beyond ASCII, upper case is Unicode's: "straße" is "STRASSE".
        assert_eq!(
            api_traveller_id(&["LH", "1", "D", "Straße", "Zoë"]),
            api_traveller_id(&["LH", "1", "D", "STRASSE", "ZOË"])
        );
        assert_ne!(
            api_traveller_id(&["LH", "1", "D", "STRASSE", "ZOË"]),
            api_traveller_id(&["LH", "1", "D", "STRASSE", "ZOE"])
        );
    }

    #[test]
    fn pnr_ids_hash_the_creation_date_as_yyyy_mm_dd() {
        let expected = |date: &str| {
            let mut h = Sha256::new();
            for (i, part) in ["pnr", "1A", "2LS6KP", date].iter().enumerate() {
                if i > 0 {
                    h.update([0x1f]);
                }
                h.update(part.as_bytes());
            }
            format!("P{}", hex::encode(&h.finalize()[..8]))
        };
        for (y, m, d, text) in [
            (2013, 5, 20, "2013-05-20"),
            (2026, 12, 1, "2026-12-01"),
            (7, 1, 9, "0007-01-09"),
            (1, 1, 2, "0001-01-02"),
            (999, 1, 2, "0999-01-02"),
            (9999, 12, 31, "9999-12-31"),
        ] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d);
            assert_eq!(pnr_id("1A", "2LS6KP", date), expected(text).as_str(), "{text}");
        }
        let far = chrono::NaiveDate::from_ymd_opt(12345, 6, 7);
        assert_eq!(pnr_id("1A", "2LS6KP", far), expected("+12345-06-07").as_str());
        assert_eq!(pnr_id("1A", "2LS6KP", None), expected("nodate").as_str());
    }

    #[test]
    fn ids_ignore_case_and_spacing() {
        let d = chrono::NaiveDate::from_ymd_opt(2013, 5, 20);
        assert_eq!(pnr_id("1A", "2LS6KP", d), pnr_id(" 1a", "2ls6kp ", d));
        assert_ne!(pnr_id("1A", "2LS6KP", d), pnr_id("1A", "2LS6KP", None));
        let p = pnr_id("1A", "2LS6KP", d);
        assert_eq!(traveller_id(&p, "PARK", "SEJOON", "1"), traveller_id(&p, "park", " SEJOON ", "1"));
        assert_eq!(p.len(), 17);
        assert!(p.starts_with('P'));
    }

    #[test]
    fn normalising_borrows_only_text_that_is_already_normal() {
        let slow = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase();
        for s in [
            "",
            " ",
            "SMITH",
            "VAN DER BERG",
            "van der berg",
            " SMITH",
            "SMITH ",
            "VAN  DER",
            "A\tB",
            "A\nB",
            "MÜLLER",
            "müller",
            "O'NEIL-SMITH",
            "Ǆ",
            "A\u{a0}B",
            "A\u{b}B",
            "2LS6KP",
            "1A",
        ] {
            let n = norm(s);
            assert_eq!(n, slow(s), "{s:?}");
            // ASCII text already in normal form is borrowed; anything else is normalised.
            assert_eq!(matches!(n, std::borrow::Cow::Borrowed(_)), s.is_ascii() && n == s, "{s:?}");
        }
    }
}
