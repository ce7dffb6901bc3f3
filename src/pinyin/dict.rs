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

/// One dictionary entry under one reading.
#[derive(Clone, PartialEq, Eq)]
struct Entry {
    text: Box<str>,
    /// The syllables, space-separated.
    reading: Box<str>,
    freq: u64,
}

/// Words and characters by reading. Built once; lookups never fail.
pub struct Dictionary {
    entries: Vec<Entry>,
    /// The first letters of an entry's syllables ("zjg") → entries, most frequent first.
    by_initials: HashMap<Box<str>, Vec<u32>>,
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
        let mut entries: Vec<Entry> = Vec::new();
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
                // Every combination of the characters' readings, the usual one first.
                let mut combos: Vec<(String, u64)> = vec![(String::new(), freq)];
                for c in text.chars() {
                    let Some(rs) = readings.get(&c) else {
                        combos.clear();
                        break;
                    };
                    let mut next = Vec::new();
                    for (prefix, f) in &combos {
                        for (k, (r, _)) in rs.iter().enumerate() {
                            if next.len() >= MAX_READINGS {
                                break;
                            }
                            let mut s = prefix.clone();
                            if !s.is_empty() {
                                s.push(' ');
                            }
                            s.push_str(r);
                            // Other readings count less: pinyin-data lists odd readings
                            // too (its first is not always the usual one either: 长).
                            next.push((s, if k == 0 { *f } else { *f / OTHER_READING }));
                        }
                    }
                    combos = next;
                }
                if !combos.is_empty() {
                    words += 1;
                }
                for (reading, freq) in combos {
                    entries.push(Entry {
                        text: text.into(),
                        reading: reading.into(),
                        freq,
                    });
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
                for (r, f) in &list {
                    entries.push(Entry {
                        text: c.to_string().into(),
                        reading: (*r).into(),
                        freq: *f,
                    });
                }
                readings.insert(c, list);
            }
        }
        if readings.is_empty() {
            return Err(DictError::Empty);
        }
        entries.sort_by(|a, b| b.freq.cmp(&a.freq).then_with(|| a.text.cmp(&b.text)));
        entries.dedup_by(|a, b| a.text == b.text && a.reading == b.reading);
        let mut by_initials: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let key: String = e
                .reading
                .split(' ')
                .filter_map(|s| s.chars().next())
                .collect();
            by_initials.entry(key.into()).or_default().push(i as u32);
        }
        Ok(Dictionary {
            chars: readings.len(),
            words,
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
        let Some(ids) = self.by_initials.get(key.as_str()) else {
            return Vec::new();
        };
        ids.iter()
            .filter_map(|&i| self.entries.get(i as usize))
            .filter(|e| {
                e.reading
                    .split(' ')
                    .zip(&typed)
                    .all(|(syl, (t, kind))| match kind {
                        Kind::Full => syl == *t,
                        _ => syl.starts_with(t),
                    })
            })
            .take(limit)
            .map(|e| Match {
                text: &e.text,
                reading: &e.reading,
                freq: e.freq,
            })
            .collect()
    }
}

fn parse_freq(s: Option<&str>) -> Option<u64> {
    s?.trim().parse().ok()
}
