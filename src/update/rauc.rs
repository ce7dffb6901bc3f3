//! RAUC through its command line (Debian bookworm's rauc 1.8, talking to `rauc.service` over
//! D-Bus): `rauc status --output-format=json [--detailed]`, `rauc install <file>`, `rauc status
//! mark-good|mark-bad|mark-active booted|other`. Blocking: call from a blocking thread.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::rauc_parse::{InstallLine, RaucStatus, parse_install_line, parse_status};

#[derive(Debug, thiserror::Error)]
pub enum RaucError {
    #[error("cannot run {exe}: {source}")]
    Spawn { exe: String, source: std::io::Error },
    #[error("rauc {what} failed: {reason}")]
    Failed { what: String, reason: String },
    #[error(transparent)]
    Parse(#[from] super::rauc_parse::StatusParseError),
}

/// `mark-good`, `mark-bad`, `mark-active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Good,
    Bad,
    Active,
}

impl Mark {
    fn arg(self) -> &'static str {
        match self {
            Mark::Good => "mark-good",
            Mark::Bad => "mark-bad",
            Mark::Active => "mark-active",
        }
    }
}

/// The most of a command's output kept for a reason.
const REASON_MAX: usize = 300;

/// The rauc executable.
#[derive(Debug, Clone)]
pub struct Rauc {
    exe: PathBuf,
}

impl Rauc {
    pub fn new(exe: impl Into<PathBuf>) -> Rauc {
        Rauc { exe: exe.into() }
    }

    fn spawn_err(&self, source: std::io::Error) -> RaucError {
        RaucError::Spawn {
            exe: self.exe.display().to_string(),
            source,
        }
    }

    /// `rauc status --output-format=json` (`--detailed` adds each slot's installed bundle).
    pub fn status(&self, detailed: bool) -> Result<RaucStatus, RaucError> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("status").arg("--output-format=json");
        if detailed {
            cmd.arg("--detailed");
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_err(e))?;
        if !out.status.success() {
            return Err(RaucError::Failed {
                what: "status".into(),
                reason: reason(&out.stderr, out.status),
            });
        }
        Ok(parse_status(&String::from_utf8_lossy(&out.stdout))?)
    }

    /// `rauc status <mark> <slot>` (`booted`, `other` or a slot name); RAUC's message back.
    pub fn mark(&self, mark: Mark, slot: &str) -> Result<String, RaucError> {
        let out = Command::new(&self.exe)
            .args(["status", mark.arg(), slot])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| self.spawn_err(e))?;
        if !out.status.success() {
            return Err(RaucError::Failed {
                what: format!("status {} {slot}", mark.arg()),
                reason: reason(&out.stderr, out.status),
            });
        }
        Ok(clip(&String::from_utf8_lossy(&out.stdout)))
    }

    /// `rauc install <bundle>`, calling `progress` with each percentage it prints. The reason of
    /// a failure is RAUC's `LastError`, else the end of its error output, else the exit status.
    pub fn install(&self, bundle: &Path, mut progress: impl FnMut(u8)) -> Result<(), RaucError> {
        let mut child = Command::new(&self.exe)
            .arg("install")
            .arg(bundle)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_err(e))?;
        // Error output is read on its own thread, so neither pipe can fill up and stall RAUC.
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = e.by_ref().take(64 * 1024).read_to_end(&mut buf);
                buf
            })
        });
        let mut last_error = None;
        let mut succeeded = false;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).split(b'\n') {
                let Ok(line) = line else { break };
                match parse_install_line(&String::from_utf8_lossy(&line)) {
                    InstallLine::Progress { percent, .. } => progress(percent),
                    InstallLine::Error(e) => last_error = Some(e),
                    InstallLine::Succeeded => succeeded = true,
                    InstallLine::Failed(_) | InstallLine::Other(_) => {}
                }
            }
        }
        let status = child.wait().map_err(|e| self.spawn_err(e))?;
        let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        if status.success() && last_error.is_none() {
            if !succeeded {
                tracing::debug!("rauc install ended well without saying so");
            }
            return Ok(());
        }
        // The error output also carries `LastError:` when RAUC printed it there.
        let from_stderr = String::from_utf8_lossy(&err)
            .lines()
            .filter_map(|l| match parse_install_line(l) {
                InstallLine::Error(e) => Some(e),
                _ => None,
            })
            .next_back();
        Err(RaucError::Failed {
            what: "install".into(),
            reason: last_error
                .or(from_stderr)
                .map(|e| clip(&e))
                .unwrap_or_else(|| reason(&err, status)),
        })
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(REASON_MAX).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out.replace('\n', " / ")
}

/// The last non-empty lines of error output, or the exit status.
fn reason(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() {
        format!("exit {status}")
    } else {
        clip(&tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for rauc: a shell script printing what rauc 1.8 prints.
    fn fake(dir: &Path, body: &str) -> Rauc {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("rauc");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Rauc::new(path)
    }

    #[test]
    fn install_reports_progress_and_success() {
        let dir = tempfile::tempdir().unwrap();
        let rauc = fake(
            dir.path(),
            "echo installing\necho '  0% Installing'\necho ' 40% Copying image to rootfs.1'\n\
             echo '100% Installing done.'\necho idle\necho \"Installing \\`$2\\` succeeded\"",
        );
        let mut seen = Vec::new();
        rauc.install(Path::new("/x/1.5.0.raucb"), |p| seen.push(p))
            .unwrap();
        assert_eq!(seen, [0, 40, 100]);
    }

    #[test]
    fn install_failure_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let rauc = fake(
            dir.path(),
            "echo ' 20% Checking bundle'\n\
             echo 'LastError: signature verification failed: Verify error: unable to get local issuer certificate'\n\
             echo \"Installing \\`$2\\` failed\" >&2\nexit 1",
        );
        let e = rauc.install(Path::new("/x.raucb"), |_| {}).unwrap_err();
        assert!(
            e.to_string()
                .contains("unable to get local issuer certificate"),
            "{e}"
        );
        let rauc = fake(dir.path(), "echo 'No such file: /x.raucb' >&2\nexit 1");
        let e = rauc.install(Path::new("/x.raucb"), |_| {}).unwrap_err();
        assert!(e.to_string().contains("No such file"), "{e}");
        let missing = Rauc::new(dir.path().join("none"));
        assert!(matches!(
            missing.install(Path::new("/x"), |_| {}),
            Err(RaucError::Spawn { .. })
        ));
    }

    #[test]
    fn status_and_marks_run_the_commands() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let rauc = fake(
            dir.path(),
            &format!(
                "echo \"$@\" >> {}\ncase \"$2\" in\n mark-*) echo \"marked slot rootfs.1 as good\";;\n \
                 *) echo '{{\"compatible\":\"c\",\"booted\":\"A\",\"slots\":[{{\"rootfs.0\":{{\"class\":\"rootfs\",\"bootname\":\"A\",\"state\":\"booted\"}}}}]}}';;\nesac",
                log.display()
            ),
        );
        let s = rauc.status(true).unwrap();
        assert_eq!(s.compatible.as_deref(), Some("c"));
        assert_eq!(
            rauc.mark(Mark::Good, "booted").unwrap(),
            "marked slot rootfs.1 as good"
        );
        rauc.mark(Mark::Active, "other").unwrap();
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            calls,
            "status --output-format=json --detailed\nstatus mark-good booted\nstatus mark-active other\n"
        );
        let bad = fake(
            dir.path(),
            "echo 'Failed to get status: not an A/B system' >&2\nexit 1",
        );
        assert!(
            bad.status(false)
                .unwrap_err()
                .to_string()
                .contains("not an A/B system")
        );
    }
}
