"""What every web page shares: templates, the caller (API key header or cookie), language, errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from fedcat.harvester.config import SourceConfig
from fedcat.harvester.links import cstr_url, doi_url, safe_url
from fedcat.harvester.metrics import RANKING_WEIGHTS
from fedcat.index.errors import BadQuery, IndexUnavailable

from ..audience import Caller
from ..catalog import Catalog
from ..deps import caller_of, catalog_of
from ..errors import ApiError
from .i18n import BADGE_TONE, LANG_COOKIE, Lang, Translator, lang_of


@functools.cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("fedcat.api.web", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.globals["tone"] = lambda value: BADGE_TONE.get(value or "", "none")
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    env.filters["safe_url"] = safe_url  # every harvested URL becomes a link only through the allowlist
    env.filters["when"] = readable_time
    env.globals["score_parts"] = lambda t: " + ".join(
        f"{round(100 * w)}% × {t('weight.' + name)}" for name, w in RANKING_WEIGHTS.items())
    env.filters["doi_url"] = doi_url
    env.filters["cstr_url"] = cstr_url
    return env


def readable_time(value: str | None) -> str:
    """``2026-12-01T03:14:07.123+00:00`` → ``2026-12-01 03:14 UTC``; a date stays a date; None → ``–``."""
    if not value:
        return "–"
    text = str(value)
    if len(text) < 16 or text[10] != "T":
        return text
    zone = " UTC" if text.endswith(("+00:00", "Z")) else ""
    return f"{text[:10]} {text[11:16]}{zone}"


class Page:
    """One request's view of the site: catalog, caller, language."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.catalog: Catalog = catalog_of(request)
        self.lang = lang_of(request)
        self.t = Translator(self.lang)
        self.caller: Caller = caller_of(request, cookie=True)

    def center_name(self, source_id: str) -> str:
        src = self.source(source_id)
        if src is None:
            return source_id
        return (src.name_en or src.name) if self.lang is Lang.EN else src.name

    def source(self, source_id: str) -> SourceConfig | None:
        return next((s for s in self.catalog.config.sources if s.id == source_id), None)

    def url(self, path: str, params: list[tuple[str, str]] | None = None) -> str:
        return path + (f"?{urlencode(params)}" if params else "")

    def render(self, template: str, status: int = 200, params: list[tuple[str, str]] | None = None,
               **context: Any) -> Response:
        """``params``: the page's own query string, validated (else the request's, less ``lang``)."""
        other = params if params is not None else \
            [(k, v) for k, v in self.request.query_params.multi_items() if k != "lang"]
        body = environment().get_template(template).render(
            t=self.t, lang=self.lang.value, page=self, caller=self.caller,
            lang_url=self.url(self.request.url.path, [*other, ("lang", self.t.other.value)]),
            **context)
        resp = HTMLResponse(body, status_code=status)
        if self.request.query_params.get("lang") in (Lang.ZH.value, Lang.EN.value):
            resp.set_cookie(LANG_COOKIE, self.lang.value, max_age=365 * 86400, samesite="lax")
        return resp


def error_page(request: Request, status: int, message: str) -> Response:
    t = Translator(lang_of(request))
    body = environment().get_template("error.html").render(
        t=t, lang=t.lang.value, page=None, caller=None, lang_url=f"{request.url.path}?lang={t.other.value}",
        status=status, message=message)
    return HTMLResponse(body, status_code=status)


def html_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """A page's API errors (404, 401, a bad parameter, the index down) as an HTML page with that status."""

    @functools.wraps(handler)
    def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return handler(request, *args, **kwargs)
        except ApiError as exc:
            return error_page(request, exc.status, exc.message)
        except BadQuery as exc:
            return error_page(request, 400, str(exc))
        except IndexUnavailable as exc:
            return error_page(request, 503, str(exc))

    return wrapper
