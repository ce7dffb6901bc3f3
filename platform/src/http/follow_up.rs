//! The payments' follow-up pass, in the background: carries out the cancellations that had to
//! wait (a scanned payment code is never reversed within 15 s of its debit attempt), and brings
//! scanned payment codes past their payer's window to an end (queried, then reversed) even when
//! their kiosk stopped asking.

use std::time::Duration;

use super::payments::{Ask, carry_out_wanted_cancel, refresh};
use crate::problem::ApiError;
use crate::state::AppState;

/// Starts the pass; it ends when the platform stops.
pub(crate) fn spawn(st: AppState) {
    let mut stopping = st.stopping();
    // Often enough that a held cancellation ends within a second of its 15 s.
    let every = st.wallet_query_every().min(Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                changed = stopping.changed() => {
                    if changed.is_err() || *stopping.borrow() {
                        return;
                    }
                }
            }
            if let Err(e) = pass(&st).await {
                tracing::warn!(status = %e.status, detail = %e.detail,
                    "the payments' follow-up pass failed; it runs again shortly");
            }
        }
    });
}

async fn pass(st: &AppState) -> Result<(), ApiError> {
    let window = i64::try_from(st.payer_confirm_limit().as_millis()).unwrap_or(i64::MAX);
    let scans_before = st.clock().millis().saturating_sub(window);
    for order in st.store().orders_to_follow_up(scans_before).await? {
        if order.cancel_wanted_ms.is_some() {
            carry_out_wanted_cancel(st, order).await?;
        } else {
            refresh(st, order, Ask::Routine).await?;
        }
    }
    Ok(())
}
