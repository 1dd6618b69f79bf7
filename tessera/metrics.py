"""What Tessera counts, for `/metrics` in Prometheus' text format (prometheus-client).

One definition below every package, as the vocabulary is: each package counts its own events
here and none imports another to do it. Labels are closed words (an action, an outcome, a
policy id, a factor, an entity type, a route template): never a tenant's data, a subject, a
token or a value, so the scrape is safe to leave open (or behind `TESSERA_METRICS_TOKEN`).

Under several workers, prometheus-client's multiprocess mode keeps each process's values in
`PROMETHEUS_MULTIPROC_DIR` (set by `tessera serve --workers N` before the workers start), and
the scrape adds them up.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "AUDIT_APPEND_SECONDS",
    "AUDIT_LAST_CHECKPOINT",
    "CONSENT_APPENDS",
    "DECISIONS",
    "GROUP_COMMIT_SIZE",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "KEY_CACHE",
    "OPEN_REQUESTS",
    "PAYMENTS",
    "RATE_LIMITED",
    "REDACTION_FINDINGS",
    "REDACTION_UTTERANCES",
    "RISK_SCORES",
    "STEP_UPS",
]

# Latency buckets from a cached key check (tens of microseconds) to a slow redaction.
_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "tessera_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "tessera_http_request_seconds",
    "Time to answer, by route template",
    ["route", "method"],
    buckets=_FAST,
)
DECISIONS = Counter(
    "tessera_gateway_decisions",
    "Access decisions recorded, by action, outcome and the policy that decided",
    ["action", "outcome", "policy"],
)
STEP_UPS = Counter(
    "tessera_auth_step_ups", "Step-up answers, by factor and result", ["factor", "result"]
)
RISK_SCORES = Histogram(
    "tessera_auth_risk_score",
    "Risk scores of assessed sign-ins and actions (surprise, in bits)",
    ["action"],
    buckets=(0.5, 1, 2, 3, 4, 6, 8, 10, 14, 20, 30),
)
CONSENT_APPENDS = Counter(
    "tessera_consent_appends", "Consent events appended to the ledger, by kind", ["kind"]
)
GROUP_COMMIT_SIZE = Histogram(
    "tessera_group_commit_size",
    "Items written per group commit, by ledger",
    ["ledger"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
AUDIT_APPEND_SECONDS = Histogram(
    "tessera_audit_append_seconds", "Time to append to the audit log (a group write)", buckets=_FAST
)
AUDIT_LAST_CHECKPOINT = Gauge(
    "tessera_audit_last_checkpoint_timestamp_seconds",
    "When the newest signed audit checkpoint was made (age: time() - this)",
    multiprocess_mode="max",
)
REDACTION_UTTERANCES = Counter("tessera_redaction_utterances", "Texts and turns redacted")
REDACTION_FINDINGS = Counter(
    "tessera_redaction_findings", "Personal data found in transcripts, by entity type", ["entity"]
)
OPEN_REQUESTS = Gauge(
    "tessera_requests_open",
    "Open data-subject requests, by state and whether overdue (read at scrape)",
    ["state", "overdue"],
    multiprocess_mode="mostrecent",
)
PAYMENTS = Counter(
    "tessera_payments",
    "Payments reaching a state, by state and SCA exemption",
    ["state", "exemption"],
)
KEY_CACHE = Counter("tessera_vault_key_cache", "Data-key cache lookups, by result", ["result"])
RATE_LIMITED = Counter("tessera_rate_limited", "Requests refused by the per-key rate limit")
