//! The kiosk speaks Chinese first: without a CJK font, Chinese text would silently vanish from the
//! screen. Check for one at start-up and refuse to start with a clear message instead.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error(
    "no Chinese (CJK) font was found in {searched}; install one, e.g. `apt-get install fonts-noto-cjk`"
)]
pub struct NoCjkFont {
    searched: String,
}

fn font_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/share/fonts"));
        dirs.push(Path::new(&home).join(".fonts"));
    }
    dirs
}

fn is_cjk_font(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.ends_with(".ttc") || n.ends_with(".otf") || n.ends_with(".ttf"))
        && (n.contains("cjk")
            || n.contains("wqy")
            || n.contains("sourcehansans")
            || n.contains("droidsansfallback"))
}

fn find_in(dir: &Path, depth: u32) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            if depth > 0
                && let Some(found) = find_in(&path, depth - 1)
            {
                return Some(found);
            }
        } else if is_cjk_font(&e.file_name().to_string_lossy()) {
            return Some(path);
        }
    }
    None
}

/// Finds a CJK font file, or says where it looked.
pub fn check_cjk_font() -> Result<PathBuf, NoCjkFont> {
    let dirs = font_dirs();
    for d in &dirs {
        if let Some(found) = find_in(d, 4) {
            return Ok(found);
        }
    }
    Err(NoCjkFont {
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_cjk_font_files() {
        assert!(is_cjk_font("NotoSansCJK-Regular.ttc"));
        assert!(is_cjk_font("wqy-microhei.ttc"));
        assert!(!is_cjk_font("DejaVuSans.ttf"));
        assert!(!is_cjk_font("NotoSansCJK.txt"));
    }

    #[test]
    fn empty_font_directory_has_no_cjk_font() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("DejaVuSans.ttf"), b"x").unwrap();
        assert_eq!(find_in(dir.path(), 2), None);
        std::fs::create_dir(dir.path().join("noto")).unwrap();
        std::fs::write(dir.path().join("noto/NotoSansCJK-Regular.ttc"), b"x").unwrap();
        assert!(find_in(dir.path(), 2).is_some());
    }
}
