//! Money is integer fen everywhere. This module only formats it.

/// `12345` fen → `123.45`.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", group_thousands(a / 100), a % 100)
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const SMALL_UNITS: [&str; 4] = ["", "拾", "佰", "仟"];
const BIG_UNITS: [&str; 3] = ["", "万", "亿"];

/// The amount in Chinese capitals as written on receipts: `12000` fen → `壹佰贰拾元整`,
/// `100050` → `壹仟元零伍角`, `5` → `伍分`. Amounts up to 9 999 9999 9999.99 yuan.
pub fn capitals(fen: i64) -> String {
    if fen == 0 {
        return "零元整".to_string();
    }
    let neg = fen < 0;
    let fen = fen.unsigned_abs();
    let yuan = fen / 100;
    let jiao = (fen / 10) % 10;
    let fen_d = fen % 10;
    let mut out = String::new();
    if neg {
        out.push('负');
    }
    if yuan > 0 {
        out.push_str(&integer_capitals(yuan));
        out.push('元');
    }
    if jiao == 0 && fen_d == 0 {
        out.push('整');
        return out;
    }
    if jiao > 0 {
        if yuan > 0 && yuan.is_multiple_of(10) {
            out.push('零');
        }
        out.push(DIGITS[jiao as usize]);
        out.push('角');
    } else if yuan > 0 {
        out.push('零');
    }
    if fen_d > 0 {
        out.push(DIGITS[fen_d as usize]);
        out.push('分');
    } else {
        out.push('整');
    }
    out
}

fn integer_capitals(mut n: u64) -> String {
    // split into groups of four digits, lowest first
    let mut groups = Vec::new();
    while n > 0 {
        groups.push((n % 10_000) as u16);
        n /= 10_000;
    }
    let mut out = String::new();
    let mut need_zero = false;
    for (gi, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            need_zero = !out.is_empty();
            continue;
        }
        if need_zero || (!out.is_empty() && g < 1000) {
            out.push('零');
        }
        out.push_str(&group_capitals(g));
        out.push_str(BIG_UNITS.get(gi).copied().unwrap_or("万亿"));
        need_zero = false;
    }
    out
}

fn group_capitals(g: u16) -> String {
    let digits = [g / 1000, (g / 100) % 10, (g / 10) % 10, g % 10];
    let mut out = String::new();
    let mut pending_zero = false;
    let mut started = false;
    for (i, &d) in digits.iter().enumerate() {
        if d == 0 {
            if started {
                pending_zero = true;
            }
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        started = true;
        out.push(DIGITS[d as usize]);
        out.push_str(SMALL_UNITS[3 - i]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        assert_eq!(yuan(12000), "120.00");
        assert_eq!(yuan(123456789), "1,234,567.89");
        assert_eq!(yuan(5), "0.05");
    }

    #[test]
    fn capitals_cases() {
        assert_eq!(capitals(12000), "壹佰贰拾元整");
        assert_eq!(capitals(0), "零元整");
        assert_eq!(capitals(5), "伍分");
        assert_eq!(capitals(50), "伍角整");
        assert_eq!(capitals(100050), "壹仟元零伍角整");
        assert_eq!(capitals(100005), "壹仟元零伍分");
        assert_eq!(capitals(100_100), "壹仟零壹元整");
        assert_eq!(capitals(1_000_000), "壹万元整");
        assert_eq!(capitals(1_005_000), "壹万零伍拾元整");
        assert_eq!(capitals(10_000_000_000), "壹亿元整");
        assert_eq!(capitals(10_001_000_000), "壹亿零壹万元整");
        assert_eq!(
            capitals(12_345_678_912),
            "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"
        );
        assert_eq!(capitals(1234), "壹拾贰元叁角肆分");
    }
}
