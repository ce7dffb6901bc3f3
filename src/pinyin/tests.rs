//! The engine on the dictionary that ships: what a person typing names and project names gets.

use proptest::prelude::*;

use super::*;

fn dict() -> &'static Dictionary {
    match embedded() {
        Ok(d) => d,
        Err(e) => panic!("the shipped dictionary does not parse: {e}"),
    }
}

fn texts(letters: &str) -> Vec<String> {
    candidates(dict(), letters)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

fn position(letters: &str, word: &str) -> Option<usize> {
    texts(letters).iter().position(|t| t == word)
}

fn composer() -> Composer {
    Composer::new(dict(), 20, 5)
}

fn type_all(c: &mut Composer, letters: &str) {
    for ch in letters.chars() {
        assert_eq!(c.key(ch), Ok(()), "key {ch}");
    }
}

/// Chooses `word` wherever it is, paging as a person would; returns how many pages it took.
fn choose(c: &mut Composer, word: &str) -> usize {
    while c.prev_page() {}
    let mut pages = 1;
    loop {
        if let Some(i) = c.page().iter().position(|x| x.text == word) {
            assert_eq!(c.choose(i), Ok(()));
            return pages;
        }
        assert!(
            c.next_page(),
            "{word} not among the candidates for {}",
            c.letters()
        );
        pages += 1;
    }
}

#[test]
fn the_shipped_dictionary_is_complete_enough() {
    let (chars, words) = dict().size();
    assert!(chars >= 6700, "GB2312 has 6763 characters, got {chars}");
    assert!(words >= 50_000, "got {words} words");
    assert!(DICT_TSV.len() < 2_000_000, "the file stays small");
    // For the record (`-- --nocapture`): parsing, and the slowest kind of lookup.
    let t = std::time::Instant::now();
    let parsed = Dictionary::parse(DICT_TSV).map(|d| d.size());
    let parse = t.elapsed();
    assert_eq!(parsed, Ok((chars, words)));
    let t = std::time::Instant::now();
    let n = candidates(dict(), "zhangjianguozhuzhaixiaoqu").len();
    println!(
        "dictionary parsed in {parse:?}; 25 letters looked up in {:?} ({n} candidates)",
        t.elapsed()
    );
}

#[test]
fn zhang_offers_the_surname_on_the_first_page() {
    let p = position("zhang", "张");
    assert!(
        p.is_some_and(|p| p < 5),
        "张 at {p:?}: {:?}",
        &texts("zhang")[..8]
    );
    for (letters, surname) in [
        ("wang", "王"),
        ("li", "李"),
        ("liu", "刘"),
        ("chen", "陈"),
        ("yang", "杨"),
        ("zhao", "赵"),
        ("huang", "黄"),
        ("zhou", "周"),
        ("wu", "吴"),
    ] {
        let p = position(letters, surname);
        assert!(
            p.is_some_and(|p| p < 10),
            "{surname} for {letters} at {p:?}"
        );
    }
}

#[test]
fn zhang_jian_guo_by_choices() {
    let mut c = composer();
    type_all(&mut c, "zhangjianguo");
    assert_eq!(spaced(c.letters()), "zhang jian guo");
    choose(&mut c, "张");
    assert_eq!(c.text(), "张");
    assert_eq!(c.letters(), "jianguo", "the rest stays in composition");
    let pages = choose(&mut c, "建国");
    assert_eq!(pages, 1, "建国 is on the first page");
    assert_eq!(c.text(), "张建国");
    assert_eq!(c.letters(), "");
    assert!(c.page().is_empty());
}

/// In a name, the surname comes first at the start (张, not 长剑, for `zhangjianguo`); after it,
/// the usual order (建国 for `jianguo`), and a project name is not reordered.
#[test]
fn a_name_starts_with_the_surname() {
    let mut c = composer().for_names();
    for (letters, surname) in [
        ("zhangjianguo", "张"),
        ("wang", "王"),
        ("li", "李"),
        ("chenxi", "陈"),
    ] {
        c.clear();
        type_all(&mut c, letters);
        assert_eq!(
            c.page().first().map(|x| x.text.as_str()),
            Some(surname),
            "{letters}"
        );
    }
    c.clear();
    type_all(&mut c, "zhangjianguo");
    c.choose(0).unwrap();
    assert_eq!(c.text(), "张");
    assert_eq!(c.page().first().map(|x| x.text.as_str()), Some("建国"));
    c.choose(0).unwrap();
    assert_eq!(c.text(), "张建国");
    // Not a name: words keep their frequency order.
    let mut p = composer();
    type_all(&mut p, "zhuzhai");
    assert_eq!(p.page().first().map(|x| x.text.as_str()), Some("住宅"));
    let mut n = composer().for_names();
    type_all(&mut n, "zhuzhai");
    assert_ne!(
        n.page().first().map(|x| x.text.as_str()),
        Some("住宅"),
        "surnames lead"
    );
}

#[test]
fn whole_phrases_come_before_prefixes_and_characters() {
    let t = texts("youeryuan");
    let first_single = t.iter().position(|x| x.chars().count() == 1);
    assert_eq!(t.first().map(String::as_str), Some("幼儿园"));
    assert!(first_single.is_some_and(|p| p > 1 && t[..p].iter().all(|x| x.chars().count() >= 2)));
    // A prefix word (two syllables of three) before the single characters.
    let jianguo = texts("jianguoli");
    let p = jianguo.iter().position(|x| x == "建国");
    let s = jianguo.iter().position(|x| x.chars().count() == 1);
    assert!(
        p.is_some() && p < s,
        "{:?}",
        &jianguo[..jianguo.len().min(10)]
    );
}

#[test]
fn xian_and_xi_an() {
    assert_eq!(position("xian", "先").map(|p| p < 5), Some(true));
    let p = position("xian", "西安");
    assert!(p.is_some(), "西安 is offered for xian too");
    assert!(
        p > position("xian", "先"),
        "but after the one-syllable reading"
    );
    assert!(p.is_some_and(|p| p < 30), "西安 for xian at {p:?}");
    assert_eq!(position("xi'an", "西安"), Some(0), "{:?}", texts("xi'an"));
    assert_eq!(position("xi'an", "先"), None);
}

#[test]
fn project_name_words_rank_first() {
    for (letters, word) in [
        ("zhuzhai", "住宅"),
        ("xiaoqu", "小区"),
        ("gongcheng", "工程"),
        ("xiangmu", "项目"),
        ("daolu", "道路"),
        ("gaizao", "改造"),
        ("jianshe", "建设"),
        ("changfang", "厂房"),
        ("xuexiao", "学校"),
        ("youeryuan", "幼儿园"),
        ("zonghelou", "综合楼"),
        ("anzhifang", "安置房"),
        ("yiqi", "一期"),
        ("erqi", "二期"),
    ] {
        let p = position(letters, word);
        assert!(p.is_some_and(|p| p < 3), "{word} for {letters} at {p:?}");
    }
}

#[test]
fn initials_and_a_syllable_being_typed() {
    assert!(position("zjg", "张家港").is_some_and(|p| p < 5));
    assert_eq!(position("xiaoq", "小区").map(|p| p < 5), Some(true));
    assert_eq!(position("gongc", "工程"), Some(0));
}

#[test]
fn backspace_edits_the_composition_first_then_the_text() {
    let mut c = composer();
    type_all(&mut c, "zhangj");
    choose(&mut c, "张");
    assert_eq!((c.text(), c.letters()), ("张", "j"));
    c.backspace();
    assert_eq!((c.text(), c.letters()), ("张", ""));
    assert!(c.page().is_empty());
    c.backspace();
    assert_eq!((c.text(), c.letters()), ("", ""));
    c.backspace();
    assert!(c.is_empty());
    type_all(&mut c, "li");
    c.clear();
    assert!(c.is_empty() && c.page().is_empty());
}

#[test]
fn paging_shows_every_candidate_once() {
    let mut c = composer();
    type_all(&mut c, "shi");
    let all = c.candidates().to_vec();
    assert!(all.len() > 10);
    let mut seen = c.page().to_vec();
    assert_eq!(seen.len(), 5);
    while c.next_page() {
        seen.extend(c.page().iter().cloned());
    }
    assert_eq!(seen, all);
    assert_eq!(c.pages().0 + 1, c.pages().1);
    assert!(!c.next_page());
    assert!(c.prev_page());
    assert_eq!(c.choose(5), Err(InputError::NoSuchCandidate(5)));
}

#[test]
fn a_page_holds_no_more_characters_than_fit() {
    let mut c = Composer::new(dict(), 20, 5).with_page_chars(6);
    type_all(&mut c, "zhongh");
    let all = c.candidates().to_vec();
    let mut seen = Vec::new();
    loop {
        let chars: usize = c.page().iter().map(|x| x.text.chars().count()).sum();
        assert!(c.page().len() == 1 || chars <= 6, "{:?}", c.page());
        assert!(!c.page().is_empty() && c.page().len() <= 5);
        seen.extend(c.page().iter().cloned());
        if !c.next_page() {
            break;
        }
    }
    assert_eq!(seen, all);
}

#[test]
fn garbage_gives_a_clear_answer() {
    assert!(texts("vvvvv").is_empty());
    let mut c = composer();
    type_all(&mut c, "vvvvv");
    assert!(c.page().is_empty());
    assert_eq!(c.choose(0), Err(InputError::NoSuchCandidate(0)));
    c.clear();
    assert_eq!(c.key('中'), Err(InputError::NotALetter));
    assert_eq!(c.key(' '), Err(InputError::NotALetter));
    assert_eq!(c.key('3'), Ok(()), "a digit goes straight into the text");
    assert_eq!(c.text(), "3");
    for _ in 0..MAX_LETTERS {
        assert_eq!(c.key('a'), Ok(()));
    }
    assert_eq!(c.key('a'), Err(InputError::CompositionFull));
    assert_eq!(
        c.key('3'),
        Err(InputError::NotALetter),
        "no digits mid-syllable"
    );
    let long = "zhang".repeat(100);
    let t = candidates(dict(), &long);
    assert!(!t.is_empty(), "the first syllables get candidates");
    assert!(
        t.iter()
            .all(|c| c.text.chars().count() <= dict::MAX_WORD && c.consumed <= 30)
    );
    // A junk letter after good syllables: the good ones still get candidates.
    assert_eq!(position("zhangvvv", "张").map(|p| p < 5), Some(true));
}

#[test]
fn the_text_has_a_limit() {
    let mut c = Composer::new(dict(), 2, 5);
    type_all(&mut c, "zhangjianguo");
    assert_eq!(choose(&mut c, "张"), 1);
    let i = c.page().iter().position(|x| x.text == "建国");
    assert_eq!(i.map(|i| c.choose(i)), Some(Err(InputError::TextFull)));
    assert_eq!(c.text(), "张");
}

#[test]
fn a_broken_dictionary_is_an_error_not_a_panic() {
    assert_eq!(Dictionary::parse("").err(), Some(DictError::Empty));
    assert!(matches!(
        Dictionary::parse("张张\tzhang\t1\n"),
        Err(DictError::Line { line: 1, .. })
    ));
    assert!(matches!(
        Dictionary::parse("张\tzhang\tmany\n"),
        Err(DictError::Line { line: 1, .. })
    ));
    let d = Dictionary::parse("张\tzhang\t5\n长\tzhang,chang\t100\n%words\n张长\t9\n长长长\tx\n");
    assert!(matches!(d, Err(DictError::Line { line: 5, .. })));
    let d = Dictionary::parse("张\tzhang\t5\n長\txx\t1\n%words\n張三\t9\n").map(|d| d.size());
    assert_eq!(
        d,
        Ok((1, 0)),
        "readings that are not syllables and unknown characters are left out"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_letters_segment_and_look_up_without_panic(s in "[a-z']{0,60}") {
        let segs = syllables::segment(&s);
        prop_assert!(!segs.is_empty());
        for seg in &segs {
            // The pieces are in order, inside the input and cover every letter.
            let mut covered = 0;
            let mut last = 0;
            for p in &seg.pieces {
                prop_assert!(p.start >= last && p.end > p.start && p.end <= s.len());
                covered += p.end - p.start;
                last = p.end;
            }
            prop_assert_eq!(covered, s.bytes().filter(|b| b.is_ascii_lowercase()).count());
        }
        for c in candidates(dict(), &s) {
            prop_assert!(c.consumed <= s.len() && !c.text.is_empty());
        }
    }

    #[test]
    fn any_keys_keep_the_composer_consistent(keys in proptest::collection::vec(any::<char>(), 0..80),
                                              picks in proptest::collection::vec(0usize..7, 0..10)) {
        let mut c = Composer::new(dict(), 12, 5);
        for (i, k) in keys.iter().enumerate() {
            let _ = c.key(*k);
            if let Some(p) = picks.get(i % 11) {
                let _ = c.choose(*p);
            }
            if i % 13 == 12 {
                c.backspace();
            }
            prop_assert!(c.text().chars().count() <= 12);
            prop_assert!(c.letters().len() <= MAX_LETTERS);
            prop_assert!(c.page().len() <= 5);
        }
    }
}
