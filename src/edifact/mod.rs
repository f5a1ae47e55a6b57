//! UN/EDIFACT syntax (ISO 9735): the lexer, character sets and the interchange envelope.
//! Nothing here knows about PNRs or passenger lists.

pub mod charset;
pub mod interchange;
pub mod lexer;

/// The arena a lexer can hold its segments' components in ([`lexer::Lexer::in_arena`]).
pub use bumpalo::Bump as Arena;

/// The most an arena reserves at once ([`arena_for`]): beyond it, it grows a chunk at a time.
const ARENA_FIRST_CHUNK: usize = 64 << 20;

/// An arena for the segments of `input`, with room reserved for their components: 24 bytes
/// each, about one per four to five bytes of input, so six times its length (up to
/// [`ARENA_FIRST_CHUNK`]; a larger input's arena grows as it needs). An arena that starts small
/// grows chunk by chunk, an allocation each time.
pub fn arena_for(input: &[u8]) -> Arena {
    Arena::with_capacity(input.len().saturating_mul(6).min(ARENA_FIRST_CHUNK))
}

/// The segments of one kind in one group of a message's tree (the PNRGOV and PAXLST grammars):
/// nearly always none, one or two, held inline in a vector's 24 bytes, so that starting a list
/// takes no allocation (docs/performance.md, change 90).
pub type Segs<'s, 'a> = smallvec::SmallVec<[&'s lexer::Segment<'a>; 2]>;

/// `str::trim`, the same result, quicker where the text's ends are ASCII (nearly every value):
/// `trim` decodes a character at each end before it tests it, and took 1.7% of the instructions
/// of `paxrisk ingest` over 200 files (callgrind), from the fields of nearly every segment.
#[inline]
pub fn trim(s: &str) -> &str {
    let t = s.trim_ascii();
    // `trim_ascii` leaves what `trim` also removes only where an end is not ASCII, or is the
    // vertical tab (Unicode white space, not ASCII white space).
    let plain = |b: Option<&u8>| b.is_none_or(|&b| b.is_ascii() && b != 0x0b);
    if plain(t.as_bytes().first()) && plain(t.as_bytes().last()) { t } else { t.trim() }
}

#[cfg(test)]
mod tests {
    use super::{ARENA_FIRST_CHUNK, arena_for, trim};

    #[test]
    fn an_arena_reserves_six_times_its_input_up_to_its_first_chunk() {
        let small = arena_for(&[b'A'; 1000]);
        assert!((6000..2 * 6000).contains(&small.allocated_bytes()), "{}", small.allocated_bytes());
        let large = arena_for(&vec![b'A'; ARENA_FIRST_CHUNK]);
        let reserved = large.allocated_bytes();
        assert!((ARENA_FIRST_CHUNK..2 * ARENA_FIRST_CHUNK).contains(&reserved), "{reserved}");
    }

    #[test]
    fn trim_gives_what_str_trim_gives() {
        let ends = ["", " ", "\t", "\r\n", "\x0b", "\x0c", "\u{a0}", "\u{2003}", " \u{a0} ", "\x0b ", "é", "\x1f"];
        let middles = ["", "A", "AB C", " ", "\x0b", "é", "\u{a0}", "X\u{a0}Y"];
        for front in ends {
            for middle in middles {
                for back in ends {
                    let s = format!("{front}{middle}{back}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                }
            }
        }
    }
}
