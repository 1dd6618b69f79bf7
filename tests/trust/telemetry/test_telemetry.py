"""What operations see of a running server: `/metrics`, traces and log lines. Each counts or
describes what happened by closed words; none carries a personal value, a token or a key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tessera.trust import Services, create_app
from tessera.trust.telemetry import (
    REQUEST_ID,
    TENANT,
    JsonLines,
    PersonalDataFilter,
    server_telemetry,
    tracing_provider,
)
from tests.conftest import Stores
from tests.trust.conftest import settings_for

EMAIL = "jean.dupont@example.fr"
PHONE = "+33 6 12 34 56 78"
PAN = "4970101234567893"
IBAN = "FR7630006000011234567890189"
SUBJECT = "cust-telemetry-1"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _traffic(client: TestClient, auth: dict[str, str]) -> str:
    token = client.post(
        "/v1/tokens", json={"value": EMAIL, "category": "email", "subject": SUBJECT}, headers=auth
    ).json()["token"]
    client.post(
        "/v1/consents",
        json={
            "subject": SUBJECT,
            "purpose": "analytics",
            "kind": "given",
            "channel": "web",
            "evidence": {"form_id": "f1", "session_id": "s1"},
        },
        headers=auth,
    )
    for action in ("read_masked", "detokenize"):
        client.post(
            "/v1/access",
            json={
                "action": action,
                "purpose": "customer_service",
                "channel": "chat",
                "tokens": [token],
            },
            headers=auth,
        )
    client.post("/v1/redact", json={"text": f"écrivez à {EMAIL}, carte {PAN}"}, headers=auth)
    client.get(f"/v1/consents/{SUBJECT}", headers=auth)
    client.get(f"/v1/consents/{SUBJECT}/history?limit=5", headers=auth)
    client.get("/healthz")
    return token


def test_metrics_count_by_closed_words_and_hold_no_personal_value(
    client: TestClient, auth: dict[str, str]
) -> None:
    token = _traffic(client, auth)
    for made_up in ("PURGE", "X-SUBJECT-S-42"):  # a method's word is the caller's: not a label
        client.request(made_up, "/v1/access", headers=auth)
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(answer.text)

    def seen(name: str, **labels: str) -> float:
        return sum(
            v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)
        )

    assert seen("tessera_http_requests_total", route="/v1/access", method="POST") >= 2
    assert seen("tessera_http_requests_total", route="/v1/consents/{subject}", status="200") >= 1
    assert seen("tessera_http_request_seconds_count", route="/v1/tokens") >= 1
    assert seen("tessera_gateway_decisions_total", action="read_masked", outcome="allow") >= 1
    assert seen("tessera_consent_appends_total", kind="given") >= 1
    assert seen("tessera_group_commit_size_count", ledger="audit") >= 1
    assert seen("tessera_audit_append_seconds_count") >= 1
    assert seen("tessera_redaction_findings_total", entity="EMAIL") >= 1
    assert seen("tessera_redaction_utterances_total") >= 1
    assert seen("tessera_vault_key_cache_total") >= 1
    assert seen("tessera_http_requests_total", route="/v1/access", method="_OTHER") >= 2
    assert "PURGE" not in answer.text and "X-SUBJECT" not in answer.text
    # By template, never by the path a caller sent; nothing of the customer.
    for secret in (EMAIL, PAN, SUBJECT, token, auth["Authorization"].split()[1]):
        assert secret not in answer.text


def test_metrics_count_sign_ins_requests_payments_checkpoints_and_refusals(
    services: Services, client: TestClient, auth: dict[str, str], tenant: str, issue
) -> None:
    """The rest of what an operator watches: risk scores and step-ups by factor and result,
    open requests by state (read at scrape), payments by state from their creation, the last
    checkpoint's time and rate-limit refusals."""
    import dataclasses

    from tests.trust.http.test_api_auth import _customer, _sign_in
    from tests.trust.http.test_api_payments import create_payment

    _customer(client, auth, "cust-metrics-auth")
    _sign_in(client, services, auth, "cust-metrics-auth")
    from tessera.trust import Scope

    agent = issue(tenant, [Scope.DSR], "agent")  # an agent on the phone opens it
    opened = client.post(
        "/v1/dsr",
        json={"subject": "cust-metrics-auth", "kind": "access", "channel": "voice_agent"},
        headers=agent,
    )
    assert opened.status_code == 201, opened.text
    create_payment(client, auth, 1500, "metrics-pay-1", subject="cust-metrics-pay")
    services.audit.checkpoint(tenant)
    limited = dataclasses.replace(
        services,
        settings=services.settings.model_copy(
            update={"rate_limit_per_second": 0.5, "rate_limit_burst": 1}
        ),
    )
    tight = TestClient(create_app(limited))
    answers = [tight.get("/v1/subjects/s1/tokens", headers=auth).status_code for _ in range(2)]
    assert answers == [200, 429]
    samples = _samples(client.get("/metrics").text)

    def seen(name: str, **labels: str) -> float:
        return sum(
            v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)
        )

    assert seen("tessera_auth_risk_score_count", action="login") >= 1
    assert seen("tessera_auth_step_ups_total", factor="otp", result="passed") >= 1
    assert seen("tessera_requests_open", overdue="false") >= 1
    assert seen("tessera_payments_total", state="created", exemption="none") >= 1
    assert seen("tessera_audit_last_checkpoint_timestamp_seconds") > 0
    assert seen("tessera_rate_limited_total") >= 1


def test_the_metrics_token_keeps_scrapers_apart(
    shared_stores: Stores, services: Services, tmp_path
) -> None:
    guarded = Services.from_settings(
        settings_for(shared_stores, tmp_path, metrics_token=SecretStr("scrape-secret-1")),
        key_provider=services.key_provider,
    )
    try:
        client = TestClient(create_app(guarded), raise_server_exceptions=False)
        refused = client.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "scrape-secret-1" not in refused.text
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"})
        assert ok.status_code == 200 and "tessera_http_requests_total" in ok.text
    finally:
        guarded.close()


def test_every_answer_carries_its_request_id(client: TestClient, auth: dict[str, str]) -> None:
    mine = client.get("/v1/purposes", headers={**auth, "X-Request-Id": "crm-42.a"})
    assert mine.headers["x-request-id"] == "crm-42.a"
    odd = client.get("/v1/purposes", headers={**auth, "X-Request-Id": f"<{EMAIL}>"})
    assert len(odd.headers["x-request-id"]) == 16 and EMAIL not in odd.headers["x-request-id"]


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("tessera.test-telemetry")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    # Only to the handler under test: the run's own log would keep the raw values these tests
    # feed in, and its end-of-run sweep would report them.
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_a_log_line_is_one_json_object_with_its_request_and_tenant(lines) -> None:
    logger, stream = lines
    rid, tenant = REQUEST_ID.set("req-1"), TENANT.set("acme")
    try:
        logger.info("answered %s in %d ms", "/v1/access", 3)
    finally:
        REQUEST_ID.reset(rid)
        TENANT.reset(tenant)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "answered /v1/access in 3 ms"
    assert (entry["level"], entry["logger"]) == ("info", "tessera.test-telemetry")
    assert (entry["request_id"], entry["tenant"]) == ("req-1", "acme")
    assert entry["time"].endswith("+00:00")


def test_personal_values_and_statement_parameters_never_reach_a_log_line(lines) -> None:
    logger, stream = lines
    logger.warning("lookup failed for %s / %s", EMAIL, PHONE)
    logger.warning("card %s and iban %s in a message", PAN, IBAN)
    try:
        raise ValueError(f"bad value {EMAIL}")
    except ValueError:
        logger.exception("could not parse")
    statements = logging.getLogger("sqlalchemy.engine.Engine")
    level = statements.level
    statements.addHandler(logger.handlers[0])
    statements.setLevel(logging.INFO)
    statements.propagate = False
    try:
        statements.info("[generated in 0.0001s] ('%s', '%s')", EMAIL, SUBJECT)
    finally:
        statements.removeHandler(logger.handlers[0])
        statements.setLevel(level)
        statements.propagate = True
    logged = stream.getvalue()
    for value in (EMAIL, PHONE, PAN, IBAN, SUBJECT, "Traceback"):
        assert value not in logged
    entries = [json.loads(line) for line in logged.splitlines()]
    assert len(entries) == 3  # the statement's line is dropped
    assert entries[2]["message"] == "could not parse (ValueError)"
    assert entries[0]["message"] == "lookup failed for [redacted] / [redacted]"


_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's one provider (OpenTelemetry's global is set once), to memory."""
    assert tracing_provider(None, exporter=_EXPORTER) is not None
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def test_traces_show_the_gateway_stages_and_no_personal_value(
    shared_stores: Stores,
    services: Services,
    tmp_path,
    auth: dict[str, str],
    exporter: InMemorySpanExporter,
) -> None:
    # Any endpoint now finds the process's provider, made above with the in-memory exporter.
    traced = Services.from_settings(
        settings_for(shared_stores, tmp_path, otlp_endpoint="discard", trace_sample_ratio=1),
        key_provider=services.key_provider,
    )
    try:
        app = create_app(traced)
        client = TestClient(app, raise_server_exceptions=False)
        exporter.clear()
        token = _traffic(client, auth)
        spans = exporter.get_finished_spans()
        # A server without an endpoint traces nothing, though this process has a provider.
        exporter.clear()
        _traffic(TestClient(create_app(services), raise_server_exceptions=False), auth)
        untraced = exporter.get_finished_spans()
    finally:
        traced.close()
    assert untraced == (), [(s.name, s.attributes) for s in untraced]
    assert not any(s.attributes.get("url.path") == "/healthz" for s in spans if s.attributes)
    names = {s.name for s in spans}
    assert {
        "gateway.assurance",
        "gateway.vault",
        "gateway.consent",
        "gateway.policy",
        "gateway.audit",
        "redaction.text",
    } <= names, names
    server = [s for s in spans if s.attributes and s.attributes.get("http.route")]
    assert any(s.attributes["http.route"] == "/v1/consents/{subject}" for s in server)
    assert any(s.name == "GET /v1/consents/{subject}" for s in server)
    assert all(s.attributes.get("url.path") == "-" for s in server)
    assert any(s.attributes.get("url.query") == "-" for s in server)
    assert any(s.attributes and "db.statement" in s.attributes for s in spans)
    # The access's stages are children of the server's span for its request.
    access = next(s for s in server if s.name == "POST /v1/access")
    policy = next(s for s in spans if s.name == "gateway.policy")
    assert policy.context.trace_id == access.context.trace_id
    assert policy.parent is not None and policy.parent.span_id == access.context.span_id
    # Its statements too, the hot ones run on the driver's cursor among them.
    statements = [
        str(s.attributes["db.statement"])
        for s in spans
        if s.attributes
        and "db.statement" in s.attributes
        and s.context.trace_id == access.context.trace_id
    ]
    for table in ("FROM vault_items", "FROM consent_events", "INSERT INTO audit_entries"):
        assert any(table in statement for statement in statements), statements
    for span in spans:
        for value in (span.attributes or {}).values():
            for secret in (EMAIL, PAN, SUBJECT, token):
                assert secret not in str(value), (span.name, value)


def test_requests_are_traced_by_their_share_or_by_their_caller(
    shared_stores: Stores,
    services: Services,
    tmp_path,
    auth: dict[str, str],
    exporter: InMemorySpanExporter,
) -> None:
    """Which requests are traced is chosen before any span is made: a share of them, or the
    caller's choice when it sends a `traceparent` (sampled or not, malformed = absent)."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    def spans_of(ratio: float, headers: dict[str, str]) -> list:
        traced = Services.from_settings(
            settings_for(
                shared_stores, tmp_path, otlp_endpoint="discard", trace_sample_ratio=ratio
            ),
            key_provider=services.key_provider,
        )
        try:
            client = TestClient(create_app(traced))
            exporter.clear()
            for _ in range(5):
                assert client.get("/v1/purposes", headers={**auth, **headers}).status_code == 200
            return [s for s in exporter.get_finished_spans() if s.kind.name == "SERVER"]
        finally:
            traced.close()

    assert spans_of(0.0, {}) == []
    assert len(spans_of(1.0, {})) == 5
    followed = spans_of(0.0, {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    assert len(followed) == 5
    assert {f"{s.context.trace_id:032x}" for s in followed} == {trace_id}
    assert spans_of(1.0, {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-00"}) == []
    assert len(spans_of(1.0, {"traceparent": "00-garbage-01"})) == 5


def test_a_servers_own_choice_of_traces_is_capped_each_second_a_callers_is_not() -> None:
    """Under load a share of requests would cost a share of the throughput: the server starts
    at most `traces_per_second` traces of its own a second (one second's worth at once); a
    caller's sampled `traceparent` is still followed, and probes are never traced."""
    now = [100.0]
    provider = TracerProvider()
    excluded = server_telemetry(
        provider, sample_ratio=1.0, traces_per_second=2, clock=lambda: now[0]
    )["exclude"]
    assert excluded is not None

    def traced(path: str = "/v1/access", traceparent: str | None = None) -> bool:
        headers = [(b"traceparent", traceparent.encode())] if traceparent else []
        return not excluded({"type": "http", "path": path, "headers": headers})

    assert [traced() for _ in range(3)] == [True, True, False]  # the second's two, then none
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert traced(traceparent=caller)  # the caller's choice, beyond the cap
    assert not traced(traceparent=caller[:-1] + "0")
    now[0] += 0.5  # half a second: one more
    assert [traced(), traced()] == [True, False]
    now[0] += 60  # a quiet minute refills one second's worth, no more
    assert [traced() for _ in range(3)] == [True, True, False]
    assert not traced("/healthz")
    uncapped = server_telemetry(provider, sample_ratio=1.0, clock=lambda: now[0])["exclude"]
    assert uncapped is not None
    assert not any(uncapped({"path": "/v1/access", "headers": []}) for _ in range(50))
    never = server_telemetry(provider, sample_ratio=0.0, traces_per_second=5)["exclude"]
    assert never is not None and never({"path": "/v1/access", "headers": []})


def test_statements_are_spans_inside_a_recorded_trace_only_and_errors_say_their_type() -> None:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError

    from tessera.trust.telemetry import trace_statements

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_engine("sqlite://")
    trace_statements(engine, provider.get_tracer("test"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": EMAIL})
    assert exporter.get_finished_spans() == ()  # no trace around them: nothing made
    with provider.get_tracer("test").start_as_current_span("request"):
        with engine.begin() as conn:
            conn.execute(text("SELECT v FROM t WHERE v = :v"), {"v": EMAIL})
            conn.execute(text("DELETE FROM t WHERE v = :v"), [{"v": "a"}, {"v": "b"}])
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": EMAIL})
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["SELECT sqlite"].attributes["db.statement"] == "SELECT v FROM t WHERE v = ?"
    assert spans["DELETE sqlite"].attributes["db.statement"] == "DELETE FROM t WHERE v = ?"
    failed = spans["INSERT sqlite"]
    assert failed.status.description == "IntegrityError"
    for span in spans.values():
        assert EMAIL not in str(span.attributes) and EMAIL not in str(span.status.description)
    # An unsampled request: its statements make no span at all.
    exporter.clear()
    quiet = TracerProvider(sampler=ALWAYS_OFF)
    quiet.add_span_processor(SimpleSpanProcessor(exporter))
    trace_statements(engine, quiet.get_tracer("test"))
    with quiet.get_tracer("test").start_as_current_span("request"), engine.begin() as conn:
        conn.execute(text("SELECT 1"))
    assert exporter.get_finished_spans() == ()
    engine.dispose()
