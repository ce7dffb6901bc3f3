//! The dictionary: characters with their readings and words with their frequencies, parsed from
//! the text that `tools/pinyin-dict` writes (see `src/pinyin/README.md`).

use std::collections::HashMap;

use super::syllables::{Kind, Piece, is_syllable};

/// Longest word kept, in characters (and syllables).
pub const MAX_WORD: usize = 6;
/// How many readings of a word with heteronyms are kept (the first is the usual one).
const MAX_READINGS: usize = 8;
/// A reading other than a character's usual one counts this much less.
const OTHER_READING: u64 = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DictError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: &'static str },
    #[error("the dictionary has no characters")]
    Empty,
}

/// A slice of the dictionary's text arena.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// One dictionary entry under one reading: 20 bytes, no allocation of its own (the text and
/// the reading live in one arena), so that the 150,000 entries of the embedded dictionary
/// cost a few MiB, not the tens a `String` per entry would.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    text: Span,
    /// The syllables, space-separated.
    reading: Span,
    freq: u32,
}

/// Words and characters by reading. Built once; lookups never fail.
pub struct Dictionary {
    /// Every entry's text and reading, one after the other.
    arena: String,
    /// Most frequent first.
    entries: Vec<Entry>,
    /// (the first letters of an entry's syllables ("zjg") packed by [`initials_key`], the
    /// entry's index), sorted: an entry's rank breaks ties, so each key's entries come most
    /// frequent first.
    by_initials: Vec<(u32, u32)>,
    chars: usize,
    words: usize,
}

impl std::fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dictionary")
            .field("chars", &self.chars)
            .field("words", &self.words)
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// A dictionary entry that matches the typed syllables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'d> {
    pub text: &'d str,
    pub reading: &'d str,
    pub freq: u64,
}

impl Dictionary {
    /// Parses the dictionary text: `character<TAB>readings<TAB>frequency` lines, then after
    /// `%words`, `word<TAB>frequency` lines; `#` lines are comments. Readings that are not
    /// pinyin syllables, and words with a character that has no reading, are left out.
    pub fn parse(text: &str) -> Result<Dictionary, DictError> {
        let mut readings: HashMap<char, Vec<(&str, u64)>> = HashMap::new();
        // The arena holds less than the text: each word once, its readings a little more.
        let mut arena = String::with_capacity(text.len() + text.len() / 2);
        // The embedded dictionary has about 2.1 entries per line (heteronyms): room for them
        // at once, rather than doubling into twice the memory on the way.
        let mut entries: Vec<Entry> = Vec::with_capacity(text.lines().count() * 9 / 4);
        let mut in_words = false;
        let mut words = 0;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let bad = |reason| DictError::Line {
                line: line_no,
                reason,
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "%words" {
                in_words = true;
                continue;
            }
            let mut cols = line.split('\t');
            let text = cols.next().unwrap_or_default();
            if in_words {
                let freq = parse_freq(cols.next()).ok_or(bad("no frequency"))?;
                let n = text.chars().count();
                if !(2..=MAX_WORD).contains(&n) {
                    continue;
                }
                // Every character's readings, or none if one has no reading.
                let Some(lists) = text
                    .chars()
                    .map(|c| readings.get(&c).map(Vec::as_slice))
                    .collect::<Option<Vec<_>>>()
                else {
                    continue;
                };
                words += 1;
                let text = push(&mut arena, text);
                // The combinations of the readings in order, the usual ones first (an odometer
                // over the reading indices, the last character turning fastest), written
                // straight into the arena: no string per combination.
                let mut at = [0usize; MAX_WORD];
                for _ in 0..MAX_READINGS {
                    let start = arena.len();
                    let mut f = freq;
                    for (j, list) in lists.iter().enumerate() {
                        if j > 0 {
                            arena.push(' ');
                        }
                        let (r, _) = list[at[j]];
                        arena.push_str(r);
                        // Other readings count less: pinyin-data lists odd readings too (its
                        // first is not always the usual one either: 长).
                        if at[j] > 0 {
                            f /= OTHER_READING;
                        }
                    }
                    entries.push(Entry {
                        text,
                        reading: span(start, arena.len()),
                        freq: u32::try_from(f).unwrap_or(u32::MAX),
                    });
                    // The next combination, or the end.
                    let mut j = lists.len();
                    loop {
                        if j == 0 {
                            break;
                        }
                        j -= 1;
                        at[j] += 1;
                        if at[j] < lists[j].len() {
                            break;
                        }
                        at[j] = 0;
                    }
                    if at[..lists.len()].iter().all(|&k| k == 0) {
                        break;
                    }
                }
            } else {
                let mut chars = text.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return Err(bad("not one character"));
                };
                let rs = cols.next().ok_or(bad("no readings"))?;
                let freq = parse_freq(cols.next()).ok_or(bad("no frequency"))?;
                let several = rs.contains(',');
                let list: Vec<(&str, u64)> = rs
                    .split(',')
                    .map(|r| match r {
                        "lve" => "lue",
                        "nve" => "nue",
                        other => other,
                    })
                    .filter(|r| is_syllable(r))
                    .enumerate()
                    .map(|(k, r)| {
                        // A character with several readings shares its count among them.
                        let f = match (several, k) {
                            (false, _) => freq,
                            (true, 0) => freq / 2,
                            (true, _) => freq / (2 * OTHER_READING),
                        };
                        (r, f.max(1))
                    })
                    .collect();
                if list.is_empty() {
                    continue;
                }
                let text = push(&mut arena, text);
                for (r, f) in &list {
                    let reading = push(&mut arena, r);
                    entries.push(Entry {
                        text,
                        reading,
                        freq: u32::try_from(*f).unwrap_or(u32::MAX),
                    });
                }
                readings.insert(c, list);
            }
        }
        if readings.is_empty() {
            return Err(DictError::Empty);
        }
        let at = |span: Span| slice(&arena, span);
        // In place (no buffer the size of the entries); the reading breaks the last ties so
        // that duplicates meet.
        entries.sort_unstable_by(|a, b| {
            b.freq
                .cmp(&a.freq)
                .then_with(|| at(a.text).cmp(at(b.text)))
                .then_with(|| at(a.reading).cmp(at(b.reading)))
        });
        entries.dedup_by(|a, b| at(a.text) == at(b.text) && at(a.reading) == at(b.reading));
        let mut by_initials: Vec<(u32, u32)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let key = initials_key(at(e.reading).split(' ').filter_map(|s| s.chars().next()))?;
                Some((key, u32::try_from(i).ok()?))
            })
            .collect();
        by_initials.sort_unstable();
        arena.shrink_to_fit();
        entries.shrink_to_fit();
        by_initials.shrink_to_fit();
        Ok(Dictionary {
            chars: readings.len(),
            words,
            arena,
            entries,
            by_initials,
        })
    }

    /// How many characters and words the dictionary holds.
    pub fn size(&self) -> (usize, usize) {
        (self.chars, self.words)
    }

    /// The entries whose syllables match `pieces` of `input` one for one (a whole syllable
    /// exactly, a partial one as the beginning of a syllable), most frequent first, at most
    /// `limit`.
    pub fn lookup<'d>(&'d self, input: &str, pieces: &[Piece], limit: usize) -> Vec<Match<'d>> {
        if pieces.is_empty() || pieces.len() > MAX_WORD {
            return Vec::new();
        }
        let mut key = String::new();
        let mut typed: Vec<(&str, Kind)> = Vec::new();
        for p in pieces {
            let Some(s) = input.get(p.start..p.end) else {
                return Vec::new();
            };
            if p.kind == Kind::Junk {
                return Vec::new();
            }
            let Some(first) = s.chars().next() else {
                return Vec::new();
            };
            key.push(first);
            typed.push((s, p.kind));
        }
        let Some(key) = initials_key(key.chars()) else {
            return Vec::new();
        };
        let from = self.by_initials.partition_point(|&(k, _)| k < key);
        self.by_initials[from..]
            .iter()
            .take_while(|&&(k, _)| k == key)
            .filter_map(|&(_, i)| self.entries.get(i as usize))
            .filter(|e| {
                slice(&self.arena, e.reading)
                    .split(' ')
                    .zip(&typed)
                    .all(|(syl, (t, kind))| match kind {
                        Kind::Full => syl == *t,
                        _ => syl.starts_with(t),
                    })
            })
            .take(limit)
            .map(|e| Match {
                text: slice(&self.arena, e.text),
                reading: slice(&self.arena, e.reading),
                freq: u64::from(e.freq),
            })
            .collect()
    }
}

/// `s` appended to the arena.
fn push(arena: &mut String, s: &str) -> Span {
    let start = arena.len();
    arena.push_str(s);
    span(start, arena.len())
}

/// A span of the arena; the embedded dictionary's arena is a few MiB, and one past 4 GiB
/// would give empty spans rather than wrap.
fn span(start: usize, end: usize) -> Span {
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

fn slice(arena: &str, span: Span) -> &str {
    arena
        .get(span.start as usize..span.end as usize)
        .unwrap_or_default()
}

/// The first letters of up to [`MAX_WORD`] syllables packed into one number (base 27, `a` = 1,
/// so that "z" and "az" differ); `None` for anything else.
fn initials_key(initials: impl Iterator<Item = char>) -> Option<u32> {
    let mut key = 0u32;
    for (n, c) in initials.enumerate() {
        if n >= MAX_WORD || !c.is_ascii_lowercase() {
            return None;
        }
        key = key * 27 + (c as u32 - 'a' as u32 + 1);
    }
    Some(key)
}

fn parse_freq(s: Option<&str>) -> Option<u64> {
    s?.trim().parse().ok()
}
