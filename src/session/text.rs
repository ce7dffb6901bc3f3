//! A field typed in words on the pinyin keyboard (a name, a project name): the composition and
//! its candidates come from [`crate::pinyin`].

use super::field::Problem;
use super::view::{FieldError, FieldView, ImeView, KeypadKind};
use crate::pinyin::{self, Composer};

/// Candidates on one page of the candidate bar, and the characters they may have together
/// (what fits across a portrait screen in large text).
pub const PAGE: usize = 5;
pub const PAGE_CHARS: usize = 7;

/// Words typed on the pinyin keyboard. The text may be a person's name: the composer wipes it
/// when cleared or dropped, and `Debug` never shows it.
#[derive(Debug)]
pub struct TextField {
    /// None only if the shipped dictionary could not be read (then nothing can be typed).
    composer: Option<Composer>,
    max_chars: usize,
    /// Set once the person asked to go on.
    insisted: bool,
}

impl TextField {
    pub fn new(max_chars: usize) -> Self {
        Self::with(max_chars, false)
    }

    /// A person's name: common surnames lead the candidates at its start.
    pub fn for_names(max_chars: usize) -> Self {
        Self::with(max_chars, true)
    }

    fn with(max_chars: usize, names: bool) -> Self {
        let composer = match pinyin::embedded() {
            Ok(d) => {
                let c = Composer::new(d, max_chars, PAGE).with_page_chars(PAGE_CHARS);
                Some(if names { c.for_names() } else { c })
            }
            Err(e) => {
                tracing::error!(error = %e, "the pinyin dictionary cannot be read");
                None
            }
        };
        TextField {
            composer,
            max_chars,
            insisted: false,
        }
    }

    /// The chosen text.
    pub fn text(&self) -> &str {
        self.composer.as_ref().map_or("", |c| c.text())
    }

    /// Nothing chosen and no letters typed.
    pub fn is_empty(&self) -> bool {
        self.composer.as_ref().is_none_or(|c| c.is_empty())
    }

    fn composing(&self) -> bool {
        self.composer
            .as_ref()
            .is_some_and(|c| !c.letters().is_empty())
    }

    /// Applies a key of the pinyin keyboard. Returns false when the intent is not one.
    pub fn edit(&mut self, intent: &super::Intent) -> bool {
        use super::Intent as I;
        let Some(c) = self.composer.as_mut() else {
            return matches!(
                intent,
                I::Key(_) | I::Backspace | I::Clear | I::Candidate(_) | I::CandidatePage(_)
            );
        };
        let result = match intent {
            I::Key(k) => c.key(*k),
            I::Backspace => {
                c.backspace();
                Ok(())
            }
            I::Clear => {
                c.clear();
                Ok(())
            }
            I::Candidate(i) => c.choose(*i),
            I::CandidatePage(true) => {
                c.next_page();
                Ok(())
            }
            I::CandidatePage(false) => {
                c.prev_page();
                Ok(())
            }
            _ => return false,
        };
        if let Err(e) = result {
            // A refused key changes nothing (the reason names no typed text).
            tracing::debug!(reason = %e, "pinyin key refused");
        }
        if !matches!(intent, I::CandidatePage(_)) {
            self.insisted = false;
        }
        true
    }

    /// Marks that the person tried to go on, and answers whether the text is complete: not
    /// empty and no letters left waiting for a choice.
    pub fn insist(&mut self) -> bool {
        self.insisted = true;
        self.problem().is_none()
    }

    /// Empty (nothing typed) or composing (letters typed, no candidate chosen yet), once the
    /// person tried to go on; letters waiting are reported even then only.
    pub fn problem(&self) -> Option<Problem> {
        if !self.insisted {
            return None;
        }
        if self.composing() {
            Some(Problem::new(FieldError::Composing))
        } else if self.text().is_empty() {
            Some(Problem::new(FieldError::Empty))
        } else {
            None
        }
    }

    pub fn view(&self, focused: bool) -> FieldView {
        let problem = self.problem();
        FieldView {
            value: self.text().to_string(),
            display: self.text().to_string(),
            error: problem.as_ref().map_or(FieldError::None, |p| p.error),
            error_a: 0,
            error_b: 0,
            ok: !self.text().is_empty() && !self.composing(),
            focused,
            keypad: KeypadKind::Pinyin,
            max_len: self.max_chars as i32,
        }
    }

    /// The composition and candidate bar of the keyboard.
    pub fn ime(&self) -> ImeView {
        let Some(c) = self.composer.as_ref() else {
            return ImeView::default();
        };
        let (page, pages) = c.pages();
        ImeView {
            letters: pinyin::spaced(c.letters()),
            candidates: c.page().iter().map(|x| x.text.clone()).collect(),
            has_prev: page > 0,
            has_next: page + 1 < pages,
        }
    }
}
