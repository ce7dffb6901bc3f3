//! The 256-byte text block of a card: UCS-2 little-endian fields right-padded with spaces.
//!
//! Layouts by the card-type flag (one UCS-2 character at offset 248):
//!
//! * space — resident ID card: name 30, sex 2, nation 4, birth 16, address 70, ID number 36,
//!   authority 30, valid from 16, valid to 16 (a date or 长期), reserved 36.
//! * `J` — Hong Kong / Macao / Taiwan residence permit: the resident layout, nation bytes
//!   reserved, travel permit number (18) and issue count (4) at offset 220.
//! * `I` — foreign permanent-resident card, 2017: English name 120, sex 2, permit number 30,
//!   nationality 6, Chinese name 30, valid from 16, valid to 16, birth 16, version 4,
//!   authority code 8, type 2, reserved 6.
//! * `Y` — foreign permanent-resident card, 2023: Chinese name 30, sex 2, renewal count 4,
//!   birth 16, English name (characters 1–35) 70, permit number 36, reserved 30, valid from 16,
//!   valid to 16, English name (characters 36–46) 22, nationality 6; the card has no issuing
//!   authority. Offsets and sources in `drivers/PROTOCOLS.md`.

use super::{CardKind, IdCard, ValidTo};

/// Size of the text block.
pub const TEXT_LEN: usize = 256;
/// Offset of the card-type flag.
pub const TYPE_OFFSET: usize = 248;
/// The words used on cards for "no end date".
pub const LONG_TERM: &str = "长期";

/// What is wrong with a text block, or with a card that is to be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("text block of {0} bytes, {TEXT_LEN} expected")]
    WrongSize(usize),
    #[error("unknown card type flag U+{0:04X}")]
    UnknownCardType(u16),
    #[error("field `{0}` does not fit its place on the card")]
    FieldTooLong(&'static str),
    #[error("field `{0}` has a character outside UCS-2")]
    NotUcs2(&'static str),
    #[error("field `{0}` has a value the card cannot hold")]
    BadValue(&'static str),
}

/// Sex names of GB/T 2261.1 as printed on cards.
pub fn sex_name(code: u8) -> &'static str {
    match code {
        1 => "男",
        2 => "女",
        9 => "未说明",
        _ => "未知",
    }
}

/// The 56 nations of GB 3304 in code order (code 01 is index 0). Names as printed on cards
/// (without 族).
pub const NATIONS: [&str; 56] = [
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
];

/// Nation name for a GB 3304 code (1–56, 97 其他, 98 外国血统中国籍人士, as the readers' tables and GB 3304 name it).
pub fn nation_name(code: u8) -> Option<&'static str> {
    match code {
        1..=56 => Some(NATIONS[usize::from(code - 1)]),
        97 => Some("其他"),
        98 => Some("外国血统中国籍人士"),
        _ => None,
    }
}

/// GB 3304 code for a nation name (with or without the trailing 族).
pub fn nation_code(name: &str) -> Option<u8> {
    let name = name.trim();
    let bare = name.strip_suffix('族').unwrap_or(name);
    if let Some(i) = NATIONS.iter().position(|n| *n == bare || *n == name) {
        return u8::try_from(i + 1).ok();
    }
    match bare {
        "其他" => Some(97),
        "外国血统" | "外国血统中国籍人士" => Some(98),
        _ => None,
    }
}

/// A field: offset and length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub offset: usize,
    pub len: usize,
}

const fn f(offset: usize, len: usize) -> Field {
    Field { offset, len }
}

/// Resident card (and HK/Macao/Taiwan permit) offsets.
pub mod resident {
    use super::{Field, f};
    pub const NAME: Field = f(0, 30);
    pub const SEX: Field = f(30, 2);
    pub const NATION: Field = f(32, 4);
    pub const BIRTH: Field = f(36, 16);
    pub const ADDRESS: Field = f(52, 70);
    pub const ID_NUMBER: Field = f(122, 36);
    pub const AUTHORITY: Field = f(158, 30);
    pub const VALID_FROM: Field = f(188, 16);
    pub const VALID_TO: Field = f(204, 16);
    /// HK/Macao/Taiwan permits only.
    pub const TRAVEL_PERMIT: Field = f(220, 18);
    pub const ISSUE_COUNT: Field = f(238, 4);
}

/// Foreign permanent-resident card, 2017 layout.
pub mod foreign2017 {
    use super::{Field, f};
    pub const NAME_EN: Field = f(0, 120);
    pub const SEX: Field = f(120, 2);
    pub const PERMIT_NUMBER: Field = f(122, 30);
    pub const NATIONALITY: Field = f(152, 6);
    pub const NAME_ZH: Field = f(158, 30);
    pub const VALID_FROM: Field = f(188, 16);
    pub const VALID_TO: Field = f(204, 16);
    pub const BIRTH: Field = f(220, 16);
    pub const VERSION: Field = f(236, 4);
    pub const AUTHORITY: Field = f(240, 8);
}

/// Foreign permanent-resident card, 2023 layout.
pub mod foreign2023 {
    use super::{Field, f};
    pub const NAME_ZH: Field = f(0, 30);
    pub const SEX: Field = f(30, 2);
    /// 换证次数: how many times the card has been renewed.
    pub const RENEWALS: Field = f(32, 4);
    pub const BIRTH: Field = f(36, 16);
    /// English name, characters 1–35.
    pub const NAME_EN: Field = f(52, 70);
    pub const PERMIT_NUMBER: Field = f(122, 36);
    pub const VALID_FROM: Field = f(188, 16);
    pub const VALID_TO: Field = f(204, 16);
    /// English name, characters 36–46.
    pub const NAME_EN_MORE: Field = f(220, 22);
    pub const NATIONALITY: Field = f(242, 6);
}

fn units(block: &[u8], field: Field) -> impl Iterator<Item = u16> + '_ {
    block[field.offset..field.offset + field.len]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

fn trimmed(units: impl Iterator<Item = u16>) -> String {
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    s.trim_matches(|c: char| c == ' ' || c == '\0' || c == '\u{3000}')
        .to_string()
}

fn read(block: &[u8], field: Field) -> String {
    trimmed(units(block, field))
}

fn sex_code(s: &str) -> u8 {
    let code = s.parse::<u8>().unwrap_or(0);
    if matches!(code, 1 | 2 | 9) { code } else { 0 }
}

fn valid_to(s: String) -> ValidTo {
    if s == LONG_TERM {
        ValidTo::LongTerm
    } else {
        ValidTo::Date(s)
    }
}

/// The card kind a block declares.
pub fn card_kind(block: &[u8]) -> Result<CardKind, TextError> {
    if block.len() != TEXT_LEN {
        return Err(TextError::WrongSize(block.len()));
    }
    let flag = u16::from_le_bytes([block[TYPE_OFFSET], block[TYPE_OFFSET + 1]]);
    match flag {
        0x0020 | 0x0000 => Ok(CardKind::Resident),
        0x004A => Ok(CardKind::HkMoTwPermit),
        0x0049 => Ok(CardKind::ForeignPermanent2017),
        0x0059 => Ok(CardKind::ForeignPermanent2023),
        other => Err(TextError::UnknownCardType(other)),
    }
}

/// Decodes a text block. The photo is left empty (it travels separately).
pub fn decode_text(block: &[u8]) -> Result<IdCard, TextError> {
    let kind = card_kind(block)?;
    let empty = String::new;
    let card = match kind {
        CardKind::Resident | CardKind::HkMoTwPermit => {
            use resident as r;
            let permit = kind == CardKind::HkMoTwPermit;
            let nation = if permit {
                empty()
            } else {
                let code = read(block, r::NATION);
                match code.parse::<u8>().ok().and_then(nation_name) {
                    Some(name) => name.to_string(),
                    None => code,
                }
            };
            IdCard {
                kind,
                name: read(block, r::NAME),
                name_en: empty(),
                sex_code: sex_code(&read(block, r::SEX)),
                nation,
                birth: read(block, r::BIRTH),
                address: read(block, r::ADDRESS),
                id_number: read(block, r::ID_NUMBER),
                authority: read(block, r::AUTHORITY),
                valid_from: read(block, r::VALID_FROM),
                valid_to: valid_to(read(block, r::VALID_TO)),
                travel_permit: if permit {
                    read(block, r::TRAVEL_PERMIT)
                } else {
                    empty()
                },
                issue_count: if permit {
                    read(block, r::ISSUE_COUNT)
                } else {
                    empty()
                },
                photo: Vec::new(),
            }
        }
        CardKind::ForeignPermanent2017 => {
            use foreign2017 as i;
            IdCard {
                kind,
                name: read(block, i::NAME_ZH),
                name_en: read(block, i::NAME_EN),
                sex_code: sex_code(&read(block, i::SEX)),
                nation: read(block, i::NATIONALITY),
                birth: read(block, i::BIRTH),
                address: empty(),
                id_number: read(block, i::PERMIT_NUMBER),
                authority: read(block, i::AUTHORITY),
                valid_from: read(block, i::VALID_FROM),
                valid_to: valid_to(read(block, i::VALID_TO)),
                travel_permit: empty(),
                issue_count: empty(),
                photo: Vec::new(),
            }
        }
        CardKind::ForeignPermanent2023 => {
            use foreign2023 as y;
            // A name longer than 35 characters goes on at offset 220: joined before trimming,
            // so a space at the break is kept.
            let name_en = trimmed(units(block, y::NAME_EN).chain(units(block, y::NAME_EN_MORE)));
            IdCard {
                kind,
                name: read(block, y::NAME_ZH),
                name_en,
                sex_code: sex_code(&read(block, y::SEX)),
                nation: read(block, y::NATIONALITY),
                birth: read(block, y::BIRTH),
                address: empty(),
                id_number: read(block, y::PERMIT_NUMBER),
                authority: empty(),
                valid_from: read(block, y::VALID_FROM),
                valid_to: valid_to(read(block, y::VALID_TO)),
                travel_permit: empty(),
                issue_count: read(block, y::RENEWALS),
                photo: Vec::new(),
            }
        }
    };
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a block by hand from (offset, text) pairs, independently of the encoder.
    fn block(flag: char, fields: &[(usize, &str)]) -> Vec<u8> {
        let mut b: Vec<u8> = std::iter::repeat_n([0x20u8, 0x00], 128).flatten().collect();
        for (off, text) in fields {
            let mut at = *off;
            for u in text.encode_utf16() {
                b[at..at + 2].copy_from_slice(&u.to_le_bytes());
                at += 2;
            }
        }
        let flag = flag as u16;
        b[248..250].copy_from_slice(&flag.to_le_bytes());
        b
    }

    fn resident_block() -> Vec<u8> {
        block(
            ' ',
            &[
                (0, "张建国"),
                (30, "1"),
                (32, "01"),
                (36, "19580312"),
                (52, "湖北省襄阳市樊城区人民路1号"),
                (122, "420602195803120012"),
                (158, "襄阳市公安局樊城分局"),
                (188, "20150101"),
                (204, "长期"),
            ],
        )
    }

    #[test]
    fn decodes_a_resident_card() {
        let b = resident_block();
        // The name's first character is 张 = U+5F20, stored little-endian.
        assert_eq!(&b[0..2], &[0x20, 0x5F]);
        let c = decode_text(&b).unwrap();
        assert_eq!(c.kind, CardKind::Resident);
        assert_eq!(c.name, "张建国");
        assert_eq!(c.sex_code, 1);
        assert_eq!(sex_name(c.sex_code), "男");
        assert_eq!(c.nation, "汉");
        assert_eq!(c.birth, "19580312");
        assert_eq!(c.address, "湖北省襄阳市樊城区人民路1号");
        assert_eq!(c.id_number, "420602195803120012");
        assert_eq!(c.authority, "襄阳市公安局樊城分局");
        assert_eq!(c.valid_from, "20150101");
        assert_eq!(c.valid_to, ValidTo::LongTerm);
        assert_eq!(c.name_en, "");
        assert_eq!(c.travel_permit, "");
    }

    #[test]
    fn decodes_dated_validity_and_other_nations() {
        let b = block(
            ' ',
            &[(0, "岩温"), (30, "2"), (32, "46"), (204, "20301231")],
        );
        let c = decode_text(&b).unwrap();
        assert_eq!(c.nation, "德昂");
        assert_eq!(c.sex_code, 2);
        assert_eq!(c.valid_to, ValidTo::Date("20301231".into()));
        let c = decode_text(&block(' ', &[(32, "98"), (30, "9")])).unwrap();
        assert_eq!(c.nation, "外国血统中国籍人士");
        assert_eq!(sex_name(c.sex_code), "未说明");
        // An unknown code is kept as written rather than guessed.
        let c = decode_text(&block(' ', &[(32, "77"), (30, "x")])).unwrap();
        assert_eq!(c.nation, "77");
        assert_eq!(c.sex_code, 0);
    }

    #[test]
    fn decodes_a_hk_macao_taiwan_permit() {
        let b = block(
            'J',
            &[
                (0, "陈大文"),
                (30, "1"),
                (36, "19800101"),
                (52, "广东省深圳市福田区"),
                (122, "810000198001010014"),
                (158, "深圳市公安局"),
                (188, "20200101"),
                (204, "20250101"),
                (220, "H12345678"),
                (238, "01"),
            ],
        );
        let c = decode_text(&b).unwrap();
        assert_eq!(c.kind, CardKind::HkMoTwPermit);
        assert_eq!(c.name, "陈大文");
        assert_eq!(c.nation, "");
        assert_eq!(c.id_number, "810000198001010014");
        assert_eq!(c.travel_permit, "H12345678");
        assert_eq!(c.issue_count, "01");
    }

    #[test]
    fn decodes_a_foreign_2017_card() {
        let b = block(
            'I',
            &[
                (0, "SMITH, JOHN"),
                (120, "1"),
                (122, "USA110080101001"),
                (152, "USA"),
                (158, "史密斯"),
                (188, "20170601"),
                (204, "20270601"),
                (220, "19800101"),
                (236, "01"),
                (240, "1500"),
            ],
        );
        let c = decode_text(&b).unwrap();
        assert_eq!(c.kind, CardKind::ForeignPermanent2017);
        assert_eq!(c.name, "史密斯");
        assert_eq!(c.name_en, "SMITH, JOHN");
        assert_eq!(c.id_number, "USA110080101001");
        assert_eq!(c.nation, "USA");
        assert_eq!(c.birth, "19800101");
        assert_eq!(c.authority, "1500");
        assert_eq!(c.valid_to, ValidTo::Date("20270601".into()));
    }

    #[test]
    fn decodes_a_foreign_2023_card_with_a_long_english_name() {
        let b = block(
            'Y',
            &[
                (0, "玛丽"),
                (30, "2"),
                (32, "01"),
                (36, "19900202"),
                // 35 characters, the 35th a space: the name goes on at 220.
                (52, "MARGARET ALEXANDRA WILHELMINA ANNE "),
                (122, "932682198501010017"),
                (188, "20240101"),
                (204, "20340101"),
                (220, "SMITH-JONES"),
                (242, "GBR"),
                (250, "01"),
            ],
        );
        let c = decode_text(&b).unwrap();
        assert_eq!(c.kind, CardKind::ForeignPermanent2023);
        assert_eq!(c.name, "玛丽");
        assert_eq!(c.name_en, "MARGARET ALEXANDRA WILHELMINA ANNE SMITH-JONES");
        assert_eq!(c.nation, "GBR");
        assert_eq!(c.id_number, "932682198501010017");
        assert_eq!(c.issue_count, "01");
        assert_eq!(c.authority, "", "the 2023 card has no issuing authority");
        assert_eq!(c.birth, "19900202");
    }

    #[test]
    fn rejects_wrong_sizes_and_unknown_types() {
        assert_eq!(decode_text(&[0; 255]), Err(TextError::WrongSize(255)));
        assert_eq!(
            decode_text(&block('Q', &[])),
            Err(TextError::UnknownCardType(0x51))
        );
        // A NUL flag is read as a resident card (some readers zero-fill).
        assert_eq!(decode_text(&[0u8; 256]).unwrap().kind, CardKind::Resident);
    }

    #[test]
    fn bad_ucs2_becomes_replacement_characters() {
        let b = block(' ', &[]);
        let mut b = b.clone();
        b[0..2].copy_from_slice(&0xD800u16.to_le_bytes());
        let c = decode_text(&b).unwrap();
        assert_eq!(c.name, "\u{FFFD}");
    }

    #[test]
    fn nation_table_is_complete() {
        assert_eq!(NATIONS.len(), 56);
        assert_eq!(nation_name(1), Some("汉"));
        assert_eq!(nation_name(46), Some("德昂"));
        assert_eq!(nation_name(56), Some("基诺"));
        assert_eq!(nation_name(97), Some("其他"));
        assert_eq!(nation_name(57), None);
        assert_eq!(nation_name(0), None);
        for code in (1..=56).chain([97, 98]) {
            let name = nation_name(code).unwrap();
            assert_eq!(nation_code(name), Some(code));
            assert_eq!(nation_code(&format!("{name}族")), Some(code));
        }
        let mut names = NATIONS.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 56);
    }

    fn sample(kind: CardKind) -> IdCard {
        IdCard {
            kind,
            name: "李四".into(),
            name_en: if matches!(
                kind,
                CardKind::ForeignPermanent2017 | CardKind::ForeignPermanent2023
            ) {
                "LEE, SI".into()
            } else {
                String::new()
            },
            sex_code: 2,
            nation: match kind {
                CardKind::Resident => "维吾尔".into(),
                CardKind::HkMoTwPermit => String::new(),
                _ => "CAN".into(),
            },
            birth: "19700101".into(),
            address: if matches!(kind, CardKind::Resident | CardKind::HkMoTwPermit) {
                "湖北省武汉市".into()
            } else {
                String::new()
            },
            id_number: if kind == CardKind::ForeignPermanent2017 {
                // 2017 permit numbers have 15 characters.
                "CAN110070010112".into()
            } else {
                "42010019700101002X".into()
            },
            authority: if kind == CardKind::ForeignPermanent2023 {
                String::new()
            } else {
                "1500".into()
            },
            valid_from: "20200101".into(),
            valid_to: ValidTo::Date("20400101".into()),
            travel_permit: if kind == CardKind::HkMoTwPermit {
                "H7654321".into()
            } else {
                String::new()
            },
            issue_count: if matches!(
                kind,
                CardKind::HkMoTwPermit | CardKind::ForeignPermanent2023
            ) {
                "02".into()
            } else {
                String::new()
            },
            photo: Vec::new(),
        }
    }

    /// The same card as the independent simulator writes it.
    fn sim_sample(kind: CardKind) -> kiosk_sims::SimCard {
        use kiosk_sims::{SimCard, SimCardKind};
        let c = sample(kind);
        let (sim_kind, nation, nationality) = match kind {
            CardKind::Resident => (SimCardKind::Resident, "05", ""),
            CardKind::HkMoTwPermit => (SimCardKind::HkMoTwPermit, "", ""),
            CardKind::ForeignPermanent2017 => (SimCardKind::Foreign2017, "", "CAN"),
            CardKind::ForeignPermanent2023 => (SimCardKind::Foreign2023, "", "CAN"),
        };
        SimCard {
            kind: Some(sim_kind),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            sex: "2".into(),
            nation: nation.into(),
            nationality: nationality.into(),
            birth: c.birth.clone(),
            address: c.address.clone(),
            number: c.id_number.clone(),
            authority: c.authority.clone(),
            valid_from: c.valid_from.clone(),
            valid_to: "20400101".into(),
            travel_permit: c.travel_permit.clone(),
            issue_count: c.issue_count.clone(),
            version: "01".into(),
            authority_code: c.authority.clone(),
            previous_link: String::new(),
            photo: Vec::new(),
        }
    }

    #[test]
    fn the_independent_simulators_blocks_decode_for_every_layout() {
        for kind in [
            CardKind::Resident,
            CardKind::HkMoTwPermit,
            CardKind::ForeignPermanent2017,
            CardKind::ForeignPermanent2023,
        ] {
            let block = sim_sample(kind).text_block().unwrap();
            assert_eq!(decode_text(&block).unwrap(), sample(kind), "{kind:?}");
        }
    }
}
