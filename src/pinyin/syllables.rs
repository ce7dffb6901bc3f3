//! The syllables of Mandarin pinyin and the segmentation of typed letters into them.

/// Every toneless syllable, `ü` typed as `v` (lv, nv) and `üe` as `ue` (lue, nue), sorted.
pub const SYLLABLES: [&str; 409] = [
    "a", "ai", "an", "ang", "ao", "ba", "bai", "ban", "bang", "bao", "bei", "ben", "beng", "bi",
    "bian", "biao", "bie", "bin", "bing", "bo", "bu", "ca", "cai", "can", "cang", "cao", "ce",
    "cen", "ceng", "cha", "chai", "chan", "chang", "chao", "che", "chen", "cheng", "chi", "chong",
    "chou", "chu", "chua", "chuai", "chuan", "chuang", "chui", "chun", "chuo", "ci", "cong", "cou",
    "cu", "cuan", "cui", "cun", "cuo", "da", "dai", "dan", "dang", "dao", "de", "dei", "deng",
    "di", "dia", "dian", "diao", "die", "ding", "diu", "dong", "dou", "du", "duan", "dui", "dun",
    "duo", "e", "ei", "en", "er", "fa", "fan", "fang", "fei", "fen", "feng", "fo", "fou", "fu",
    "ga", "gai", "gan", "gang", "gao", "ge", "gei", "gen", "geng", "gong", "gou", "gu", "gua",
    "guai", "guan", "guang", "gui", "gun", "guo", "ha", "hai", "han", "hang", "hao", "he", "hei",
    "hen", "heng", "hong", "hou", "hu", "hua", "huai", "huan", "huang", "hui", "hun", "huo", "ji",
    "jia", "jian", "jiang", "jiao", "jie", "jin", "jing", "jiong", "jiu", "ju", "juan", "jue",
    "jun", "ka", "kai", "kan", "kang", "kao", "ke", "kei", "ken", "keng", "kong", "kou", "ku",
    "kua", "kuai", "kuan", "kuang", "kui", "kun", "kuo", "la", "lai", "lan", "lang", "lao", "le",
    "lei", "len", "leng", "li", "lia", "lian", "liang", "liao", "lie", "lin", "ling", "liu", "lo",
    "long", "lou", "lu", "luan", "lue", "lun", "luo", "lv", "ma", "mai", "man", "mang", "mao",
    "me", "mei", "men", "meng", "mi", "mian", "miao", "mie", "min", "ming", "miu", "mo", "mou",
    "mu", "na", "nai", "nan", "nang", "nao", "ne", "nei", "nen", "neng", "ni", "nian", "niang",
    "niao", "nie", "nin", "ning", "niu", "nong", "nou", "nu", "nuan", "nue", "nuo", "nv", "o",
    "ou", "pa", "pai", "pan", "pang", "pao", "pei", "pen", "peng", "pi", "pian", "piao", "pie",
    "pin", "ping", "po", "pou", "pu", "qi", "qia", "qian", "qiang", "qiao", "qie", "qin", "qing",
    "qiong", "qiu", "qu", "quan", "que", "qun", "ran", "rang", "rao", "re", "ren", "reng", "ri",
    "rong", "rou", "ru", "ruan", "rui", "run", "ruo", "sa", "sai", "san", "sang", "sao", "se",
    "sen", "seng", "sha", "shai", "shan", "shang", "shao", "she", "shei", "shen", "sheng", "shi",
    "shou", "shu", "shua", "shuai", "shuan", "shuang", "shui", "shun", "shuo", "si", "song", "sou",
    "su", "suan", "sui", "sun", "suo", "ta", "tai", "tan", "tang", "tao", "te", "tei", "teng",
    "ti", "tian", "tiao", "tie", "ting", "tong", "tou", "tu", "tuan", "tui", "tun", "tuo", "wa",
    "wai", "wan", "wang", "wei", "wen", "weng", "wo", "wu", "xi", "xia", "xian", "xiang", "xiao",
    "xie", "xin", "xing", "xiong", "xiu", "xu", "xuan", "xue", "xun", "ya", "yan", "yang", "yao",
    "ye", "yi", "yin", "ying", "yo", "yong", "you", "yu", "yuan", "yue", "yun", "za", "zai", "zan",
    "zang", "zao", "ze", "zei", "zen", "zeng", "zha", "zhai", "zhan", "zhang", "zhao", "zhe",
    "zhei", "zhen", "zheng", "zhi", "zhong", "zhou", "zhu", "zhua", "zhuai", "zhuan", "zhuang",
    "zhui", "zhun", "zhuo", "zi", "zong", "zou", "zu", "zuan", "zui", "zun", "zuo",
];

/// The longest syllable (zhuang, chuang, shuang).
pub const MAX_SYLLABLE: usize = 6;

/// Whether `s` is a whole syllable.
pub fn is_syllable(s: &str) -> bool {
    SYLLABLES.binary_search(&s).is_ok()
}

/// Whether some syllable starts with `s` (a syllable is a prefix of itself).
pub fn is_prefix(s: &str) -> bool {
    let i = SYLLABLES.partition_point(|x| *x < s);
    SYLLABLES.get(i).is_some_and(|x| x.starts_with(s))
}

/// What a piece of the typed letters is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole syllable: `zhang`.
    Full,
    /// The beginning of a syllable: an initial in an abbreviation (`zjg`) or the syllable being
    /// typed (`zhangj`).
    Partial,
    /// A letter that begins no syllable (`v` on its own): nothing matches it.
    Junk,
}

/// One piece of a segmentation: `start..end` are byte offsets in the typed letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// One way to read the typed letters, with its cost (lower reads more naturally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segmentation {
    pub pieces: Vec<Piece>,
    pub cost: u32,
}

const COST_FULL: u32 = 10;
const COST_PARTIAL_LAST: u32 = 15;
const COST_PARTIAL: u32 = 25;
const COST_JUNK: u32 = 100;
/// How many readings are kept per position (and returned).
const BEAM: usize = 6;

/// The ways to read `input` (lower-case letters, `'` between syllables), the most natural first:
/// whole syllables over partial ones, fewer pieces over more (`xian` is one syllable, `xi'an`
/// two). Letters that begin no syllable become `Junk` pieces, so there is always a reading for
/// any input; other characters are skipped. Empty input has one empty reading.
pub fn segment(input: &str) -> Vec<Segmentation> {
    let bytes = input.as_bytes();
    let n = bytes.len();
    // best[i]: the best readings of input[..i].
    let mut best: Vec<Vec<Segmentation>> = vec![Vec::new(); n + 1];
    best[0].push(Segmentation {
        pieces: Vec::new(),
        cost: 0,
    });
    for i in 0..n {
        if best[i].is_empty() {
            continue;
        }
        if !bytes[i].is_ascii_lowercase() {
            // A separator (or anything else) ends a syllable and is not part of one.
            let carried = std::mem::take(&mut best[i]);
            merge(&mut best[i + 1], carried);
            continue;
        }
        let mut found_any = false;
        for len in 1..=MAX_SYLLABLE.min(n - i) {
            let end = i + len;
            let Some(s) = input.get(i..end) else { break };
            if !s.bytes().all(|b| b.is_ascii_lowercase()) {
                break;
            }
            let last = end == n || !bytes[end].is_ascii_lowercase();
            let (kind, cost) = if is_syllable(s) {
                (Kind::Full, COST_FULL)
            } else if is_prefix(s) {
                (
                    Kind::Partial,
                    if last {
                        COST_PARTIAL_LAST
                    } else {
                        COST_PARTIAL
                    },
                )
            } else {
                continue;
            };
            found_any = true;
            let extended: Vec<Segmentation> = best[i]
                .iter()
                .map(|seg| {
                    let mut pieces = seg.pieces.clone();
                    pieces.push(Piece {
                        start: i,
                        end,
                        kind,
                    });
                    Segmentation {
                        pieces,
                        cost: seg.cost + cost,
                    }
                })
                .collect();
            merge(&mut best[end], extended);
        }
        if !found_any {
            let extended: Vec<Segmentation> = best[i]
                .iter()
                .map(|seg| {
                    let mut pieces = seg.pieces.clone();
                    pieces.push(Piece {
                        start: i,
                        end: i + 1,
                        kind: Kind::Junk,
                    });
                    Segmentation {
                        pieces,
                        cost: seg.cost + COST_JUNK,
                    }
                })
                .collect();
            merge(&mut best[i + 1], extended);
        }
    }
    best.pop().unwrap_or_default()
}

/// Adds readings to a position's list, keeping the `BEAM` cheapest (stable: earlier first).
fn merge(into: &mut Vec<Segmentation>, more: Vec<Segmentation>) {
    into.extend(more);
    into.sort_by_key(|s| (s.cost, s.pieces.len()));
    into.dedup();
    into.truncate(BEAM);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(input: &'a str, seg: &Segmentation) -> Vec<&'a str> {
        seg.pieces
            .iter()
            .map(|p| input.get(p.start..p.end).unwrap_or("?"))
            .collect()
    }

    #[test]
    fn the_table_is_sorted_and_knows_its_syllables() {
        assert!(SYLLABLES.windows(2).all(|w| w[0] < w[1]));
        assert!(is_syllable("zhuang") && is_syllable("lv") && is_syllable("a"));
        assert!(!is_syllable("zh") && !is_syllable("v") && !is_syllable(""));
        assert!(is_prefix("zh") && is_prefix("zhuan") && !is_prefix("v") && !is_prefix("zhx"));
    }

    #[test]
    fn xian_is_one_syllable_and_xi_an_two() {
        let s = segment("xian");
        assert_eq!(texts("xian", &s[0]), ["xian"]);
        assert!(s.iter().any(|x| texts("xian", x) == ["xi", "an"]));
        let s = segment("xi'an");
        assert_eq!(texts("xi'an", &s[0]), ["xi", "an"]);
        assert!(
            s.iter()
                .all(|x| x.pieces.iter().all(|p| p.end <= 2 || p.start >= 3)),
            "no piece spans the apostrophe"
        );
    }

    #[test]
    fn whole_syllables_then_a_partial_one() {
        let s = segment("zhangjianguo");
        assert_eq!(texts("zhangjianguo", &s[0]), ["zhang", "jian", "guo"]);
        let s = segment("zhangj");
        assert_eq!(texts("zhangj", &s[0]), ["zhang", "j"]);
        assert_eq!(s[0].pieces[1].kind, Kind::Partial);
        let s = segment("zjg");
        assert_eq!(texts("zjg", &s[0]), ["z", "j", "g"]);
    }

    #[test]
    fn letters_that_begin_nothing_are_junk_not_a_failure() {
        let s = segment("vvv");
        assert_eq!(s.len(), 1);
        assert!(s[0].pieces.iter().all(|p| p.kind == Kind::Junk));
        assert_eq!(segment("").len(), 1);
        let s = segment("zhang1");
        assert_eq!(texts("zhang1", &s[0]), ["zhang"]);
    }
}
