"""Center dashboards: openness distribution, completeness breakdown, trend over runs, reachability, ranking."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from fedcat.harvester.metrics import MAX_SCORE, rank
from fedcat.harvester.store.link_results import LinkStatus

from ..metrics import all_centers_metrics, all_metrics, find_source, history_body
from . import charts
from .charts import Bar, Series
from .i18n import BADGE_TONE, Translator
from .pages import Page, html_errors

router = APIRouter()

_STATUS_TONE = {LinkStatus.OK.value: "good", LinkStatus.LOGIN_WALL.value: "warn", "unchecked": "none"}


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


def openness_chart(t: Translator, m: dict[str, Any]) -> Markup:
    bars = [Bar(t.tag(k), v, BADGE_TONE.get(k, "none"), str(v)) for k, v in m["openness"].items()]
    return charts.hbars(bars, t("openness_chart"))


def security_chart(t: Translator, m: dict[str, Any]) -> Markup:
    tones = {"general": "good", "sensitive": "fair", "review": "warn", "important": "warn", "core": "bad",
             "secret": "bad"}
    bars = [Bar(t.tag(k), v, tones.get(k, "none"), str(v)) for k, v in m["security"].items()]
    return charts.hbars(bars, t("security_chart"))


def completeness_chart(t: Translator, m: dict[str, Any]) -> Markup:
    dims = m["completeness"]["dimensions"]
    bars = [Bar(t(f"dim.{d}"), 100 * (v["score"] or 0) / v["max"], "fair", f"{v['score']} / {v['max']}")
            for d, v in dims.items()]
    return charts.hbars(bars, t("completeness"), maximum=100)


def reachability_chart(t: Translator, m: dict[str, Any]) -> Markup:
    r = m["reachability"]
    bars = [Bar(t(f"status.{s}"), n, _STATUS_TONE.get(s, "bad")) for s, n in r["by_status"].items() if n]
    bars.append(Bar(t("status.unchecked"), r["declared_open"] - r["checked"], "none"))
    return charts.stacked(bars, t("reachability"))


def trend_chart(t: Translator, snapshots: list[dict[str, Any]]) -> Markup:
    ms = [s["metrics"] for s in snapshots]
    series = [
        Series(t("series.completeness"), [None if m["completeness"]["score"] is None
                                          else round(100 * m["completeness"]["score"] / MAX_SCORE, 1) for m in ms]),
        Series(t("series.open_share"), [_pct(m["open_share"]) for m in ms]),
        # no point where no link had been checked yet: "0% reachable" would be a claim, not a measurement
        Series(t("series.reachable"), [_pct(m["reachability"]["reachable_share"]) if m["reachability"]["checked"]
                                       else None for m in ms]),
    ]
    return charts.lines(series, [_day(s["at"]) for s in snapshots], t("trend"))


def _day(at: str) -> str:
    """``2026-12-01T03:14:07+00:00`` → ``12-01 03:14`` (the axis has no room for more)."""
    return at[5:16].replace("T", " ")


#: How many unreachable records a dashboard lists by title (the JSON metrics have every id).
UNREACHABLE_SHOWN = 100


def _title(page: Page, record_id: str) -> str:
    rec = page.catalog.store.records.get_visible(record_id, page.caller.visibility.allows)
    return rec.title if rec is not None and rec.title else record_id


@router.get("/centers", include_in_schema=False)
@html_errors
def centers_page(request: Request) -> Response:
    page = Page(request)
    per_center = all_metrics(page.catalog, page.caller)
    overall = all_centers_metrics(page.catalog, page.caller)
    return page.render("centers.html", ranking=rank(per_center), overall=overall,
                       openness=openness_chart(page.t, overall), reach=reachability_chart(page.t, overall))


@router.get("/centers/{center_id}", include_in_schema=False)
@html_errors
def center_page(request: Request, center_id: str) -> Response:
    page = Page(request)
    src = find_source(page.catalog, center_id)
    per_center = all_metrics(page.catalog, page.caller)
    m = per_center[src.id]
    history = history_body(page.catalog, page.caller, src.id, limit=50)["snapshots"]
    unreachable = [(rid, _title(page, rid)) for rid in m["reachability"]["unreachable_ids"][:UNREACHABLE_SHOWN]]
    return page.render(
        "center.html", src=src, m=m, ranking=rank(per_center), history=history, unreachable=unreachable,
        charts={"openness": openness_chart(page.t, m), "security": security_chart(page.t, m),
                "completeness": completeness_chart(page.t, m), "reachability": reachability_chart(page.t, m),
                "trend": trend_chart(page.t, history)},
    )
