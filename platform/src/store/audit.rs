//! Reading the audit chain.

use super::Store;
use crate::audit::{self};
use crate::error::StoreError;

impl Store {
    // --- audit -----------------------------------------------------------------------------------

    /// Walks the audit chain. Blocking.
    pub fn audit_verify_blocking(&self) -> Result<audit::Verdict, StoreError> {
        self.db.read(audit::verify)
    }

    /// The audit entries about one subject. Blocking.
    pub fn audit_for_blocking(&self, subject: &str) -> Result<Vec<audit::Entry>, StoreError> {
        self.db.read(|c| audit::for_subject(c, subject))
    }
}
