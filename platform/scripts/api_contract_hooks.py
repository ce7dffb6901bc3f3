"""The platform document's own formats, for Schemathesis: values that pass the checks the
formats name, computed here from the published standards (not from the platform's code), so
the contract test can send requests that are valid in every way the document says."""

import datetime
import pathlib
import tomllib

import schemathesis
from hypothesis import strategies as st

# Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004), as published.
DAMM = [
    "0317598642", "7092154863", "4206871359", "1750983426", "6123045978",
    "3674209581", "5869720134", "8945362017", "9438617205", "2581436790",
]


def damm(digits: str) -> str:
    interim = 0
    for d in digits:
        interim = int(DAMM[interim][int(d)])
    return str(interim)


def approval_code(draw_date: datetime.date, serial: int) -> str:
    body = draw_date.strftime("%Y%m%d") + f"{serial:07d}"
    return body + damm(body)


# GB 11643-1999: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11, 10 written X.
ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def id_check(first17: str) -> str:
    v = (12 - sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11) % 11
    return "X" if v == 10 else str(v)


# GB 32100-2015: 31 characters (no I, O, Z, S, V), weights 3^i mod 31, check = 31 - sum mod 31.
CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def credit_check(first17: str) -> str:
    v = 31 - sum(CREDIT.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS)) % 31
    return CREDIT[0 if v == 31 else v]


# The demo hall's own codes (platform/data/demo.toml), drawn as often as made-up ones, so that
# requests also reach cases, notices and registry entries that exist.
with open(pathlib.Path(__file__).resolve().parents[1] / "data" / "demo.toml", "rb") as f:
    DEMO = tomllib.load(f)
DEMO_DAY = datetime.date.fromisoformat(DEMO["code_date"])
DEMO_APPROVAL = [approval_code(DEMO_DAY, c["serial"]) for c in DEMO["cases"]]
DEMO_PAYMENT = [n["payment_code"] for n in DEMO["notices"]]
DEMO_PROJECT = [p["code"] for p in DEMO["projects"]]
DEMO_CREDIT = [o["credit_code"] for o in DEMO["organizations"]]
DEMO_ID = [DEMO["applicant"]["id_number"]]


def demo_or(values, made):
    return st.one_of(st.sampled_from(values), made)


dates = st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31))

schemathesis.openapi.format(
    "approval-code",
    demo_or(DEMO_APPROVAL, st.builds(approval_code, dates, st.integers(min_value=0, max_value=9_999_999))),
)
schemathesis.openapi.format("payment-code", demo_or(DEMO_PAYMENT, st.from_regex(r"\A[0-9]{20}\Z")))
schemathesis.openapi.format(
    "project-code",
    demo_or(
        DEMO_PROJECT,
        st.from_regex(r"\A(20[0-9]{18}|20[0-9]{2}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6})\Z"),
    ),
)
schemathesis.openapi.format(
    "id-number",
    demo_or(DEMO_ID, st.builds(
        lambda region, born, seq: (lambda f: f + id_check(f))(
            f"{region:06d}{born.strftime('%Y%m%d')}{seq:03d}"
        ),
        st.integers(min_value=110000, max_value=829999),
        st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2025, 12, 31)),
        st.integers(min_value=0, max_value=999),
    )),
)
schemathesis.openapi.format(
    "credit-code",
    demo_or(DEMO_CREDIT, st.text(alphabet=CREDIT, min_size=17, max_size=17).map(lambda f: f + credit_check(f))),
)
