//! Spoken guidance. The kiosk's display backend has no screen reader, so the kiosk speaks a
//! short prompt itself when a screen opens and on "listen again": the prompts live beside the
//! translations (`ui/translations/prompts.toml`, built into the binary), are synthesized offline
//! by espeak-ng (its `cmn` voice for Chinese, `en` for English) and played through ALSA
//! (`aplay`). A new prompt or "stop" interrupts the one playing.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use crate::session::{Lang, Speech};

const PROMPTS: &str = include_str!("../ui/translations/prompts.toml");

/// espeak-ng speed (words a minute) for the five speed steps; step 2 is the default, a little
/// slower than espeak's own 175.
pub const RATES: [u32; 5] = [110, 130, 150, 170, 190];
/// espeak-ng amplitude for the five volume steps (its default is 100).
pub const AMPLITUDES: [u32; 5] = [40, 70, 100, 140, 180];

#[derive(Debug, serde::Deserialize)]
struct Prompt {
    zh: String,
    en: String,
}

fn prompts() -> &'static HashMap<String, Prompt> {
    static P: OnceLock<HashMap<String, Prompt>> = OnceLock::new();
    P.get_or_init(|| match toml::from_str(PROMPTS) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "the voice prompts cannot be read");
            HashMap::new()
        }
    })
}

/// The names of every prompt.
pub fn prompt_keys() -> Vec<&'static str> {
    let mut k: Vec<&'static str> = prompts().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// The words of a prompt in a language.
pub fn prompt_text(key: &str, lang: Lang) -> Option<&'static str> {
    prompts().get(key).map(|p| match lang {
        Lang::Zh => p.zh.as_str(),
        Lang::En => p.en.as_str(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("no prompt named {0:?}")]
    NoPrompt(String),
    #[error("espeak-ng cannot be run: {0}")]
    Espeak(std::io::Error),
    #[error("espeak-ng failed: {0}")]
    EspeakFailed(String),
    #[error("espeak-ng gave no audio")]
    NoAudio,
}

/// A synthesized prompt: a WAV file (16-bit mono PCM) in memory.
#[derive(Debug, Clone)]
pub struct Audio {
    pub wav: Vec<u8>,
    pub sample_rate: u32,
}

impl Audio {
    /// The PCM samples (after the 44-byte header espeak-ng writes).
    pub fn samples(&self) -> impl Iterator<Item = i16> + '_ {
        self.wav
            .get(44..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
    }

    pub fn seconds(&self) -> f32 {
        self.wav.len().saturating_sub(44) as f32 / 2.0 / self.sample_rate.max(1) as f32
    }
}

/// Synthesizes a prompt with espeak-ng, at a speed and volume step (1 to 5).
pub fn synthesize(speech: &Speech) -> Result<Audio, VoiceError> {
    let text = prompt_text(speech.prompt, speech.lang)
        .ok_or_else(|| VoiceError::NoPrompt(speech.prompt.to_string()))?;
    let step = |s: u8, table: &[u32; 5]| table[usize::from(s.clamp(1, 5)) - 1];
    let out = Command::new("espeak-ng")
        .arg("--stdout")
        .arg("-v")
        .arg(match speech.lang {
            Lang::Zh => "cmn",
            Lang::En => "en",
        })
        .arg("-s")
        .arg(step(speech.rate, &RATES).to_string())
        .arg("-a")
        .arg(step(speech.volume, &AMPLITUDES).to_string())
        .arg("--")
        .arg(text)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(VoiceError::Espeak)?;
    if !out.status.success() {
        return Err(VoiceError::EspeakFailed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let wav = out.stdout;
    if wav.len() <= 44 || wav.get(..4) != Some(b"RIFF") {
        return Err(VoiceError::NoAudio);
    }
    let sample_rate = wav
        .get(24..28)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(22_050);
    Ok(Audio { wav, sample_rate })
}

enum Cmd {
    Say(Speech),
    Stop,
}

/// Plays prompts on a worker thread; the newest request wins and interrupts the one playing.
/// A silent voice (tests, headless runs) only records what it was asked to say.
#[derive(Clone)]
pub struct Voice {
    tx: Option<mpsc::Sender<Cmd>>,
    said: Arc<Mutex<Vec<Speech>>>,
    /// A prompt is sounding (its `aplay` runs).
    speaking: Arc<AtomicBool>,
}

impl Default for Voice {
    fn default() -> Self {
        Voice::silent()
    }
}

impl Voice {
    pub fn silent() -> Voice {
        Voice {
            tx: None,
            said: Arc::default(),
            speaking: Arc::default(),
        }
    }

    /// Speaks through ALSA (`aplay`, on `device` when given).
    pub fn start(device: Option<String>) -> Voice {
        let (tx, rx) = mpsc::channel();
        let speaking = Arc::new(AtomicBool::new(false));
        let flag = speaking.clone();
        let spawned = std::thread::Builder::new()
            .name("voice".into())
            .spawn(move || play_loop(rx, device, &flag));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the voice cannot start");
            return Voice::silent();
        }
        Voice {
            tx: Some(tx),
            said: Arc::default(),
            speaking,
        }
    }

    pub fn say(&self, speech: Speech) {
        if let Ok(mut s) = self.said.lock() {
            s.push(speech.clone());
            let excess = s.len().saturating_sub(64);
            s.drain(..excess);
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(Cmd::Say(speech));
        }
    }

    pub fn stop(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Cmd::Stop);
        }
    }

    /// Whether a prompt is sounding now.
    pub fn speaking(&self) -> bool {
        self.speaking.load(Ordering::Relaxed)
    }

    /// What was asked to be said, oldest first (the last 64).
    pub fn said(&self) -> Vec<Speech> {
        self.said.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn play_loop(rx: mpsc::Receiver<Cmd>, device: Option<String>, speaking: &AtomicBool) {
    let path: PathBuf = std::env::temp_dir().join(format!("hall-kiosk-{}.wav", std::process::id()));
    let mut playing: Option<Child> = None;
    let mut warned = false;
    loop {
        let mut cmd = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(cmd) => cmd,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The prompt ended by itself?
                if let Some(child) = &mut playing
                    && !matches!(child.try_wait(), Ok(None))
                {
                    playing = None;
                    speaking.store(false, Ordering::Relaxed);
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        // Only the newest request matters.
        while let Ok(next) = rx.try_recv() {
            cmd = next;
        }
        if let Some(mut child) = playing.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        speaking.store(false, Ordering::Relaxed);
        let Cmd::Say(speech) = cmd else {
            continue;
        };
        let audio = match synthesize(&speech) {
            Ok(a) => a,
            Err(e) => {
                if !warned {
                    tracing::warn!(error = %e, "spoken guidance is unavailable");
                    warned = true;
                }
                continue;
            }
        };
        let written = std::fs::File::create(&path).and_then(|mut f| f.write_all(&audio.wav));
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write the prompt's audio");
            continue;
        }
        let mut aplay = Command::new("aplay");
        aplay.arg("-q");
        if let Some(d) = &device {
            aplay.arg("-D").arg(d);
        }
        match aplay
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => {
                playing = Some(child);
                speaking.store(true, Ordering::Relaxed);
            }
            Err(e) if !warned => {
                tracing::warn!(error = %e, "aplay cannot be run: no spoken guidance");
                warned = true;
            }
            Err(_) => {}
        }
    }
    if let Some(mut child) = playing.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = std::fs::remove_file(&path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Screen;

    #[test]
    fn every_screen_and_overlay_has_a_prompt_in_both_languages() {
        let mut keys: Vec<&str> = Screen::ALL.iter().map(|s| s.prompt_key()).collect();
        keys.extend([
            "help",
            "timeout",
            "pay-timeout",
            "take-card",
            "take-receipt",
            "take-card-receipt",
            "rating-reason",
            "thanks",
        ]);
        for k in &keys {
            for lang in [Lang::Zh, Lang::En] {
                let t = prompt_text(k, lang).unwrap_or_default();
                assert!(!t.trim().is_empty(), "{k} has no {} prompt", lang.code());
            }
        }
        let mut all = prompt_keys();
        all.retain(|k| !keys.contains(k));
        assert!(all.is_empty(), "prompts no screen speaks: {all:?}");
    }

    /// Every prompt, in both languages, synthesizes to real audio: long enough for its words,
    /// not silence.
    #[test]
    fn every_prompt_renders_to_audio() {
        for key in prompt_keys() {
            for lang in [Lang::Zh, Lang::En] {
                let speech = Speech {
                    prompt: key,
                    lang,
                    volume: 3,
                    rate: 2,
                };
                let audio =
                    synthesize(&speech).unwrap_or_else(|e| panic!("{key} {}: {e}", lang.code()));
                assert!(
                    audio.seconds() > 1.0,
                    "{key} {}: {:.2} s",
                    lang.code(),
                    audio.seconds()
                );
                let loud = audio.samples().filter(|s| s.unsigned_abs() > 1000).count();
                assert!(loud > 1000, "{key} {}: silence", lang.code());
            }
        }
    }

    #[test]
    fn speed_and_volume_steps_change_the_audio() {
        let at = |volume, rate| {
            synthesize(&Speech {
                prompt: "home",
                lang: Lang::Zh,
                volume,
                rate,
            })
            .expect("audio")
        };
        let (slow, fast) = (at(3, 1), at(3, 5));
        assert!(slow.seconds() > fast.seconds() * 1.3, "slower is longer");
        let peak = |a: &Audio| a.samples().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(peak(&at(5, 2)) > peak(&at(1, 2)), "louder is louder");
    }

    #[test]
    fn a_silent_voice_records_and_keeps_the_last() {
        let v = Voice::silent();
        for _ in 0..70 {
            v.say(Speech {
                prompt: "home",
                lang: Lang::En,
                volume: 3,
                rate: 2,
            });
        }
        v.stop();
        assert_eq!(v.said().len(), 64);
    }
}
