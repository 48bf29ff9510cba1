"""Openness metrics of one center (or of all of them) from its records, runs and link checks.

Pure functions: the caller decides which records are counted (the audience's
visible records), passes the gated counts, the harvest runs, the last link
checks and today's date. docs/metrics.md defines every number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ..model import GeoScope, Openness, Record, Security
from ..store.link_results import LinkKind, LinkResult, LinkStatus
from ..store.runs import RunReport, RunStatus
from .quality import (
    CHECKS,
    MAX_POINTS,
    MAX_SCORE,
    Dimension,
    Reach,
    assess,
    citation_complete,
    licence_present,
    open_licence,
    rating,
    valid_cstr,
    valid_doi,
)

#: Weights of the ranking score (they add up to 1; the score is 0..100).
RANKING_WEIGHTS: dict[str, float] = {
    "open_share": 0.30, "reachable_share": 0.20, "completeness": 0.20, "pid_share": 0.15,
    "open_licence_share": 0.15,
}
#: Runs counted by the harvest success rate (the most recent finished ones).
RUNS_WINDOW = 50
#: Record ids listed for drill-downs (overdue embargoes, unreachable records).
MAX_IDS = 50


def share(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 decimals; None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


@dataclass
class Tally:
    """Counts gathered in one pass over some records; tallies of disjoint records add up (:func:`merge`).

    Treat one as read-only once gathered: the API keeps them and shares them between requests.
    """

    records: int = 0
    openness: Counter[str] = field(default_factory=Counter)
    geo: Counter[str] = field(default_factory=Counter)
    security: Counter[str] = field(default_factory=Counter)
    licences: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    dims: Counter[str] = field(default_factory=Counter)
    score: int = 0
    ages: Counter[int] = field(default_factory=Counter)  # days since modified → records (few distinct values)
    newest: str | None = None
    oldest: str | None = None
    overdue: list[str] = field(default_factory=list)  # record ids, the MAX_IDS smallest
    links: Counter[str] = field(default_factory=Counter)
    unreachable: list[str] = field(default_factory=list)  # as overdue
    last_checked: str | None = None


def reach_of(results: Mapping[LinkKind, LinkResult] | None) -> Reach:
    if not results:
        return Reach()
    landing = results.get(LinkKind.LANDING)
    access = results.get(LinkKind.ACCESS)
    return Reach(landing_ok=bool(landing and landing.status.reachable),
                 access_ok=bool(access and access.status.reachable))


def _modified_day(rec: Record) -> str | None:
    value = rec.modified or rec.datestamp
    return value[:10] if value and len(value) >= 10 else None


def _add_pids(t: Tally, rec: Record) -> None:
    ids = rec.identifiers
    doi, cstr = valid_doi(ids.doi), valid_cstr(ids.cstr)
    t.counts["doi"] += doi
    t.counts["doi_invalid"] += bool(ids.doi) and not doi
    t.counts["cstr"] += cstr
    t.counts["cstr_invalid"] += bool(ids.cstr) and not cstr
    t.counts["pid_any"] += doi or cstr


def _add_dates(t: Tally, rec: Record, today: date) -> None:
    day = _modified_day(rec)
    if day:
        try:
            t.ages[max(0, (today - date.fromisoformat(day)).days)] += 1
            t.newest = day if t.newest is None or day > t.newest else t.newest
            t.oldest = day if t.oldest is None or day < t.oldest else t.oldest
        except ValueError:
            pass
    acc = rec.access
    if acc.embargo_until and acc.embargo_until[:10] <= today.isoformat():
        if acc.openness not in (Openness.OPEN, Openness.REGISTERED):
            t.counts["embargo_overdue"] += 1
            if len(t.overdue) < MAX_IDS:
                t.overdue.append(rec.id)


def _add_links(t: Tally, rec: Record, results: Mapping[LinkKind, LinkResult] | None) -> None:
    if rec.access.openness is not Openness.OPEN:
        return
    t.counts["declared_open"] += 1
    if not results:
        return
    t.counts["checked"] += 1
    statuses = [r.status for r in results.values()]
    worst = next((s for s in statuses if not s.reachable), LinkStatus.OK)
    t.links[worst.value] += 1
    if worst.reachable:
        t.counts["reachable"] += 1
    elif len(t.unreachable) < MAX_IDS:
        t.unreachable.append(rec.id)
    for r in results.values():
        if r.checked_at and (t.last_checked is None or r.checked_at > t.last_checked):
            t.last_checked = r.checked_at


def tally(records: Iterable[Record], links: Mapping[str, Mapping[LinkKind, LinkResult]], today: date) -> Tally:
    """The counts of ``records`` (streamed in id order), with their last link checks, as of ``today``."""
    return _tallies(records, {"": _everything}, links, today)[""]


def _everything(_: Record) -> bool:
    return True


def _tallies(records: Iterable[Record], views: Mapping[str, Callable[[Record], bool]],
             links: Mapping[str, Mapping[LinkKind, LinkResult]], today: date) -> dict[str, Tally]:
    """One pass over the records, one tally per view (the records each view lets through).

    Each record is counted once, into the tally of the set of views that see it; a view's
    tally is then the sum of the tallies of the sets it belongs to.
    """
    by_class: dict[tuple[str, ...], Tally] = {}
    for rec in records:
        seen_by = tuple(name for name, visible in views.items() if visible(rec))
        if not seen_by:
            continue
        t = by_class.get(seen_by)
        if t is None:
            t = by_class[seen_by] = Tally()
        _add(t, rec, links, today, assess(rec, reach_of(links.get(rec.id))))
    return {name: merge([t for seen_by, t in by_class.items() if name in seen_by]) for name in views}


def merge(parts: Sequence[Tally]) -> Tally:
    """One tally of the records of all ``parts`` (each part counts other records); the parts are not changed."""
    if len(parts) == 1:
        out = parts[0]
    else:
        out = Tally()
        for t in parts:
            out.records += t.records
            out.score += t.score
            for name in ("openness", "geo", "security", "licences", "counts", "checks", "dims", "links"):
                getattr(out, name).update(getattr(t, name))
            out.ages.update(t.ages)
            out.newest = max(d for d in (out.newest, t.newest) if d) if out.newest or t.newest else None
            out.oldest = min(d for d in (out.oldest, t.oldest) if d) if out.oldest or t.oldest else None
            out.overdue += t.overdue
            out.unreachable += t.unreachable
            if t.last_checked and (out.last_checked is None or t.last_checked > out.last_checked):
                out.last_checked = t.last_checked
    return replace(out, overdue=_first_ids(out.overdue), unreachable=_first_ids(out.unreachable))


def _first_ids(ids: list[str]) -> list[str]:
    """The first MAX_IDS ids in record (id) order."""
    return sorted(ids)[:MAX_IDS]


def _add(t: Tally, rec: Record, links: Mapping[str, Mapping[LinkKind, LinkResult]], today: date,
         quality: Any) -> None:
    t.records += 1
    acc = rec.access
    t.openness[acc.openness.value] += 1
    t.geo[acc.geo_scope.value] += 1
    t.security[acc.security.value] += 1
    _add_pids(t, rec)
    t.counts["licence"] += licence_present(rec)
    t.counts["open_licence"] += open_licence(rec)
    t.licences[rec.licence.normalised or "unspecified"] += 1
    t.counts["citation"] += bool(rec.citation)
    t.counts["citation_complete"] += citation_complete(rec)
    t.counts["version"] += bool(rec.version)
    _add_dates(t, rec, today)
    _add_links(t, rec, links.get(rec.id))
    t.score += quality.score
    t.dims.update({d.value: p for d, p in quality.points.items()})
    t.checks.update(quality.passed)


def _distribution(counter: Counter[str], values: Iterable[str]) -> dict[str, int]:
    return {v: counter.get(v, 0) for v in values}


def _completeness(t: Tally) -> dict[str, Any]:
    n = t.records
    mean = round(t.score / n, 1) if n else None
    return {
        "score": mean, "max": MAX_SCORE, "rating": rating(mean).value if mean is not None else None,
        "dimensions": {d.value: {"score": round(t.dims[d.value] / n, 1) if n else None, "max": MAX_POINTS[d]}
                       for d in Dimension},
        "checks": {c.name: share(t.checks[c.name], n) for c in CHECKS},
    }


def _freshness(t: Tally, runs: Sequence[RunReport]) -> dict[str, Any]:
    return {
        "records_dated": t.ages.total(),
        "median_days_since_modified": _median(t.ages),
        "max_days_since_modified": max(t.ages) if t.ages else None,
        "newest_modified": t.newest,
        "oldest_modified": t.oldest,
        **run_freshness(runs),
    }


def _median(counts: Counter[int]) -> float | int | None:
    """The median of the values counted (as :func:`statistics.median` of the expanded list)."""
    n = counts.total()
    if not n:
        return None
    wanted = sorted({(n - 1) // 2, n // 2})
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while wanted and wanted[0] < seen:
            wanted.pop(0)
            found.append(value)
    return found[0] if n % 2 else (found[0] + found[1]) / 2


def run_freshness(runs: Sequence[RunReport]) -> dict[str, Any]:
    """The freshness figures drawn from the harvest runs (newest first)."""
    finished = [r for r in runs if r.status is not RunStatus.RUNNING][:RUNS_WINDOW]
    ok = [r for r in finished if r.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)]
    return {
        "last_harvest": finished[0].finished_at if finished else None,
        "last_successful_harvest": max((r.finished_at or "" for r in ok), default=None) or None,
        "harvest_runs": len(finished),
        "harvest_success_rate": share(len(ok), len(finished)),
    }


def _reachability(t: Tally) -> dict[str, Any]:
    declared, checked, reachable = t.counts["declared_open"], t.counts["checked"], t.counts["reachable"]
    return {
        "declared_open": declared, "checked": checked, "reachable": reachable,
        "unreachable": checked - reachable, "login_wall": t.links.get(LinkStatus.LOGIN_WALL.value, 0),
        "by_status": _distribution(t.links, [s.value for s in LinkStatus]),
        # nothing checked yet: not known (None, shown as –), rather than a measured 0%
        "reachable_share": share(reachable, declared) if checked else None,
        "unreachable_share": share(checked - reachable, checked),
        "unreachable_ids": list(t.unreachable), "last_checked": t.last_checked,
    }


def ranking_score(m: Mapping[str, Any]) -> float:
    """0..100: the weighted sum of RANKING_WEIGHTS' shares (a missing share counts as 0)."""
    parts = {
        "open_share": m["open_share"],
        "reachable_share": m["reachability"]["reachable_share"],
        "completeness": (m["completeness"]["score"] / MAX_SCORE) if m["completeness"]["score"] is not None else None,
        "pid_share": m["pid"]["any_share"],
        "open_licence_share": m["licence"]["open_share"],
    }
    return round(100 * sum(RANKING_WEIGHTS[k] * (v or 0.0) for k, v in parts.items()), 2)


def center_metrics(
    records: Iterable[Record],
    *,
    gated: Mapping[str, int],
    runs: Sequence[RunReport],
    links: Mapping[str, Mapping[LinkKind, LinkResult]],
    today: date,
) -> dict[str, Any]:
    """Every metric of the given records (one center's, or all centers' for the overall figures)."""
    return finish(tally(records, links, today), gated=gated, runs=runs, today=today)


def center_metrics_by_view(
    records: Iterable[Record],
    views: Mapping[str, Callable[[Record], bool]],
    *,
    gated: Mapping[str, int],
    runs: Sequence[RunReport],
    links: Mapping[str, Mapping[LinkKind, LinkResult]],
    today: date,
) -> dict[str, dict[str, Any]]:
    """:func:`center_metrics` for several views (audiences) at once, reading the records once."""
    return {name: finish(t, gated=gated, runs=runs, today=today)
            for name, t in _tallies(records, views, links, today).items()}


def finish(t: Tally, *, gated: Mapping[str, int], runs: Sequence[RunReport], today: date) -> dict[str, Any]:
    """Every metric from a tally, the gated counts and the harvest runs (a new dict each call)."""
    n, c = t.records, t.counts
    security = _distribution(t.security, [s.value for s in Security if s.value not in ("core", "secret")])
    security.update({lvl: gated.get(lvl, 0) for lvl in ("core", "secret")})
    out: dict[str, Any] = {
        "as_of": today.isoformat(),
        "records": n,
        "gated": {lvl: gated.get(lvl, 0) for lvl in ("core", "secret")},
        "openness": _distribution(t.openness, [o.value for o in Openness]),
        "geo_scope": _distribution(t.geo, [g.value for g in GeoScope]),
        "security": security,
        "awaiting_review": t.security[Security.REVIEW.value],
        "open_share": share(t.openness["open"] + t.openness["registered"], n),
        "pid": {"doi": c["doi"], "doi_invalid": c["doi_invalid"], "cstr": c["cstr"], "cstr_invalid": c["cstr_invalid"],
                "any": c["pid_any"], "doi_share": share(c["doi"], n), "cstr_share": share(c["cstr"], n),
                "any_share": share(c["pid_any"], n)},
        "licence": {"present": c["licence"], "open": c["open_licence"], "present_share": share(c["licence"], n),
                    "open_share": share(c["open_licence"], n), "by_licence": dict(sorted(t.licences.items()))},
        "citation": {"present": c["citation"], "complete": c["citation_complete"],
                     "present_share": share(c["citation"], n), "complete_share": share(c["citation_complete"], n)},
        "version": {"present": c["version"], "share": share(c["version"], n)},
        "completeness": _completeness(t),
        "freshness": _freshness(t, runs),
        "embargo": {"embargoed": t.openness["embargoed"], "passed_not_open": c["embargo_overdue"],
                    "passed_not_open_ids": list(t.overdue)},
        "reachability": _reachability(t),
    }
    out["ranking_score"] = ranking_score(out)
    return out


def rank(centers: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Centers ordered by ranking score (ties: more records first, then id), with their rank."""
    order = sorted(centers.items(), key=lambda kv: (-kv[1]["ranking_score"], -kv[1]["records"], kv[0]))
    return [{"rank": i + 1, "center": cid, "ranking_score": m["ranking_score"], "records": m["records"],
             "open_share": m["open_share"], "completeness": m["completeness"]["score"],
             "rating": m["completeness"]["rating"], "pid_share": m["pid"]["any_share"],
             "open_licence_share": m["licence"]["open_share"],
             "reachable_share": m["reachability"]["reachable_share"],
             "unreachable": m["reachability"]["unreachable"]} for i, (cid, m) in enumerate(order)]
