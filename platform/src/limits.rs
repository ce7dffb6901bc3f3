//! Rates kept in memory, keyed by who is authenticated, never by what a body claims: requests
//! per kiosk (its credential), and card lists per ID number (whichever kiosk asks); and, ahead of
//! any credential lookup, requests per network address (the peer of the connection), so that
//! unknown or forged credentials cannot make the platform read its database without bound. Attempt
//! limits that must hold across instances (case details) are counted in the database instead
//! (see [`crate::store::Store::case_details`]).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// A rate: `per_second` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// Lists of one ID number's cases: ten at once, then one every 90 s (so a real applicant who
/// ran into it waits a minute and a half at most; someone trying numbers gets 40 an hour).
pub const LISTS_PER_ID_BURST: u32 = 10;
pub const LISTS_PER_ID_EVERY: Duration = Duration::from_secs(90);

/// Keys kept before forgetting those that have fully recovered.
const PRUNE_PAST: usize = 10_000;

pub struct Limiters {
    clock: DefaultClock,
    kiosks: DefaultKeyedRateLimiter<String>,
    lists: DefaultKeyedRateLimiter<[u8; 32]>,
    peers: DefaultKeyedRateLimiter<std::net::IpAddr>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl Limiters {
    pub fn new(kiosk: Rate, peer: Rate) -> Self {
        let per_kiosk =
            Quota::per_second(nonzero(kiosk.per_second)).allow_burst(nonzero(kiosk.burst));
        let per_peer = Quota::per_second(nonzero(peer.per_second)).allow_burst(nonzero(peer.burst));
        let per_id = Quota::with_period(LISTS_PER_ID_EVERY)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(nonzero(LISTS_PER_ID_BURST));
        Limiters {
            clock: DefaultClock::default(),
            kiosks: RateLimiter::keyed(per_kiosk),
            lists: RateLimiter::keyed(per_id),
            peers: RateLimiter::keyed(per_peer),
        }
    }

    /// One request from the network address `peer`; `Err(wait)` when it is over its rate.
    pub fn peer(&self, peer: std::net::IpAddr) -> Result<(), Duration> {
        if self.peers.len() > PRUNE_PAST {
            self.peers.retain_recent();
        }
        self.peers
            .check_key(&peer)
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// One request of `kiosk`; `Err(wait)` when it is over its rate.
    pub fn kiosk(&self, kiosk: &str) -> Result<(), Duration> {
        if self.kiosks.len() > PRUNE_PAST {
            self.kiosks.retain_recent();
        }
        self.kiosks
            .check_key(&kiosk.to_string())
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }

    /// One list of the cases of the ID number whose digest this is.
    pub fn applicant_list(&self, id_digest: &[u8; 32]) -> Result<(), Duration> {
        if self.lists.len() > PRUNE_PAST {
            self.lists.retain_recent();
        }
        self.lists
            .check_key(id_digest)
            .map_err(|n| n.wait_time_from(self.clock.now()))
    }
}

/// How long a kiosk credential found in the database is taken on trust without asking again: a
/// revoked credential stops working within this time.
pub const CREDENTIAL_TRUST: Duration = Duration::from_secs(5);

/// Kiosk credentials recently found valid (by the SHA-256 of the credential), so that a kiosk's
/// every request does not cost a database read.
#[derive(Default)]
pub struct KnownCredentials {
    known: std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
}

impl KnownCredentials {
    /// The kiosk of a credential found valid less than [`CREDENTIAL_TRUST`] ago.
    pub fn kiosk(&self, sha: &str) -> Option<String> {
        let known = self.known.lock().ok()?;
        known
            .get(sha)
            .filter(|(_, at)| at.elapsed() < CREDENTIAL_TRUST)
            .map(|(k, _)| k.clone())
    }

    /// Forgets the credentials of a kiosk (revoked).
    pub fn forget_kiosk(&self, kiosk: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.retain(|_, (k, _)| k != kiosk);
        }
    }

    /// Remembers a credential just found valid.
    pub fn found(&self, sha: String, kiosk: String) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() > PRUNE_PAST {
                known.retain(|_, (_, at)| at.elapsed() < CREDENTIAL_TRUST);
            }
            known.insert(sha, (kiosk, std::time::Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_gets_its_burst_then_waits_and_others_are_not_affected() {
        let l = Limiters::new(
            Rate {
                per_second: 1,
                burst: 3,
            },
            Rate {
                per_second: 1000,
                burst: 1000,
            },
        );
        for _ in 0..3 {
            assert!(l.kiosk("K-1").is_ok());
        }
        let wait = l.kiosk("K-1").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(l.kiosk("K-2").is_ok());
    }

    #[test]
    fn an_id_number_gets_ten_lists_then_one_every_ninety_seconds() {
        let l = Limiters::new(
            Rate {
                per_second: 1,
                burst: 1,
            },
            Rate {
                per_second: 1000,
                burst: 1000,
            },
        );
        let (a, b) = ([1u8; 32], [2u8; 32]);
        for _ in 0..LISTS_PER_ID_BURST {
            assert!(l.applicant_list(&a).is_ok());
        }
        let wait = l.applicant_list(&a).unwrap_err();
        assert!(
            wait <= LISTS_PER_ID_EVERY && wait > Duration::from_secs(80),
            "{wait:?}"
        );
        assert!(l.applicant_list(&b).is_ok());
    }
}
