"""The charts a DPO would rather look at than read: consent rate per purpose and channel over
time, withdrawals by channel, step-up rate per action per day, request turnaround against the
deadline, refused accesses by policy.

The figures are plain functions over counts; each chart is a Vega-Lite specification rendered
to SVG on the server by vl-convert (offline, no script in the page), shown as an image with
its figures in a table beside it for those who do not see it."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tessera import TesseraError
from tessera.consent import DsrRequest
from tessera.policies import Action
from tessera.trust.web import N_, ServicesDep, language_of
from tessera.vault import InvalidValue

from ._guard import Desk
from ._render import gettext, page, problem_page
from ._signin import signed_in

if TYPE_CHECKING:
    from tessera.trust._services import Services

__all__ = [
    "Chart",
    "consent_rate",
    "refusals",
    "router",
    "step_up_rate",
    "turnaround",
    "withdrawals_by_channel",
]

router = APIRouter(prefix="/console/{tenant}", include_in_schema=False)
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # a name, never fetched
_CHOICES = ("given", "withdrawn", "refused")
_HEADINGS = {
    "day": N_("day"),
    "series": N_("purpose · channel"),
    "rate": N_("share"),
    "channel": N_("channel"),
    "withdrawals": N_("withdrawals"),
    "action": N_("action"),
    "request": N_("request"),
    "kind": N_("kind"),
    "days": N_("days taken"),
    "deadline": N_("days allowed"),
    "policy": N_("policy"),
    "refusals": N_("refusals"),
}


# ---------------------------------------------------------------------- the figures
def consent_rate(rows: Iterable[tuple[str, str, str, str, int]]) -> list[dict[str, Any]]:
    """Per day and (purpose, channel): the share of choices that gave consent."""
    totals: dict[tuple[str, str], list[int]] = {}
    for day, purpose, channel, kind, count in rows:
        if kind not in _CHOICES:
            continue
        cell = totals.setdefault((day, f"{purpose} · {channel}"), [0, 0])
        cell[1] += count
        if kind == "given":
            cell[0] += count
    return [
        {"day": day, "series": series, "rate": round(given / total, 4)}
        for (day, series), (given, total) in sorted(totals.items())
        if total
    ]


def withdrawals_by_channel(rows: Iterable[tuple[str, str, str, str, int]]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for _, _, channel, kind, count in rows:
        if kind == "withdrawn":
            counts[channel] = counts.get(channel, 0) + count
    return [{"channel": c, "withdrawals": n} for c, n in sorted(counts.items())]


def step_up_rate(rows: Iterable[tuple[str, str, str, int]]) -> list[dict[str, Any]]:
    """Per day and action: the share of decisions that asked for a step-up."""
    totals: dict[tuple[str, str], list[int]] = {}
    for day, action, outcome, count in rows:
        cell = totals.setdefault((day, action), [0, 0])
        cell[1] += count
        if outcome == "step_up":
            cell[0] += count
    return [
        {"day": day, "action": action, "rate": round(up / total, 4)}
        for (day, action), (up, total) in sorted(totals.items())
        if total
    ]


def turnaround(requests: Iterable[DsrRequest]) -> list[dict[str, Any]]:
    """Each closed request: the days it took, against the days it had."""
    done = []
    for r in requests:
        if r.completed_at is None:
            continue
        done.append(
            {
                "request": r.id[-8:],
                "kind": r.kind.value,
                "days": round((r.completed_at - r.received_at).total_seconds() / 86400, 1),
                "deadline": round((r.due_at - r.received_at).total_seconds() / 86400, 1),
            }
        )
    return done


def refusals(counts: dict[str, int]) -> list[dict[str, Any]]:
    return [{"policy": p, "refusals": n} for p, n in sorted(counts.items(), key=lambda x: -x[1])]


# ---------------------------------------------------------------------- the charts
@dataclass(frozen=True, slots=True)
class Chart:
    name: str
    title: str
    values: list[dict[str, Any]]
    spec: dict[str, Any]
    columns: tuple[tuple[str, str], ...]  # (field, heading) of its table of figures
    lang: str = "en"

    def svg_data_uri(self) -> str:
        """The chart as an SVG image in the page itself (no second request, no script, no
        URL fetched: `allowed_base_urls` is empty)."""
        import vl_convert

        french = self.lang == "fr"
        svg = vl_convert.vegalite_to_svg(
            self.spec,
            allowed_base_urls=[],
            format_locale="fr-FR" if french else "en-GB",
            time_format_locale="fr-FR" if french else "en-GB",
        )
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _spec(
    values: list[dict[str, Any]], mark: Any, encoding: dict[str, Any], **more: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "$schema": _SCHEMA,
        "data": {"values": values},
        "width": 300,
        "height": 180,
        "config": {
            "font": "sans-serif",
            "view": {"stroke": None},
            "axis": {"labelFontSize": 12, "titleFontSize": 12},
            "legend": {"labelFontSize": 12, "orient": "bottom", "columns": 1},
        },
        **more,
    }
    if mark is not None:
        spec["mark"], spec["encoding"] = mark, encoding
    return spec


def charts(lang: str, figures: dict[str, list[dict[str, Any]]]) -> list[Chart]:
    def t(message: str) -> str:
        return gettext(lang, message)

    def cols(*names: str) -> tuple[tuple[str, str], ...]:
        return tuple((n, t(_HEADINGS[n])) for n in names)

    day = {"field": "day", "type": "temporal", "title": t(N_("day"))}
    share = {"type": "quantitative", "axis": {"format": "%"}, "scale": {"domain": [0, 1]}}
    return [
        Chart(
            "consent-rate",
            t(N_("Consent rate per purpose and channel")),
            figures["consent_rate"],
            _spec(
                figures["consent_rate"],
                {"type": "line", "point": True},
                {
                    "x": day,
                    "y": {"field": "rate", **share, "title": t(N_("consent given"))},
                    "color": {"field": "series", "type": "nominal", "title": None},
                },
            ),
            cols("day", "series", "rate"),
            lang,
        ),
        Chart(
            "withdrawals",
            t(N_("Withdrawals by channel")),
            figures["withdrawals"],
            _spec(
                figures["withdrawals"],
                "bar",
                {
                    "x": {"field": "channel", "type": "nominal", "title": t(N_("channel"))},
                    "y": {
                        "field": "withdrawals",
                        "axis": {"tickMinStep": 1},
                        "type": "quantitative",
                        "title": t(N_("withdrawals")),
                    },
                },
            ),
            cols("channel", "withdrawals"),
            lang,
        ),
        Chart(
            "step-ups",
            t(N_("Step-up rate per action per day")),
            figures["step_ups"],
            _spec(
                figures["step_ups"],
                {"type": "line", "point": True},
                {
                    "x": day,
                    "y": {"field": "rate", **share, "title": t(N_("decisions stepped up"))},
                    "color": {"field": "action", "type": "nominal", "title": None},
                },
            ),
            cols("day", "action", "rate"),
            lang,
        ),
        Chart(
            "turnaround",
            t(N_("Request turnaround against the deadline")),
            figures["turnaround"],
            _spec(
                figures["turnaround"],
                None,
                {},
                layer=[
                    {
                        "mark": "bar",
                        "encoding": {
                            "x": {"field": "request", "type": "nominal", "title": t(N_("request"))},
                            "y": {
                                "field": "days",
                                "type": "quantitative",
                                "title": t(N_("days taken")),
                            },
                            "color": {"field": "kind", "type": "nominal", "title": None},
                        },
                    },
                    {
                        "mark": {"type": "tick", "color": "#a61b12", "thickness": 3},
                        "encoding": {
                            "x": {"field": "request", "type": "nominal"},
                            "y": {"field": "deadline", "type": "quantitative"},
                        },
                    },
                ],
            ),
            cols("request", "kind", "days", "deadline"),
            lang,
        ),
        Chart(
            "refusals",
            t(N_("Refused accesses by policy")),
            figures["refusals"],
            _spec(
                figures["refusals"],
                "bar",
                {
                    "y": {
                        "field": "policy",
                        "type": "nominal",
                        "sort": "-x",
                        "title": t(N_("policy")),
                    },
                    "x": {
                        "field": "refusals",
                        "type": "quantitative",
                        "axis": {"tickMinStep": 1},
                        "title": t(N_("refusals")),
                    },
                },
            ),
            cols("policy", "refusals"),
            lang,
        ),
    ]


def figures_of(
    services: Services, tenant: str, since: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    consent_rows = services.consents.daily_counts(tenant, since)
    return {
        "consent_rate": consent_rate(consent_rows),
        "withdrawals": withdrawals_by_channel(consent_rows),
        "step_ups": step_up_rate(services.audit.daily_outcomes(tenant, since)),
        "turnaround": turnaround(r for r in services.dsr.list(tenant) if r.received_at >= since),
        "refusals": refusals(services.audit.refusals_by_policy(tenant, since)),
    }


@router.get("/charts")
def charts_page(request: Request, tenant: str, services: ServicesDep) -> Response:
    desk = signed_in(request, services, tenant)
    if not isinstance(desk, Desk):
        return desk
    try:
        given = request.query_params.get("days", "30")
        if not given.isdigit() or not 1 <= int(given) <= 366:
            raise InvalidValue("days is a number from 1 to 366")
        days = int(given)
        services.gateway.oversee(
            desk.caller, Action.SEARCH_LOGS, "log:charts", auth=desk.auth, facts={"days": days}
        )
        since = desk.now() - dt.timedelta(days=days)
        shown = charts(language_of(request), figures_of(services, tenant, since))
    except TesseraError as exc:
        return problem_page(request, services, tenant, desk, exc)
    return page(request, services, tenant, "charts.html", desk=desk, charts=shown, days=days)
