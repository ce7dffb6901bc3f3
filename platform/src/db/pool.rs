//! A small blocking pool of connections.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// A small blocking pool: up to `max` connections, made when first needed.
pub struct Pool<C: Send + 'static> {
    pub(super) state: Mutex<PoolState<C>>,
    freed: Condvar,
    max: usize,
    wait: Duration,
    connect: Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>,
    healthy: fn(&C) -> bool,
}

pub(super) struct PoolState<C> {
    pub(super) idle: Vec<C>,
    pub(super) open: usize,
}

/// A connection taken from a [`Pool`]; it goes back when dropped.
pub struct Pooled<'a, C: Send + 'static> {
    pool: &'a Pool<C>,
    conn: Option<C>,
}

impl<C: Send + 'static> Drop for Pool<C> {
    /// Closes the idle connections on a thread of their own: closing a PostgreSQL client blocks,
    /// which must not happen on a thread that drives async tasks (where the last clone of the
    /// store may well be dropped).
    fn drop(&mut self) {
        let idle = match self.state.get_mut() {
            Ok(st) => std::mem::take(&mut st.idle),
            Err(poisoned) => std::mem::take(&mut poisoned.into_inner().idle),
        };
        if idle.is_empty() {
            return;
        }
        let closer = std::thread::Builder::new()
            .name("db-close".into())
            .spawn(move || drop(idle));
        if let Err(e) = closer {
            tracing::warn!(error = %e, "database connections could not be closed on a thread");
        }
    }
}

impl<C: Send + 'static> Pool<C> {
    pub(super) fn new(
        max: usize,
        connect: Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>,
        healthy: fn(&C) -> bool,
    ) -> Self {
        Self {
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            wait: Duration::from_secs(15),
            connect,
            healthy,
        }
    }

    pub(super) fn get(&self) -> Result<Pooled<'_, C>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut st = self.state.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(c),
                });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match (self.connect)() {
                    Ok(c) => Ok(Pooled {
                        pool: self,
                        conn: Some(c),
                    }),
                    Err(e) => {
                        if let Ok(mut st) = self.state.lock() {
                            st.open -= 1;
                        }
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            st = self
                .freed
                .wait_timeout(st, left)
                .map_err(|_| StoreError::Poisoned)?
                .0;
        }
    }
}

impl<C: Send + 'static> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let healthy = (self.pool.healthy)(&conn);
        if let Ok(mut st) = self.pool.state.lock() {
            if healthy {
                st.idle.push(conn);
            } else {
                st.open = st.open.saturating_sub(1);
            }
        }
        self.pool.freed.notify_one();
    }
}

impl<C: Send + 'static> std::ops::Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // Present from creation until drop.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}
impl<C: Send + 'static> std::ops::DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}
