//! The kiosk's client of the approval platform: a trait, so journeys can be driven against any
//! implementation, and the HTTPS implementation (reqwest + rustls).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use hall_domain::api::{
    self, ApplicationCreated, ApplicationRequest, CaseDetails, CaseDetailsRequest, CaseSummary,
    CaseView, FeeNotice, Item, Order, OrderRequest, OrganizationInfo, Problem, ProjectInfo,
};
use serde::de::DeserializeOwned;

/// Why a platform call did not give an answer the kiosk can use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No connection, a timeout, or the platform is down: say so honestly.
    #[error("the approval platform cannot be reached: {0}")]
    Unreachable(String),
    #[error("not found")]
    NotFound,
    /// The platform refused the request, with field-level reasons (422, 409, 400).
    #[error("refused: {}", .0.title)]
    Refused(Problem),
    /// The platform answered with something the kiosk does not understand.
    #[error("unexpected answer from the platform: {0}")]
    Protocol(String),
}

impl ApiError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ApiError::Unreachable(_))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
pub type ApiFuture<'a, T> = Pin<Box<dyn Future<Output = ApiResult<T>> + Send + 'a>>;

/// What the kiosk asks of the platform.
pub trait PlatformApi: Send + Sync {
    fn items(&self) -> ApiFuture<'_, Vec<Item>>;
    fn project(&self, code: &str) -> ApiFuture<'_, ProjectInfo>;
    fn organization(&self, credit_code: &str) -> ApiFuture<'_, OrganizationInfo>;
    fn submit(
        &self,
        idempotency_key: &str,
        req: &ApplicationRequest,
    ) -> ApiFuture<'_, ApplicationCreated>;
    fn case(&self, approval_code: &str) -> ApiFuture<'_, CaseView>;
    /// A case's details, answered only when `id_number` (read from the person's ID card) is the
    /// applicant's: 403 (refused) otherwise.
    fn case_details(&self, approval_code: &str, id_number: &str) -> ApiFuture<'_, CaseDetails>;
    /// The cases of the holder of `id_number` (read from their ID card), status only.
    fn cases_by_card(&self, id_number: &str) -> ApiFuture<'_, Vec<CaseSummary>>;
    fn fee_notice(&self, payment_code: &str) -> ApiFuture<'_, FeeNotice>;
    fn create_order(&self, payment_code: &str, req: &OrderRequest) -> ApiFuture<'_, Order>;
    fn order(&self, order_id: &str) -> ApiFuture<'_, Order>;
    fn cancel_order(&self, order_id: &str) -> ApiFuture<'_, Order>;
    /// Withdraws a submission the person was never told about (the kiosk stopped before it
    /// could say so). `Ok(true)` when a case was withdrawn, `Ok(false)` when none had arrived.
    fn withdraw(&self, idempotency_key: &str) -> ApiFuture<'_, bool>;
}

/// The largest answer the kiosk reads from the platform.
const MAX_BODY: usize = 1 << 20;

/// HTTPS client of the platform. Every request but the catalogue's carries the kiosk's own
/// credential (from its fleet enrolment) as `Authorization: Bearer`; the platform answers 401
/// without it, which the kiosk treats as an unreachable platform (nothing can be done for the
/// citizen; a submission waits in the outbox).
#[derive(Clone)]
pub struct HttpPlatform {
    base: String,
    http: reqwest::Client,
    credential: std::sync::Arc<std::sync::RwLock<Option<String>>>,
}

impl HttpPlatform {
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, ApiError> {
        let http = hall_client::link::builder(base_url)
            .map_err(|e| ApiError::Protocol(e.to_string()))?
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .user_agent(concat!("hall-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Protocol(format!("HTTP client: {e}")))?;
        Ok(HttpPlatform {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            credential: Default::default(),
        })
    }

    /// The kiosk's credential, once it has one (enrolment may finish after the client exists).
    pub fn set_credential(&self, credential: &str) {
        let credential = credential.trim().to_string();
        match self.credential.write() {
            Ok(mut c) => *c = Some(credential),
            Err(poisoned) => *poisoned.into_inner() = Some(credential),
        }
    }

    /// The client with the kiosk's credential set.
    pub fn with_credential(self, credential: &str) -> Self {
        self.set_credential(credential);
        self
    }

    fn authorised(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let credential = match self.credential.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        match credential {
            Some(c) => req.bearer_auth(c),
            None => req,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn answer<T: DeserializeOwned>(resp: reqwest::Response) -> ApiResult<T> {
        let status = resp.status();
        let bytes = read_limited(resp).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::Protocol(format!("{status}: {e}")));
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ApiError::NotFound);
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            tracing::error!("the platform does not accept this kiosk's credential: enrol it again");
            return Err(ApiError::Unreachable(
                "the platform does not accept this kiosk's credential (not enrolled, or revoked)"
                    .into(),
            ));
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) if status.is_client_error() => Err(ApiError::Refused(p)),
            Ok(p) => Err(ApiError::Unreachable(format!("{status}: {}", p.title))),
            Err(_) if status.is_server_error() => Err(ApiError::Unreachable(status.to_string())),
            Err(e) => Err(ApiError::Protocol(format!("{status}: {e}"))),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        let resp = self
            .authorised(self.http.get(self.url(path)))
            .send()
            .await
            .map_err(net)?;
        Self::answer(resp).await
    }

    async fn post<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> ApiResult<T> {
        let mut req = self.authorised(self.http.post(self.url(path))).json(body);
        if let Some(k) = idempotency_key {
            req = req.header(api::IDEMPOTENCY_HEADER, k);
        }
        let resp = req.send().await.map_err(net)?;
        Self::answer(resp).await
    }
}

fn net(e: reqwest::Error) -> ApiError {
    ApiError::Unreachable(e.to_string())
}

async fn read_limited(mut resp: reqwest::Response) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(net)? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::Protocol("answer too large".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Path segments come from typed or scanned codes; only digits, letters and dashes go into a URL.
fn segment(s: &str) -> ApiResult<&str> {
    if !s.is_empty() && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(s)
    } else {
        Err(ApiError::NotFound)
    }
}

impl PlatformApi for HttpPlatform {
    fn items(&self) -> ApiFuture<'_, Vec<Item>> {
        Box::pin(self.get(api::ITEMS))
    }
    fn project(&self, code: &str) -> ApiFuture<'_, ProjectInfo> {
        let path = segment(code).map(api::project_path);
        Box::pin(async move { self.get(&path?).await })
    }
    fn organization(&self, credit_code: &str) -> ApiFuture<'_, OrganizationInfo> {
        let path = segment(credit_code).map(api::organization_path);
        Box::pin(async move { self.get(&path?).await })
    }
    fn submit(
        &self,
        idempotency_key: &str,
        req: &ApplicationRequest,
    ) -> ApiFuture<'_, ApplicationCreated> {
        let (key, req) = (idempotency_key.to_string(), req.clone());
        Box::pin(async move { self.post(api::APPLICATIONS, &req, Some(&key)).await })
    }
    fn case(&self, approval_code: &str) -> ApiFuture<'_, CaseView> {
        let path = segment(approval_code).map(|c| {
            if hall_domain::codes::is_local_reference(c) {
                format!("/api/v1/cases/by-reference/{c}")
            } else {
                api::case_path(c)
            }
        });
        Box::pin(async move { self.get(&path?).await })
    }
    fn case_details(&self, approval_code: &str, id_number: &str) -> ApiFuture<'_, CaseDetails> {
        let path = segment(approval_code).map(api::case_details_path);
        let body = CaseDetailsRequest {
            id_number: id_number.to_string(),
        };
        Box::pin(async move { self.post(&path?, &body, None).await })
    }
    fn cases_by_card(&self, id_number: &str) -> ApiFuture<'_, Vec<CaseSummary>> {
        let body = CaseDetailsRequest {
            id_number: id_number.to_string(),
        };
        Box::pin(async move { self.post(api::CASES_BY_APPLICANT, &body, None).await })
    }
    fn fee_notice(&self, payment_code: &str) -> ApiFuture<'_, FeeNotice> {
        let path = segment(payment_code).map(api::fee_notice_path);
        Box::pin(async move { self.get(&path?).await })
    }
    fn create_order(&self, payment_code: &str, req: &OrderRequest) -> ApiFuture<'_, Order> {
        let path = segment(payment_code).map(api::orders_path);
        let req = req.clone();
        Box::pin(async move { self.post(&path?, &req, None).await })
    }
    fn order(&self, order_id: &str) -> ApiFuture<'_, Order> {
        let path = segment(order_id).map(api::order_path);
        Box::pin(async move { self.get(&path?).await })
    }
    fn cancel_order(&self, order_id: &str) -> ApiFuture<'_, Order> {
        let path = segment(order_id).map(api::order_cancel_path);
        Box::pin(async move { self.post(&path?, &serde_json::json!({}), None).await })
    }
    fn withdraw(&self, idempotency_key: &str) -> ApiFuture<'_, bool> {
        let key = idempotency_key.to_string();
        Box::pin(async move {
            let r: ApiResult<serde_json::Value> = self
                .post(
                    "/api/v1/applications/withdraw",
                    &serde_json::json!({}),
                    Some(&key),
                )
                .await;
            // `{"withdrawn": true}` when a case had arrived (now withdrawn), false when none
            // had (its key is refused from now on).
            r.map(|v| {
                v.get("withdrawn")
                    .and_then(|w| w.as_bool())
                    .unwrap_or(false)
            })
        })
    }
}

/// A platform client that can be switched off, for the simulator panel's "platform offline"
/// button: while off, every call fails as an unreachable platform would.
pub struct Switchable {
    inner: std::sync::Arc<dyn PlatformApi>,
    offline: std::sync::atomic::AtomicBool,
}

impl Switchable {
    pub fn new(inner: std::sync::Arc<dyn PlatformApi>) -> Self {
        Switchable {
            inner,
            offline: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn set_offline(&self, offline: bool) {
        self.offline
            .store(offline, std::sync::atomic::Ordering::SeqCst);
    }

    fn gate(&self) -> ApiResult<()> {
        if self.offline.load(std::sync::atomic::Ordering::SeqCst) {
            Err(ApiError::Unreachable("simulated network outage".into()))
        } else {
            Ok(())
        }
    }
}

macro_rules! gated {
    ($self:ident, $call:expr) => {{
        let gate = $self.gate();
        let fut = $call;
        Box::pin(async move {
            gate?;
            fut.await
        })
    }};
}

impl PlatformApi for Switchable {
    fn items(&self) -> ApiFuture<'_, Vec<Item>> {
        gated!(self, self.inner.items())
    }
    fn project(&self, code: &str) -> ApiFuture<'_, ProjectInfo> {
        gated!(self, self.inner.project(code))
    }
    fn organization(&self, credit_code: &str) -> ApiFuture<'_, OrganizationInfo> {
        gated!(self, self.inner.organization(credit_code))
    }
    fn submit(
        &self,
        idempotency_key: &str,
        req: &ApplicationRequest,
    ) -> ApiFuture<'_, ApplicationCreated> {
        gated!(self, self.inner.submit(idempotency_key, req))
    }
    fn case(&self, approval_code: &str) -> ApiFuture<'_, CaseView> {
        gated!(self, self.inner.case(approval_code))
    }
    fn case_details(&self, approval_code: &str, id_number: &str) -> ApiFuture<'_, CaseDetails> {
        gated!(self, self.inner.case_details(approval_code, id_number))
    }
    fn cases_by_card(&self, id_number: &str) -> ApiFuture<'_, Vec<CaseSummary>> {
        gated!(self, self.inner.cases_by_card(id_number))
    }
    fn fee_notice(&self, payment_code: &str) -> ApiFuture<'_, FeeNotice> {
        gated!(self, self.inner.fee_notice(payment_code))
    }
    fn create_order(&self, payment_code: &str, req: &OrderRequest) -> ApiFuture<'_, Order> {
        gated!(self, self.inner.create_order(payment_code, req))
    }
    fn order(&self, order_id: &str) -> ApiFuture<'_, Order> {
        gated!(self, self.inner.order(order_id))
    }
    fn cancel_order(&self, order_id: &str) -> ApiFuture<'_, Order> {
        gated!(self, self.inner.cancel_order(order_id))
    }
    fn withdraw(&self, idempotency_key: &str) -> ApiFuture<'_, bool> {
        gated!(self, self.inner.withdraw(idempotency_key))
    }
}
