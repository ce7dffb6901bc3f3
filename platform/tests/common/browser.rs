//! A browser-like client of the console (cookies kept by hand, no redirects followed) and
//! console accounts made with the command line.

use std::io::Write;

use reqwest::StatusCode;

/// A form body as a browser sends it (application/x-www-form-urlencoded).
pub fn encode(form: &[(&str, &str)]) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A browser-like client: no redirects followed, cookies kept by hand.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: std::collections::HashMap<String, String>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: Default::default(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, r: &reqwest::Response) -> Vec<String> {
        let set: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.insert(k.to_string(), v.to_string());
        }
        set
    }

    /// Sends a request with the kept cookies, keeps the ones it sets: (status, body, Location).
    pub async fn send(
        &mut self,
        req: reqwest::RequestBuilder,
    ) -> (StatusCode, String, Option<String>) {
        let r = req
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&r);
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (r.status(), r.text().await.unwrap(), location)
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String, Option<String>) {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form));
        self.send(req).await
    }

    /// The hidden form token of a page.
    pub fn token(page: &str) -> String {
        let at = page.find("name=\"csrf\" value=\"").expect("a form token") + 19;
        page[at..].split('"').next().unwrap().to_string()
    }

    pub async fn sign_in(
        &mut self,
        name: &str,
        password: &str,
    ) -> (StatusCode, String, Option<String>) {
        let (_, page, _) = self.get("/console/login").await;
        let token = Self::token(&page);
        self.post(
            "/console/login",
            &[("csrf", &token), ("name", name), ("password", password)],
        )
        .await
    }
}

/// `hall-platform console user add`, with a password on standard input or a first one printed.
pub fn add_user(
    db: &str,
    name: &str,
    role: &str,
    password: Option<&str>,
) -> (bool, String, String) {
    let mut args = vec![
        "console".to_string(),
        "user".into(),
        "add".into(),
        "--db".into(),
        db.to_string(),
        "--name".into(),
        name.into(),
        "--role".into(),
        role.into(),
    ];
    if password.is_some() {
        args.push("--password-stdin".into());
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hall-platform"))
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(p) = password {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{p}\n").as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}
