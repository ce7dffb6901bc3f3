//! Pinyin input for the on-screen keyboard: typed Latin letters become Chinese characters.
//!
//! Slint's linuxkms backend has no input method, so the kiosk has its own. Pure code, no UI and
//! no IO: [`syllables`] reads the letters as syllables (`xian` one, `xi'an` two, `zjg` three
//! initials, `zhangj` two syllables of which the last is still being typed); [`dict`] finds the
//! words and characters that sound so, from the dictionary that ships inside the kiosk
//! (`dict.tsv`, see `README.md` here for its sources and how it is made); [`Composer`] holds
//! what was typed and chosen.
//!
//! Candidates come in this order: words that cover everything typed, then words for the
//! beginning of it (longest first), then single characters; within each, the most frequent
//! first. Readings with an extra syllable (`xi'an` for `xian`) mix in weighted down; readings
//! that break a whole syllable (`zhan'g` for `zhang`) come last. Choosing one commits its characters and consumes the syllables it stands for; the
//! letters after them stay in composition.

pub mod dict;
pub mod syllables;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use zeroize::Zeroize;

pub use dict::{DictError, Dictionary};
use syllables::segment;

/// The dictionary text, built by `scripts/pinyin-dict`.
pub const DICT_TSV: &str = include_str!("dict.tsv");

/// At most this many letters in composition: more than any name or word needs.
pub const MAX_LETTERS: usize = 48;
/// At most this many candidates are offered for one composition.
const MAX_CANDIDATES: usize = 300;
/// How many dictionary matches are looked at per reading and length.
const PER_LOOKUP: usize = 120;

/// The dictionary inside the kiosk, parsed on first use.
pub fn embedded() -> Result<&'static Dictionary, &'static DictError> {
    static DICT: OnceLock<Result<Dictionary, DictError>> = OnceLock::new();
    DICT.get_or_init(|| {
        let started = std::time::Instant::now();
        let d = Dictionary::parse(DICT_TSV);
        if let Ok(d) = &d {
            let (chars, words) = d.size();
            tracing::info!(
                chars,
                words,
                ms = started.elapsed().as_millis() as u64,
                "pinyin dictionary loaded"
            );
        }
        d
    })
    .as_ref()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("only the letters a to z, an apostrophe and digits can be typed")]
    NotALetter,
    #[error("the composition is full")]
    CompositionFull,
    #[error("the text is full")]
    TextFull,
    #[error("there is no candidate {0} on this page")]
    NoSuchCandidate(usize),
}

/// A word or character offered for the letters in composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub text: String,
    /// How many bytes of the composition it stands for.
    consumed: usize,
}

/// The candidates for `letters`, best first (see the module's documentation).
pub fn candidates(dict: &Dictionary, letters: &str) -> Vec<Candidate> {
    let segs = segment(letters);
    let Some(best_cost) = segs.first().map(|s| s.cost) else {
        return Vec::new();
    };
    // (tier, syllables, score, order, candidate)
    let mut found: Vec<(u8, usize, u64, usize, Candidate)> = Vec::new();
    for seg in &segs {
        // A reading with one more syllable than the best (xi'an for xian) joins the tiers;
        // readings further off (zhan'g for zhang) come last, weighted down.
        let extra = seg.cost - best_cost;
        if extra > 0 && seg.pieces.iter().any(|p| p.kind == syllables::Kind::Junk) {
            continue;
        }
        let near = extra <= 10;
        let penalty = if near {
            1
        } else {
            4u64.pow(extra.div_ceil(10).min(8))
        };
        let n = seg.pieces.len();
        for k in (1..=n.min(dict::MAX_WORD)).rev() {
            // Another reading's whole-input words join the first tier (西安 for xian); its
            // shorter words and characters come after the best reading's.
            let tier = match (near, k) {
                (true, k) if k == n => 0,
                (true, k) if extra == 0 && k >= 2 => 1,
                (true, _) if extra == 0 => 2,
                _ => 3,
            };
            let consumed = seg.pieces[k - 1].end;
            for m in dict.lookup(letters, &seg.pieces[..k], PER_LOOKUP) {
                let order = found.len();
                found.push((
                    tier,
                    k,
                    m.freq / penalty,
                    order,
                    Candidate {
                        text: m.text.to_string(),
                        consumed,
                    },
                ));
            }
        }
    }
    found.sort_by(|a, b| {
        // Prefixes standing for more letters first; the whole-input tier by frequency alone.
        let len = |x: &(u8, usize, u64, usize, Candidate)| {
            if x.0 == 0 { 0 } else { x.4.consumed }
        };
        a.0.cmp(&b.0)
            .then_with(|| len(b).cmp(&len(a)))
            .then_with(|| b.2.cmp(&a.2))
            .then_with(|| a.3.cmp(&b.3))
    });
    let mut out: Vec<Candidate> = Vec::new();
    for (_, _, _, _, c) in found {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        if !out.iter().any(|o| o.text == c.text) {
            out.push(c);
        }
    }
    out
}

/// The letters as syllables, for showing: `zhangjianguo` → `zhang jian guo`.
pub fn spaced(letters: &str) -> String {
    let segs = segment(letters);
    let Some(best) = segs.first() else {
        return letters.to_string();
    };
    let mut out = String::new();
    let mut last = 0;
    for p in &best.pieces {
        let Some(s) = letters.get(p.start..p.end) else {
            continue;
        };
        if !out.is_empty() {
            // Keep a junk run together ("vvv"), separate everything else.
            let joined = p.kind == syllables::Kind::Junk && last == p.start;
            if !joined || !out.ends_with(|c: char| c.is_ascii_lowercase()) {
                out.push(' ');
            }
        }
        out.push_str(s);
        last = p.end;
    }
    out
}

/// The text being typed: characters already chosen, letters in composition, their candidates.
/// It may hold a person's name: both are wiped when it is cleared or dropped.
pub struct Composer {
    dict: &'static Dictionary,
    committed: String,
    letters: String,
    candidates: Vec<Candidate>,
    /// Where each page of candidates starts.
    page_starts: Vec<usize>,
    page: usize,
    page_size: usize,
    /// At most this many characters on one page (long words take room on the screen).
    page_chars: usize,
    max_chars: usize,
    /// A person's name: at its start, common surnames come first.
    surname_first: bool,
}

/// The most common Chinese surnames, most common first (a name's first character is usually
/// one of them, whatever a word's frequency says: 张 before 长 for `zhang`).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘\
于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝\
龚邵万钱严覃武戴莫孔向汤";

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the text: it may be a name.
        f.debug_struct("Composer")
            .field("committed_chars", &self.committed.chars().count())
            .field("letters", &self.letters.len())
            .field("candidates", &self.candidates.len())
            .finish()
    }
}

impl Drop for Composer {
    fn drop(&mut self) {
        self.committed.zeroize();
        self.letters.zeroize();
    }
}

impl Composer {
    /// An empty text of at most `max_chars` characters, `page_size` candidates a page.
    pub fn new(dict: &'static Dictionary, max_chars: usize, page_size: usize) -> Self {
        Composer {
            dict,
            committed: String::new(),
            letters: String::new(),
            candidates: Vec::new(),
            page_starts: Vec::new(),
            page: 0,
            page_size: page_size.max(1),
            page_chars: usize::MAX,
            max_chars,
            surname_first: false,
        }
    }

    /// For a person's name: at the start of the text, common surnames lead the candidates.
    pub fn for_names(mut self) -> Self {
        self.surname_first = true;
        self.refresh();
        self
    }

    /// Limits the characters on a page (a page always has at least one candidate).
    pub fn with_page_chars(mut self, chars: usize) -> Self {
        self.page_chars = chars.max(1);
        self.paginate();
        self
    }

    /// The chosen text.
    pub fn text(&self) -> &str {
        &self.committed
    }

    /// The letters in composition, as typed.
    pub fn letters(&self) -> &str {
        &self.letters
    }

    pub fn is_empty(&self) -> bool {
        self.committed.is_empty() && self.letters.is_empty()
    }

    /// Replaces the chosen text (e.g. a name already known) and empties the composition.
    pub fn set_text(&mut self, text: &str) {
        self.clear();
        self.committed = text.chars().take(self.max_chars).collect();
    }

    /// One key: a letter (either case) or `'` goes into composition; a digit, typed when
    /// nothing is in composition, goes straight into the text.
    pub fn key(&mut self, c: char) -> Result<(), InputError> {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_digit() && self.letters.is_empty() {
            if self.committed.chars().count() >= self.max_chars {
                return Err(InputError::TextFull);
            }
            self.committed.push(c);
            return Ok(());
        }
        if !(c.is_ascii_lowercase() || c == '\'') {
            return Err(InputError::NotALetter);
        }
        if c == '\'' && (self.letters.is_empty() || self.letters.ends_with('\'')) {
            return Ok(()); // nothing to separate
        }
        if self.letters.len() >= MAX_LETTERS {
            return Err(InputError::CompositionFull);
        }
        if self.committed.chars().count() >= self.max_chars {
            return Err(InputError::TextFull);
        }
        self.letters.push(c);
        self.refresh();
        Ok(())
    }

    /// Deletes the last letter in composition, or when there is none, the last chosen
    /// character.
    pub fn backspace(&mut self) {
        if self.letters.pop().is_some() {
            self.refresh();
        } else {
            self.committed.pop();
        }
    }

    /// Empties both the composition and the chosen text.
    pub fn clear(&mut self) {
        self.committed.zeroize();
        self.committed.clear();
        self.letters.zeroize();
        self.letters.clear();
        self.candidates.clear();
        self.page_starts.clear();
        self.page = 0;
    }

    /// Chooses the `index`-th candidate on the current page: its characters are added to the
    /// text and the letters they stand for leave the composition.
    pub fn choose(&mut self, index: usize) -> Result<(), InputError> {
        let c = match self.page().get(index) {
            Some(c) => c.clone(),
            None => return Err(InputError::NoSuchCandidate(index)),
        };
        if self.committed.chars().count() + c.text.chars().count() > self.max_chars {
            return Err(InputError::TextFull);
        }
        self.committed.push_str(&c.text);
        let rest = self.letters.get(c.consumed..).unwrap_or_default();
        let rest = rest.trim_start_matches('\'').to_string();
        self.letters.zeroize();
        self.letters = rest;
        self.refresh();
        Ok(())
    }

    /// The candidates on the current page.
    pub fn page(&self) -> &[Candidate] {
        let n = self.candidates.len();
        let start = self.page_starts.get(self.page).copied().unwrap_or(n).min(n);
        let end = self
            .page_starts
            .get(self.page + 1)
            .copied()
            .unwrap_or(n)
            .clamp(start, n);
        &self.candidates[start..end]
    }

    /// The page number (from 0) and how many pages there are.
    pub fn pages(&self) -> (usize, usize) {
        (self.page, self.page_starts.len())
    }

    pub fn next_page(&mut self) -> bool {
        if self.page + 1 < self.page_starts.len() {
            self.page += 1;
            true
        } else {
            false
        }
    }

    pub fn prev_page(&mut self) -> bool {
        if self.page > 0 {
            self.page -= 1;
            true
        } else {
            false
        }
    }

    /// All candidates for the composition.
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    fn refresh(&mut self) {
        self.candidates = candidates(self.dict, &self.letters);
        if self.surname_first && self.committed.is_empty() {
            // Stable: the surnames read from the whole first syllable (张 for zhang, not 赵 for
            // its zh-), by how common they are, then the rest in their order.
            let single = |c: &Candidate| {
                let mut chars = c.text.chars();
                match (chars.next(), chars.next()) {
                    (Some(ch), None) => Some(ch),
                    _ => None,
                }
            };
            let syllable = self
                .candidates
                .iter()
                .filter(|c| single(c).is_some())
                .map(|c| c.consumed)
                .max();
            let rank = |c: &Candidate| {
                let ch = single(c).filter(|_| Some(c.consumed) == syllable)?;
                SURNAMES.chars().position(|s| s == ch)
            };
            self.candidates
                .sort_by_key(|c| rank(c).map_or((1, 0), |r| (0, r)));
        }
        self.paginate();
    }

    fn paginate(&mut self) {
        self.page = 0;
        self.page_starts.clear();
        let (mut count, mut chars) = (0, 0);
        for (i, c) in self.candidates.iter().enumerate() {
            let n = c.text.chars().count();
            if i == 0 || count >= self.page_size || chars + n > self.page_chars {
                self.page_starts.push(i);
                count = 0;
                chars = 0;
            }
            count += 1;
            chars += n;
        }
    }
}
