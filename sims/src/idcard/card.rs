//! The cards a simulated reader holds, and their 256-byte text blocks.
//!
//! Written from the public descriptions of the card layouts (GA 450 and the readers' SDK
//! manuals, as summarised in `drivers/PROTOCOLS.md`), independently of the driver's decoder:
//! UCS-2 little-endian, every field right-padded with spaces, the card-type flag at byte 248.

/// Which document lies on the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCardKind {
    /// 居民身份证: type flag space.
    Resident,
    /// 港澳台居民居住证: type flag `J`.
    HkMoTwPermit,
    /// 外国人永久居留身份证, 2017: type flag `I`.
    Foreign2017,
    /// 外国人永久居留身份证, 2023: type flag `Y`.
    Foreign2023,
}

/// A card's printed fields, as text (codes as the card stores them: sex `1`, nation `01`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimCard {
    pub kind: Option<SimCardKind>,
    /// Chinese name.
    pub name: String,
    /// English name (foreign cards).
    pub name_en: String,
    /// `0` unknown, `1` male, `2` female, `9` unstated.
    pub sex: String,
    /// Two-digit nation code (resident cards).
    pub nation: String,
    /// Three-letter nationality code (foreign cards).
    pub nationality: String,
    /// YYYYMMDD.
    pub birth: String,
    pub address: String,
    /// ID number, or permit number.
    pub number: String,
    pub authority: String,
    pub valid_from: String,
    /// YYYYMMDD or 长期.
    pub valid_to: String,
    /// HK/Macao/Taiwan travel permit number.
    pub travel_permit: String,
    /// Issue count (HK/Macao/Taiwan permits); renewal count (2023 foreign cards).
    pub issue_count: String,
    /// Link to the holder's previous (2017) card number (2023 foreign cards).
    pub previous_link: String,
    /// Card version (2017 foreign cards).
    pub version: String,
    /// Issuing authority code (2017 foreign cards).
    pub authority_code: String,
    /// The opaque WLT photo (1024 bytes).
    pub photo: Vec<u8>,
}

/// Why a card cannot be written into a text block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoesNotFit(pub &'static str);

fn put(
    block: &mut [u8; 256],
    offset: usize,
    len: usize,
    text: &str,
    field: &'static str,
) -> Result<(), DoesNotFit> {
    let mut at = offset;
    for unit in text.encode_utf16() {
        if at + 2 > offset + len {
            return Err(DoesNotFit(field));
        }
        block[at..at + 2].copy_from_slice(&unit.to_le_bytes());
        at += 2;
    }
    Ok(())
}

impl SimCard {
    /// The 256-byte text block: spaces (`20 00`) everywhere, then each field at its offset.
    pub fn text_block(&self) -> Result<[u8; 256], DoesNotFit> {
        let mut b = [0u8; 256];
        for pair in b.chunks_exact_mut(2) {
            pair.copy_from_slice(&[0x20, 0x00]);
        }
        match self.kind.unwrap_or(SimCardKind::Resident) {
            SimCardKind::Resident | SimCardKind::HkMoTwPermit => {
                let permit = self.kind == Some(SimCardKind::HkMoTwPermit);
                put(&mut b, 0, 30, &self.name, "name")?;
                put(&mut b, 30, 2, &self.sex, "sex")?;
                if !permit {
                    put(&mut b, 32, 4, &self.nation, "nation")?;
                }
                put(&mut b, 36, 16, &self.birth, "birth")?;
                put(&mut b, 52, 70, &self.address, "address")?;
                put(&mut b, 122, 36, &self.number, "number")?;
                put(&mut b, 158, 30, &self.authority, "authority")?;
                put(&mut b, 188, 16, &self.valid_from, "valid_from")?;
                put(&mut b, 204, 16, &self.valid_to, "valid_to")?;
                if permit {
                    put(&mut b, 220, 18, &self.travel_permit, "travel_permit")?;
                    put(&mut b, 238, 4, &self.issue_count, "issue_count")?;
                    put(&mut b, 248, 2, "J", "type")?;
                }
            }
            SimCardKind::Foreign2017 => {
                put(&mut b, 0, 120, &self.name_en, "name_en")?;
                put(&mut b, 120, 2, &self.sex, "sex")?;
                put(&mut b, 122, 30, &self.number, "number")?;
                put(&mut b, 152, 6, &self.nationality, "nationality")?;
                put(&mut b, 158, 30, &self.name, "name")?;
                put(&mut b, 188, 16, &self.valid_from, "valid_from")?;
                put(&mut b, 204, 16, &self.valid_to, "valid_to")?;
                put(&mut b, 220, 16, &self.birth, "birth")?;
                put(&mut b, 236, 4, &self.version, "version")?;
                put(&mut b, 240, 8, &self.authority_code, "authority_code")?;
                put(&mut b, 248, 2, "I", "type")?;
            }
            SimCardKind::Foreign2023 => {
                // The English name: characters 1–35 at 52, 36–46 at 220.
                let first: String = self.name_en.chars().take(35).collect();
                let more: String = self.name_en.chars().skip(35).collect();
                put(&mut b, 0, 30, &self.name, "name")?;
                put(&mut b, 30, 2, &self.sex, "sex")?;
                put(&mut b, 32, 4, &self.issue_count, "issue_count")?;
                put(&mut b, 36, 16, &self.birth, "birth")?;
                put(&mut b, 52, 70, &first, "name_en")?;
                put(&mut b, 122, 36, &self.number, "number")?;
                put(&mut b, 188, 16, &self.valid_from, "valid_from")?;
                put(&mut b, 204, 16, &self.valid_to, "valid_to")?;
                put(&mut b, 220, 22, &more, "name_en")?;
                put(&mut b, 242, 6, &self.nationality, "nationality")?;
                put(&mut b, 248, 2, "Y", "type")?;
                put(&mut b, 250, 6, &self.previous_link, "previous_link")?;
            }
        }
        Ok(b)
    }

    /// The demo card: a resident card for 张建国 (the number's check digit is right).
    pub fn demo() -> SimCard {
        SimCard {
            kind: Some(SimCardKind::Resident),
            name: "张建国".into(),
            sex: "1".into(),
            nation: "01".into(),
            birth: "19580312".into(),
            address: "湖北省襄阳市樊城区人民路18号3栋2单元501室".into(),
            number: "420602195803120011".into(),
            authority: "襄阳市公安局樊城分局".into(),
            valid_from: "20180312".into(),
            valid_to: "长期".into(),
            photo: demo_photo(),
            ..SimCard::default()
        }
    }
}

/// An opaque stand-in for a WLT photo block: "WLT" and noise, 1024 bytes.
pub fn demo_photo() -> Vec<u8> {
    let mut photo = Vec::with_capacity(1024);
    photo.extend_from_slice(b"WLT\0sim");
    let mut x: u32 = 0x1234_5678;
    while photo.len() < 1024 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        photo.push((x & 0xFF) as u8);
    }
    photo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_fields_land_at_their_offsets() {
        let b = SimCard::demo().text_block().unwrap();
        // 张 U+5F20, little-endian.
        assert_eq!(&b[0..2], &[0x20, 0x5F]);
        assert_eq!(&b[30..32], &[b'1', 0]);
        assert_eq!(&b[32..36], &[b'0', 0, b'1', 0]);
        assert_eq!(&b[36..38], &[b'1', 0]);
        assert_eq!(&b[122..124], &[b'4', 0]);
        // 长 U+957F at 204.
        assert_eq!(&b[204..206], &[0x7F, 0x95]);
        assert_eq!(&b[248..250], &[0x20, 0x00]);
        assert_eq!(&b[254..256], &[0x20, 0x00]);
    }

    #[test]
    fn type_flags() {
        for (kind, flag) in [
            (SimCardKind::HkMoTwPermit, b'J'),
            (SimCardKind::Foreign2017, b'I'),
            (SimCardKind::Foreign2023, b'Y'),
        ] {
            let card = SimCard {
                kind: Some(kind),
                ..SimCard::default()
            };
            assert_eq!(&card.text_block().unwrap()[248..250], &[flag, 0]);
        }
    }

    #[test]
    fn too_long_is_refused() {
        let card = SimCard {
            name: "一".repeat(16),
            ..SimCard::default()
        };
        assert_eq!(card.text_block(), Err(DoesNotFit("name")));
    }
}
