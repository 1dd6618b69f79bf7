"""Rendering: one Jinja2 environment per room and language, with the gettext extension and
the date filters, every response with the security headers; the HTTP app's problem mapping,
injected once, so that a page answers with the status the API would; the services of the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tessera.trust._services import Services

from ._i18n import LANG_COOKIE, LANGUAGES, Catalogue, day, language_of, when
from ._security import pre_session, security_headers, set_cookie

__all__ = ["Pages", "ProblemOf", "ServicesDep", "problem", "redirect", "status_of", "use_problems"]

ProblemOf = Callable[[BaseException], tuple[int, str]]
_problems: list[ProblemOf] = []


def use_problems(problem_of: ProblemOf) -> None:
    """How the HTTP app maps an error to its problem (status, slug): the one mapping."""
    _problems[:] = [problem_of]


def problem(exc: BaseException) -> tuple[int, str]:
    return _problems[0](exc) if _problems else (400, "bad-request")


def status_of(exc: BaseException) -> int:
    return problem(exc)[0]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=security_headers())


def _services(request: Request) -> Services:
    """This deployment's services; with regions, those of the region of the tenant the page's
    path names (its portal or console)."""
    regions = request.app.state.regions
    tenant = request.path_params.get("tenant")
    if regions is not None and isinstance(tenant, str):
        return regions.for_tenant(tenant)  # type: ignore[no-any-return]
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


class Pages:
    """A room's templates and catalogue."""

    def __init__(self, templates: Path, catalogue: Catalogue) -> None:
        self.templates = templates
        self.catalogue = catalogue
        self._environments: dict[str, Environment] = {}

    def environment(self, lang: str) -> Environment:
        if lang not in self._environments:
            env = Environment(
                loader=FileSystemLoader(self.templates),
                autoescape=select_autoescape(["html"]),
                trim_blocks=True,
                lstrip_blocks=True,
                extensions=["jinja2.ext.i18n"],
            )
            env.install_gettext_translations(  # type: ignore[attr-defined]
                self.catalogue.translations(lang), newstyle=True
            )
            env.filters["when"] = lambda value: when(value, lang)
            env.filters["day"] = lambda value: day(value, lang)
            self._environments[lang] = env
        return self._environments[lang]

    def html(self, lang: str, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.environment(lang).get_template(template).render(lang=lang, **context)
        return HTMLResponse(body, status_code=status, headers=security_headers())

    def page(
        self,
        request: Request,
        template: str,
        *,
        base: str,
        signed_in: bool,
        csrf: Callable[[str | None], str],
        pre_cookie: str,
        lang_path: str,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """A room's page in the reader's language, with its forms' CSRF token: bound to the
        session once signed in (`csrf(None)`), else to a pre-session cookie set here
        (`csrf(pre)`); and the language the switch chose, kept for the room."""
        lang = language_of(request)
        pre, new_pre = (None, False) if signed_in else pre_session(request, pre_cookie)
        response = self.html(
            lang,
            template,
            status=status,
            other_lang=next(x for x in LANGUAGES if x != lang),
            base=base,
            path=request.url.path,
            query=request.url.query,
            csrf=csrf(pre),
            **context,
        )
        if new_pre:
            set_cookie(response, request, pre_cookie, str(pre), base)
        if request.query_params.get("lang") in LANGUAGES:
            set_cookie(response, request, LANG_COOKIE, lang, lang_path, max_age=400 * 86400)
        return response
