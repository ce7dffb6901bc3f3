//! How text lies on the paper: alignment and the columns characters take. Shared by the ESC/POS
//! builder and the raster fallback that draws what the printer's font lacks.

/// Where a line sits across the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// Columns a character takes: 1 for ASCII, 2 for anything printed in Chinese mode.
pub fn char_width(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Columns a string takes (see [`char_width`]).
pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}
