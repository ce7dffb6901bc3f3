//! The reader state machine: SAM status once, then find → select → read, over and over.
//!
//! Sans-IO: [`Reader::poll`] says what to send (and handles reply timeouts using the time the
//! caller passes), [`Reader::on_bytes`] takes what arrived. The protocol has no request ids: a
//! reply belongs to the request outstanding.
//!
//! A card that stays on the reader is read once: after a read (or after giving up on a card),
//! "find card" must answer "no card" before the next card is read.

use std::time::{Duration, Instant};

use zeroize::Zeroize;

use super::IdCard;
use super::frame::{Command, FrameError, FrameParser, ReaderStatus};
use super::text::{TEXT_LEN, decode_text};
use crate::Health;

/// Timing and retry settings.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Time between "find card" requests while no card is there.
    pub poll_interval: Duration,
    /// How long to wait for the reply to a short request.
    pub reply_timeout: Duration,
    /// How long to wait for the reply to "read" (the SAM authenticates the card first).
    pub read_timeout: Duration,
    /// Attempts at selecting and reading one card before telling the person it failed.
    pub read_attempts: u32,
    /// Consecutive exchanges without a valid reply before the reader is reported absent.
    pub absent_after: u32,
    /// Time between SAM status checks while the security module is faulty or the reader silent.
    pub recheck_interval: Duration,
    /// Read the fingerprint too (30 10) instead of text and photo (30 01).
    pub fingerprint: bool,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(250),
            reply_timeout: Duration::from_millis(800),
            read_timeout: Duration::from_secs(3),
            read_attempts: 3,
            absent_after: 3,
            recheck_interval: Duration::from_secs(2),
            fingerprint: false,
        }
    }
}

/// What the state machine tells its caller.
// A card is read a few times a day per kiosk: moving it once is cheaper than boxing it.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ReaderOutput {
    CardRead(IdCard),
    /// A card is on the reader but could not be read; the message says why, in Chinese and
    /// English.
    CardError(String),
    /// The card read (or given up on) is still on the reader: said once, when "find card" finds
    /// it again. Many readers do not find a card they have read until it is put down again;
    /// those never say this (nor [`ReaderOutput::CardRemoved`]): whether the card is still there
    /// is then unknown.
    CardStays,
    /// The card that was said to stay has left the reader: "find card" answers "no card".
    CardRemoved,
    Health(Health),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SamStatus,
    Find,
    Select,
    Read,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// `due: None` means at once.
    Idle { step: Step, due: Option<Instant> },
    Awaiting {
        step: Step,
        sent_at: Instant,
        deadline: Instant,
    },
}

/// Why a read reply's data could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadDataError {
    #[error("read reply too short for its length fields")]
    Short,
    #[error("text length {0}, {TEXT_LEN} expected")]
    TextLength(usize),
    #[error("declared lengths exceed the reply")]
    Overrun,
    #[error(transparent)]
    Text(#[from] super::text::TextError),
}

/// Decodes the data of a successful read reply: the lengths of text, photo (and with
/// `fingerprint` a third, the fingerprint), each two bytes **big-endian** like the frame's LEN
/// (`01 00` = 256, `04 00` = 1024), then the blocks. See `drivers/PROTOCOLS.md`.
pub fn parse_read_data(data: &[u8], fingerprint: bool) -> Result<IdCard, ReadDataError> {
    let heads = if fingerprint { 3 } else { 2 };
    if data.len() < heads * 2 {
        return Err(ReadDataError::Short);
    }
    let len_at = |i: usize| usize::from(u16::from_be_bytes([data[2 * i], data[2 * i + 1]]));
    let text_len = len_at(0);
    let photo_len = len_at(1);
    let fp_len = if fingerprint { len_at(2) } else { 0 };
    if text_len != TEXT_LEN {
        return Err(ReadDataError::TextLength(text_len));
    }
    let start = heads * 2;
    if data.len() < start + text_len + photo_len + fp_len {
        return Err(ReadDataError::Overrun);
    }
    let text = &data[start..start + text_len];
    let mut card = decode_text(text)?;
    card.photo = data[start + text_len..start + text_len + photo_len].to_vec();
    Ok(card)
}

/// The reader state machine.
pub struct Reader {
    config: ReaderConfig,
    parser: FrameParser,
    state: State,
    /// A card was read (or given up on) and has not yet left the field.
    latched: bool,
    /// "Find card" found the latched card again (this reader can tell that it stays).
    stays: bool,
    attempts: u32,
    failures: u32,
    health: Option<Health>,
    outputs: Vec<ReaderOutput>,
}

impl Reader {
    pub fn new(config: ReaderConfig) -> Self {
        Self {
            config,
            parser: FrameParser::new(),
            state: State::Idle {
                step: Step::SamStatus,
                due: None,
            },
            latched: false,
            stays: false,
            attempts: 0,
            failures: 0,
            health: None,
            outputs: Vec::new(),
        }
    }

    /// The last health reported (`None` before the first exchange settles it).
    pub fn health(&self) -> Option<&Health> {
        self.health.as_ref()
    }

    /// When `poll` next has something to do; the caller may sleep (or read) until then.
    pub fn next_wakeup(&self) -> Option<Instant> {
        match self.state {
            State::Idle { due, .. } => due,
            State::Awaiting { deadline, .. } => Some(deadline),
        }
    }

    /// Advances time: returns a request frame to send now, if one is due. Reply timeouts are
    /// handled here; what they produce is collected by [`Reader::take_outputs`].
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        if let State::Awaiting {
            step,
            sent_at,
            deadline,
        } = self.state
        {
            if now < deadline {
                return None;
            }
            tracing::debug!(?step, "id card reader: no reply in time");
            self.parser.discard_partial();
            self.no_valid_reply(
                step,
                now.max(sent_at),
                "读卡器无应答 (no reply from the reader)",
            );
        }
        let State::Idle { step, due } = self.state else {
            return None;
        };
        if due.is_some_and(|d| now < d) {
            return None;
        }
        let cmd = match step {
            Step::SamStatus => Command::SamStatus,
            Step::Find => Command::FindCard,
            Step::Select => Command::SelectCard,
            Step::Read if self.config.fingerprint => Command::ReadTextFingerprint,
            Step::Read => Command::ReadText,
        };
        let timeout = if step == Step::Read {
            self.config.read_timeout
        } else {
            self.config.reply_timeout
        };
        self.state = State::Awaiting {
            step,
            sent_at: now,
            deadline: now + timeout,
        };
        Some(cmd.request())
    }

    /// Outputs produced by `poll` (timeouts).
    pub fn take_outputs(&mut self) -> Vec<ReaderOutput> {
        std::mem::take(&mut self.outputs)
    }

    /// Takes received bytes; returns what they mean (with any outputs `poll` left).
    pub fn on_bytes(&mut self, bytes: &[u8]) -> Vec<ReaderOutput> {
        self.parser.push(bytes);
        while let Some(item) = self.parser.pop() {
            let State::Awaiting { step, sent_at, .. } = self.state else {
                match item {
                    Ok(_) => tracing::debug!("id card reader: unsolicited frame ignored"),
                    Err(e) => tracing::debug!(%e, "id card reader: noise while idle"),
                }
                continue;
            };
            match item {
                Err(FrameError::Garbage { skipped }) => {
                    tracing::debug!(skipped, "id card reader: noise before a reply");
                }
                Err(e) => {
                    tracing::warn!(%e, ?step, "id card reader: corrupt reply");
                    self.no_valid_reply(
                        step,
                        sent_at,
                        "读卡器应答出错 (corrupt reply from the reader)",
                    );
                }
                Ok(frame) => match frame.as_reply() {
                    Ok(reply) => {
                        let status = reply.status();
                        let mut data = reply.data.to_vec();
                        self.on_reply(step, sent_at, status, &data);
                        data.zeroize();
                    }
                    Err(e) => {
                        tracing::warn!(%e, ?step, "id card reader: not a reply");
                        self.no_valid_reply(
                            step,
                            sent_at,
                            "读卡器应答出错 (corrupt reply from the reader)",
                        );
                    }
                },
            }
        }
        self.take_outputs()
    }

    fn set_health(&mut self, h: Health) {
        if self.health.as_ref() != Some(&h) {
            tracing::info!(health = ?h, "id card reader health");
            self.health = Some(h.clone());
            self.outputs.push(ReaderOutput::Health(h));
        }
    }

    fn idle(&mut self, step: Step, due: Option<Instant>) {
        self.state = State::Idle { step, due };
    }

    /// The exchange produced no usable reply (timeout or corrupt frame).
    fn no_valid_reply(&mut self, step: Step, at: Instant, why: &str) {
        self.failures += 1;
        if self.failures >= self.config.absent_after {
            self.set_health(Health::Absent(why.to_string()));
        }
        match step {
            Step::SamStatus => {
                let due = if self.failures >= self.config.absent_after {
                    at + self.config.recheck_interval
                } else {
                    at + self.config.poll_interval
                };
                self.idle(Step::SamStatus, Some(due));
            }
            Step::Find => {
                if self.failures >= self.config.absent_after {
                    // Start again from the SAM check when the reader comes back.
                    self.idle(Step::SamStatus, Some(at + self.config.recheck_interval));
                } else {
                    self.idle(Step::Find, Some(at + self.config.poll_interval));
                }
            }
            Step::Select | Step::Read => self.read_failed(why.to_string()),
        }
    }

    fn read_failed(&mut self, message: String) {
        self.attempts += 1;
        if self.attempts >= self.config.read_attempts {
            tracing::info!(attempts = self.attempts, "id card could not be read");
            self.outputs.push(ReaderOutput::CardError(message));
            self.latched = true;
            self.attempts = 0;
        }
        self.idle(Step::Find, None);
    }

    fn on_reply(&mut self, step: Step, sent_at: Instant, status: ReaderStatus, data: &[u8]) {
        self.failures = 0;
        if status.is_sam_fault() {
            self.set_health(Health::Absent(status.to_string()));
            self.idle(
                Step::SamStatus,
                Some(sent_at + self.config.recheck_interval),
            );
            return;
        }
        if status.is_request_error() {
            // The line corrupted our request: try the same step again.
            tracing::warn!(%status, ?step, "id card reader refused a request");
            match step {
                Step::Select | Step::Read => self.read_failed(status.to_string()),
                _ => self.idle(step, Some(sent_at + self.config.poll_interval)),
            }
            return;
        }
        let next_poll = Some(sent_at + self.config.poll_interval);
        match step {
            Step::SamStatus => {
                if status == ReaderStatus::Ok {
                    self.set_health(Health::Ok);
                } else {
                    self.set_health(Health::Degraded(status.to_string()));
                }
                self.idle(Step::Find, None);
            }
            Step::Find => {
                if self.health.is_none() || matches!(self.health, Some(Health::Absent(_))) {
                    self.set_health(Health::Ok);
                }
                match status {
                    ReaderStatus::CardFound if !self.latched => self.idle(Step::Select, None),
                    ReaderStatus::CardFound => {
                        if !self.stays {
                            self.stays = true;
                            self.outputs.push(ReaderOutput::CardStays);
                        }
                        self.idle(Step::Find, next_poll)
                    }
                    ReaderStatus::NoCard => {
                        if self.latched && self.stays {
                            self.outputs.push(ReaderOutput::CardRemoved);
                        }
                        self.latched = false;
                        self.stays = false;
                        self.attempts = 0;
                        self.idle(Step::Find, next_poll);
                    }
                    other => {
                        tracing::debug!(%other, "id card reader: find card answered");
                        self.idle(Step::Find, next_poll);
                    }
                }
            }
            Step::Select => {
                if status == ReaderStatus::Ok {
                    self.idle(Step::Read, None);
                } else {
                    self.read_failed(status.to_string());
                }
            }
            Step::Read => {
                if status != ReaderStatus::Ok {
                    self.read_failed(status.to_string());
                    return;
                }
                match parse_read_data(data, self.config.fingerprint) {
                    Ok(card) => {
                        tracing::info!(kind = ?card.kind, "id card read");
                        self.outputs.push(ReaderOutput::CardRead(card));
                        self.latched = true;
                        self.attempts = 0;
                        self.idle(Step::Find, next_poll);
                    }
                    Err(e) => {
                        tracing::warn!(%e, "id card data could not be decoded");
                        self.read_failed(
                            "证件信息无法解析，请重新放置身份证 (the card data could not be decoded)"
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
}

// The tests play the simulators against the driver.
#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::sim::demo_card;
    use kiosk_sims::SimCard;
    use kiosk_sims::idcard::reply_frame;

    fn card() -> IdCard {
        demo_card()
    }

    /// The read reply of the simulator (written apart from this driver) for the demo card.
    fn read_reply(_: &IdCard) -> Vec<u8> {
        let mut data = vec![0x01, 0x00, 0x04, 0x00];
        data.extend_from_slice(&SimCard::demo().text_block().unwrap());
        data.extend_from_slice(&SimCard::demo().photo);
        reply_frame(0x90, &data)
    }

    fn ok(sw3: u8) -> Vec<u8> {
        reply_frame(sw3, &[])
    }

    struct Clock(Instant);
    impl Clock {
        fn at(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    #[test]
    fn full_cycle_reads_a_card_once_while_it_stays() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig::default());
        assert_eq!(r.poll(t.at(0)), Some(Command::SamStatus.request()));
        assert_eq!(r.poll(t.at(1)), None, "one request at a time");
        assert_eq!(
            r.on_bytes(&ok(0x90)),
            vec![ReaderOutput::Health(Health::Ok)]
        );
        assert_eq!(r.poll(t.at(2)), Some(Command::FindCard.request()));
        assert!(r.on_bytes(&ok(0x80)).is_empty());
        // Next find only after the poll interval.
        assert_eq!(r.poll(t.at(100)), None);
        assert_eq!(r.next_wakeup(), Some(t.at(252)));
        assert_eq!(r.poll(t.at(252)), Some(Command::FindCard.request()));
        assert!(r.on_bytes(&ok(0x9F)).is_empty());
        assert_eq!(r.poll(t.at(253)), Some(Command::SelectCard.request()));
        assert!(r.on_bytes(&ok(0x90)).is_empty());
        assert_eq!(r.poll(t.at(254)), Some(Command::ReadText.request()));
        // The reply arrives in pieces.
        let reply = read_reply(&card());
        assert!(r.on_bytes(&reply[..100]).is_empty());
        let out = r.on_bytes(&reply[100..]);
        let [ReaderOutput::CardRead(got)] = &out[..] else {
            panic!("expected one card, got {} outputs", out.len());
        };
        assert_eq!(got, &card());
        // The card stays: a reader that still reports it is not read again (said once).
        for i in 0..5 {
            let at = t.at(600 + i * 300);
            assert_eq!(r.poll(at), Some(Command::FindCard.request()));
            let out = r.on_bytes(&ok(0x9F));
            if i == 0 {
                assert_eq!(out, vec![ReaderOutput::CardStays]);
            } else {
                assert!(out.is_empty());
            }
        }
        // It leaves (said once), comes back: read again.
        assert_eq!(r.poll(t.at(3000)), Some(Command::FindCard.request()));
        assert_eq!(r.on_bytes(&ok(0x80)), vec![ReaderOutput::CardRemoved]);
        assert_eq!(r.poll(t.at(3300)), Some(Command::FindCard.request()));
        r.on_bytes(&ok(0x9F));
        assert_eq!(r.poll(t.at(3301)), Some(Command::SelectCard.request()));
    }

    #[test]
    fn read_failures_are_retried_then_reported_once() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig::default());
        r.poll(t.at(0));
        r.on_bytes(&ok(0x90));
        let mut errors = Vec::new();
        let mut ms = 1;
        for _ in 0..3 {
            assert_eq!(r.poll(t.at(ms)), Some(Command::FindCard.request()));
            r.on_bytes(&ok(0x9F));
            assert_eq!(r.poll(t.at(ms + 1)), Some(Command::SelectCard.request()));
            r.on_bytes(&ok(0x90));
            assert_eq!(r.poll(t.at(ms + 2)), Some(Command::ReadText.request()));
            errors.extend(r.on_bytes(&ok(0x41)));
            ms += 10;
        }
        assert_eq!(
            errors,
            vec![ReaderOutput::CardError(
                ReaderStatus::ReadFailed.to_string()
            )]
        );
        // Given up on this card: it is not selected again while it stays.
        assert_eq!(r.poll(t.at(ms)), Some(Command::FindCard.request()));
        r.on_bytes(&ok(0x9F));
        assert_eq!(r.poll(t.at(ms + 1)), None);
        assert_eq!(r.poll(t.at(ms + 300)), Some(Command::FindCard.request()));
    }

    #[test]
    fn select_failure_counts_as_an_attempt() {
        let t = Clock(Instant::now());
        let cfg = ReaderConfig {
            read_attempts: 1,
            ..ReaderConfig::default()
        };
        let mut r = Reader::new(cfg);
        r.poll(t.at(0));
        r.on_bytes(&ok(0x90));
        r.poll(t.at(1));
        r.on_bytes(&ok(0x9F));
        r.poll(t.at(2));
        let out = r.on_bytes(&ok(0x81));
        assert_eq!(
            out,
            vec![ReaderOutput::CardError(
                ReaderStatus::SelectFailed.to_string()
            )]
        );
    }

    #[test]
    fn silence_makes_the_reader_absent_and_a_reply_brings_it_back() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig::default());
        let mut ms = 0;
        let mut outs = Vec::new();
        for _ in 0..3 {
            assert_eq!(r.poll(t.at(ms)), Some(Command::SamStatus.request()));
            ms += 800;
            assert_eq!(
                r.poll(t.at(ms)),
                None,
                "timeout handled, next one not yet due"
            );
            outs.extend(r.take_outputs());
            ms += 250;
        }
        assert!(
            matches!(&outs[..], [ReaderOutput::Health(Health::Absent(m))] if m.contains("no reply")),
            "{outs:?}"
        );
        // Retried at the slower recheck interval.
        assert_eq!(r.poll(t.at(ms)), None);
        ms += 2000;
        assert_eq!(r.poll(t.at(ms)), Some(Command::SamStatus.request()));
        assert_eq!(
            r.on_bytes(&ok(0x90)),
            vec![ReaderOutput::Health(Health::Ok)]
        );
    }

    #[test]
    fn sam_faults_make_the_reader_absent() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig::default());
        r.poll(t.at(0));
        let out = r.on_bytes(&ok(0x60));
        assert_eq!(
            out,
            vec![ReaderOutput::Health(Health::Absent(
                ReaderStatus::SamSelfTestFailed.to_string()
            ))]
        );
        assert_eq!(r.poll(t.at(500)), None);
        assert_eq!(r.poll(t.at(2000)), Some(Command::SamStatus.request()));
    }

    #[test]
    fn corrupt_and_noisy_replies() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig::default());
        r.poll(t.at(0));
        // Noise, then a good reply: the reply counts.
        let mut bytes = vec![0x00, 0x13, 0x37];
        bytes.extend(ok(0x90));
        assert_eq!(r.on_bytes(&bytes), vec![ReaderOutput::Health(Health::Ok)]);
        // A corrupt reply to find: retried after the interval.
        assert_eq!(r.poll(t.at(1)), Some(Command::FindCard.request()));
        let mut bad = ok(0x9F);
        bad[9] ^= 1;
        assert!(r.on_bytes(&bad).is_empty());
        assert_eq!(r.poll(t.at(2)), None);
        assert_eq!(r.poll(t.at(251)), Some(Command::FindCard.request()));
        // A truncated reply times out; the next exchange still works.
        r.on_bytes(&ok(0x9F)[..6]);
        assert_eq!(r.poll(t.at(1051)), None);
        assert_eq!(r.poll(t.at(1301)), Some(Command::FindCard.request()));
        r.on_bytes(&ok(0x9F));
        assert_eq!(r.poll(t.at(1302)), Some(Command::SelectCard.request()));
    }

    #[test]
    fn undecodable_card_data_is_a_read_failure() {
        let t = Clock(Instant::now());
        let mut r = Reader::new(ReaderConfig {
            read_attempts: 1,
            ..ReaderConfig::default()
        });
        r.poll(t.at(0));
        r.on_bytes(&ok(0x90));
        r.poll(t.at(1));
        r.on_bytes(&ok(0x9F));
        r.poll(t.at(2));
        r.on_bytes(&ok(0x90));
        r.poll(t.at(3));
        let mut data = vec![0x01, 0x00, 0x04, 0x00];
        data.extend([0x20; 100]);
        let out = r.on_bytes(&reply_frame(0x90, &data));
        assert!(matches!(&out[..], [ReaderOutput::CardError(m)] if m.contains("decoded")));
    }

    #[test]
    fn read_data_with_fingerprint_lengths() {
        let c = card();
        let mut data = vec![0x01, 0x00, 0x04, 0x00, 0x04, 0x00];
        data.extend_from_slice(&SimCard::demo().text_block().unwrap());
        data.extend_from_slice(&c.photo);
        data.extend([0u8; 1024]);
        assert_eq!(parse_read_data(&data, true).unwrap(), c);
        assert_eq!(
            parse_read_data(&data[..600], true),
            Err(ReadDataError::Overrun)
        );
        assert_eq!(parse_read_data(&[1], false), Err(ReadDataError::Short));
        assert_eq!(
            parse_read_data(&[0x02, 0x00, 0, 0], false),
            Err(ReadDataError::TextLength(512))
        );
        // The little-endian reading of a real reply's lengths is refused, not misread.
        assert_eq!(
            parse_read_data(&[0x00, 0x01, 0x00, 0x04], false),
            Err(ReadDataError::TextLength(1))
        );
    }
}
