"""The cluster backend: Elasticsearch through the official client.

Documents live in versioned indices (``<prefix>-records-v1``, ``-v2``, …)
behind one alias (``<prefix>-records``) that every read and write uses. A
rebuild fills a new version and then moves the alias in one atomic
``_aliases`` call, so searches never see an empty or half-built index. Bulk
requests are chunked; the transport retries 429/502/503/504 and timeouts, the
client's streaming_bulk retries documents rejected with 429, and documents still refused
are reported one by one in :attr:`BulkResult.errors`. Pages after the first are
fetched with ``search_after`` inside a point in time whose id travels in the
opaque cursor. The request bodies are built by :mod:`.elastic_dsl`.

Connection, TLS, authentication and 429/5xx problems raise
:class:`IndexUnavailable`; other refusals raise :class:`IndexBackendError`;
a bad cursor or filter raises :class:`BadQuery`. The harvest pipeline keeps
records pending on any :class:`IndexBackendError`, so an outage loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    NotFoundError,
    TransportError,
    UnsupportedProductError,
    helpers,
)

from fedcat.harvester.config_schema import ElasticSettings
from fedcat.harvester.grouping import DatasetGroup

from . import cursor
from .base import (
    MAX_RESULT_WINDOW,
    BulkResult,
    FacetBucket,
    Hit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    check_offset,
)
from .documents import display_highlights, indexable, matched_translations
from .elastic_dsl import (
    SCHEMA_VERSION,
    Page,
    create_index_body,
    delete_by_member,
    facet_buckets,
    group_actions,
    search_body,
    validate,
)
from .errors import BadQuery, BulkError, IndexBackendError, IndexUnavailable

log = logging.getLogger(__name__)

RETRY_ON_STATUS = (429, 502, 503, 504)
#: Requests that may touch every document (clear, waiting for a rebuilt index) get this long.
LONG_TIMEOUT = 300.0


def hosts(url: str) -> list[str]:
    """``index.url`` names one node or several, separated by commas (requests go to any live one)."""
    return [u.strip() for u in url.split(",") if u.strip()]


def make_client(s: ElasticSettings, url: str) -> Elasticsearch:
    options: dict[str, Any] = {}
    if s.username:
        options["basic_auth"] = (s.username, s.password or "")
    if s.api_key:
        options["api_key"] = s.api_key
    if s.ca_certs:
        options["ca_certs"] = s.ca_certs
    return Elasticsearch(
        hosts(url), request_timeout=s.timeout, max_retries=s.max_retries, retry_on_status=RETRY_ON_STATUS,
        retry_on_timeout=True, **options,
    )


class ElasticsearchIndex(SearchIndex):
    """The alias ``<index_prefix>-records`` on the cluster at ``settings.url``."""

    name = "elasticsearch"

    def __init__(self, settings: ElasticSettings, *, bulk_chunk: int = 500, bulk_backoff: float = 1.0,
                 pit_keep_alive: str = "5m") -> None:
        """``bulk_backoff``: the first wait before re-sending documents rejected with 429 (doubles each
        retry, at most 30 s); ``pit_keep_alive``: how long a cursor's point in time lives between pages."""
        if not settings.url:
            raise IndexUnavailable("no Elasticsearch cluster configured (index.url)")
        self.settings = settings
        self.url = settings.url
        self.bulk_chunk, self.bulk_backoff, self.pit_keep_alive = bulk_chunk, bulk_backoff, pit_keep_alive
        self.alias = f"{settings.index_prefix}-records"
        self.client = make_client(settings, settings.url)
        self._ready = False
        self._schema_problem: str | None = None

    # -- errors --------------------------------------------------------------------------

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Client exceptions → the index's exception tree, naming the cluster and the action."""
        where = f"Elasticsearch at {self.url} ({self.alias})"
        try:
            yield
        except TransportError as exc:
            raise IndexUnavailable(f"{where}: {action} failed: {exc}") from exc
        except (AuthenticationException, AuthorizationException) as exc:
            raise IndexUnavailable(f"{where}: {action} refused (HTTP {exc.status_code}): check the "
                                   f"credentials (api_key or username/password): {exc.message}") from exc
        except UnsupportedProductError as exc:
            raise IndexUnavailable(f"{where}: the server is not Elasticsearch: {exc.message}") from exc
        except ApiError as exc:
            if exc.error == "index_not_found_exception":
                self._ready = False  # deleted behind our back: the next call creates it again
                raise IndexUnavailable(f"{where}: {action} failed: the index does not exist") from exc
            if exc.status_code in RETRY_ON_STATUS or exc.status_code >= 500:
                raise IndexUnavailable(f"{where}: {action} failed (HTTP {exc.status_code}): {exc.message}") from exc
            raise IndexBackendError(f"{where}: {action} failed (HTTP {exc.status_code}): {exc.message}") from exc

    # -- versions and the alias -----------------------------------------------------------

    def _version_name(self, version: int) -> str:
        return f"{self.alias}-v{version}"

    def _versions(self) -> list[str]:
        """Existing versioned indices of this prefix, oldest first."""
        found = self.client.indices.get(index=f"{self.alias}-v*", expand_wildcards="open,closed")
        prefix = f"{self.alias}-v"
        numbered = [(int(n[len(prefix):]), n) for n in found if n[len(prefix):].isdigit()]
        return [n for _, n in sorted(numbered)]

    def _next_version(self, names: list[str]) -> str:
        last = int(names[-1].rsplit("-v", 1)[1]) if names else 0
        return self._version_name(last + 1)

    def _create(self, name: str, *, with_alias: bool, replicas: int | None = None) -> None:
        body = create_index_body(self.alias if with_alias else None, shards=self.settings.shards,
                                 replicas=self.settings.replicas if replicas is None else replicas)
        self.client.indices.create(index=name, **body)

    def open(self) -> ElasticsearchIndex:
        """Reach the cluster and make sure the alias exists (creating version 1 when it does not)."""
        with self._translate("opening the index"):
            if not self.client.indices.exists_alias(name=self.alias):
                self._create_first()
            self._schema_problem = self._check_schema()
        self._ready = True
        return self

    def _create_first(self) -> None:
        try:
            self._create(self._version_name(1), with_alias=True)
            log.info("created %s behind alias %s", self._version_name(1), self.alias)
        except ApiError as exc:  # another process created it first
            if "resource_already_exists_exception" not in str(exc.error):
                raise

    def _check_schema(self) -> str | None:
        found = self.client.indices.get_mapping(index=self.alias)
        for name, body in found.items():
            version = body.get("mappings", {}).get("_meta", {}).get("fedcat_schema")
            if version != SCHEMA_VERSION:
                return (f"index {name} has schema version {version}, expected {SCHEMA_VERSION}: "
                        "run `fedcat reindex` to build a current version")
        return None

    def _require_ready(self) -> None:
        if not self._ready:
            self.open()
        if self._schema_problem:
            raise IndexUnavailable(self._schema_problem)

    # -- writing -------------------------------------------------------------------------------

    def upsert_groups(self, groups: Iterable[DatasetGroup], *, refresh: bool = True) -> BulkResult:
        self._require_ready()
        chunk = list(groups)
        result = self._bulk(group_actions(chunk, self.alias), refresh=refresh, target=self.alias)
        return _by_group(result, chunk)

    def delete(self, ids: Iterable[str], *, refresh: bool = True) -> BulkResult:
        self._require_ready()
        wanted = list(ids)
        with self._translate("delete by query"):
            self.client.delete_by_query(index=self.alias, query=delete_by_member(wanted), refresh=refresh,
                                        conflicts="proceed")
        return BulkResult(deleted=len(wanted))

    def _bulk(self, actions: Iterable[dict[str, Any]], *, refresh: bool, target: str) -> BulkResult:
        """Send bulk actions; the result counts documents (per-document errors keyed by document id)."""
        result = BulkResult()
        with self._translate("bulk request"):
            for ok, item in helpers.streaming_bulk(
                self.client, actions, chunk_size=self.bulk_chunk, raise_on_error=False,
                raise_on_exception=True, max_retries=self.settings.max_retries, initial_backoff=self.bulk_backoff,
                max_backoff=30.0,
            ):
                _count_item(result, ok, item)
            if refresh:
                self.client.indices.refresh(index=target)
        if result.errors:
            first = next(iter(result.errors.items()))
            log.warning("%d documents rejected by Elasticsearch, e.g. %s: %s", len(result.errors), *first)
        return result

    def flush(self) -> None:
        self._require_ready()
        with self._translate("refresh"):
            self.client.indices.refresh(index=self.alias)

    def clear(self) -> None:
        self._require_ready()
        with self._translate("clearing the index"):
            self.client.options(request_timeout=LONG_TIMEOUT).delete_by_query(
                index=self.alias, query={"match_all": {}}, refresh=True, conflicts="proceed")

    # -- which store the index reflects ------------------------------------------------------

    @property
    def tracks_store(self) -> bool:
        return True  # an alias can be deleted, recreated empty or pointed elsewhere without the store knowing

    def bound_store(self) -> str | None:
        """``_meta.fedcat_store`` of the index behind the alias (IndexUnavailable while the cluster is down)."""
        self._require_ready()
        with self._translate("reading the index's metadata"):
            found = self.client.indices.get_mapping(index=self.alias)
        for body in found.values():
            value = body.get("mappings", {}).get("_meta", {}).get("fedcat_store")
            return value if isinstance(value, str) else None
        return None

    def bind_store(self, store_id: str) -> None:
        self._require_ready()
        with self._translate("recording the index's record store"):
            self.client.indices.put_mapping(index=self.alias,
                                            meta={"fedcat_schema": SCHEMA_VERSION, "fedcat_store": store_id})

    def count(self) -> int:
        self._require_ready()
        with self._translate("count"):
            return int(self.client.count(index=self.alias, query={"term": {"view": "all"}})["count"])

    def rebuild_groups(self, groups: Iterable[DatasetGroup], batch: int = 1000) -> int:
        """Fill a new versioned index, then move the alias to it atomically and drop older versions.

        Searches keep using the old version until the switch. Writes made by another
        process during the rebuild go to the old version: pause the scheduler first.
        """
        with self._translate("creating a new index version"):
            old = self._versions()
            new = self._next_version(old)
            self._create(new, with_alias=False, replicas=0)
        try:
            indexed, errors = self._fill(new, groups, batch)
            with self._translate("switching the alias"):
                self._activate(new)
        except IndexBackendError:
            self._drop([new])
            raise
        self._drop([n for n in old if n != new])
        self._ready, self._schema_problem = True, None
        log.info("alias %s now on %s (%d documents)", self.alias, new, indexed)
        if errors:
            raise BulkError(f"rebuilt into {new} and switched the alias, but documents were rejected "
                            f"(e.g. {next(iter(errors.items()))})", errors=errors)
        return indexed

    def _fill(self, index: str, groups: Iterable[DatasetGroup], batch: int) -> tuple[int, dict[str, str]]:
        with self._translate("bulk loading"):
            self.client.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
        indexed, errors = 0, {}
        it = iter(groups)
        while chunk := list(islice(it, batch)):
            res = _by_group(self._bulk(group_actions(chunk, index, replace=False), refresh=False, target=index), chunk)
            indexed += res.indexed
            errors.update(res.errors)
        return indexed, errors

    def _activate(self, new: str) -> None:
        """Restore replicas and refresh, wait until usable, then move the alias in one request."""
        self.client.indices.put_settings(
            index=new, settings={"refresh_interval": None, "number_of_replicas": self.settings.replicas})
        self.client.indices.refresh(index=new)
        self.client.options(request_timeout=LONG_TIMEOUT).cluster.health(
            index=new, wait_for_status="yellow", timeout=f"{int(LONG_TIMEOUT) - 10}s")
        current = list(self.client.indices.get_alias(name=self.alias)) \
            if self.client.indices.exists_alias(name=self.alias) else []
        actions: list[dict[str, Any]] = [{"remove": {"index": n, "alias": self.alias}} for n in current]
        actions.append({"add": {"index": new, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)

    def _drop(self, names: list[str]) -> None:
        if not names:
            return
        try:
            self.client.indices.delete(index=",".join(names))
        except (ApiError, TransportError) as exc:
            log.warning("could not delete old index versions %s: %s (delete them by hand)", names, exc)

    # -- searching ---------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        validate(query)
        if query.cursor:
            page = Page.from_payload(cursor.decode(query.cursor, query))
        else:
            check_offset(query)
            page = Page(seen=query.offset)
        if page.seen >= MAX_RESULT_WINDOW:
            raise BadQuery(f"cursors reach at most {MAX_RESULT_WINDOW} results; narrow the query", param="cursor")
        body = search_body(query, page, keep_alive=self.pit_keep_alive)
        self._require_ready()
        resp = self._run(body, page)
        raw_hits: list[dict[str, Any]] = resp["hits"]["hits"]
        hits = [self._hit(h, query) for h in raw_hits]
        total = int(resp["hits"]["total"]["value"])
        seen = page.seen + len(hits)
        next_cursor = None
        if hits and seen < total and seen < MAX_RESULT_WINDOW:
            pit = resp.get("pit_id") or self._open_pit()
            nxt = Page(search_after=list(raw_hits[-1]["sort"]), pit=pit, seen=seen)
            next_cursor = cursor.encode(nxt.payload(), query)
        elif page.pit:
            self._close_pit(resp.get("pit_id") or page.pit)
        facets = {name: [FacetBucket(value=v, count=c) for v, c in pairs]
                  for name, pairs in facet_buckets(resp.get("aggregations", {}), query).items()}
        return SearchResult(total=total, hits=hits, facets=facets, next_cursor=next_cursor)

    def _run(self, body: dict[str, Any], page: Page) -> dict[str, Any]:
        """One search; a point in time that expired is replaced and the page asked again."""
        with self._translate("search"):
            try:
                found: dict[str, Any] = self.client.search(index=None if page.pit else self.alias, body=body).body
                return found
            except NotFoundError:
                if not page.pit:
                    raise
                log.info("point in time expired; continuing the cursor on a new one")
                body["pit"]["id"] = self._open_pit()
                again: dict[str, Any] = self.client.search(body=body).body
                return again
            except ApiError as exc:
                if page.pit and exc.status_code == 400:
                    raise BadQuery("not a cursor returned by this index", param="cursor") from exc
                raise

    def _open_pit(self) -> str:
        with self._translate("opening a point in time"):
            resp = self.client.open_point_in_time(index=self.alias, keep_alive=self.pit_keep_alive)
        return str(resp["id"])

    def _close_pit(self, pit: str) -> None:
        try:
            self.client.close_point_in_time(id=pit)
        except (ApiError, TransportError) as exc:  # it expires by itself
            log.debug("closing a point in time failed: %s", exc)

    @staticmethod
    def _hit(raw: dict[str, Any], query: SearchQuery) -> Hit:
        display: dict[str, Any] = raw["_source"]["display"]
        highlights = display_highlights(display, query) if query.highlight else {}
        return Hit(id=str(display["id"]), score=float(raw.get("_score") or 0.0), doc=display,
                   highlights=highlights, translated=matched_translations(display, query))

    def close(self) -> None:
        self.client.close()


def _by_group(docs: BulkResult, groups: list[DatasetGroup]) -> BulkResult:
    """Document counts → group counts: members indexed, groups removed, errors keyed by group key."""
    out = BulkResult()
    failed = {doc_id.rsplit("|", 1)[0]: why for doc_id, why in docs.errors.items()}
    keys = {g.key for g in groups}
    out.errors.update({k: why for k, why in failed.items() if k not in keys})
    for group in groups:
        if group.key in failed:
            out.errors[group.key] = failed[group.key]
            continue
        live = [m for m in group.members if indexable(m)]
        if live:
            out.indexed += len(live)
        else:
            out.deleted += 1
    return out


def _count_item(result: BulkResult, ok: bool, item: dict[str, Any]) -> None:
    """Add one bulk response item to ``result``; deleting an unknown id is not an error."""
    op, info = next(iter(item.items()))
    status = int(info.get("status", 500))
    if op == "delete" and (ok or status == 404):
        result.deleted += 1
    elif ok:
        result.indexed += 1
    else:
        error = info.get("error")
        reason = error.get("reason") if isinstance(error, dict) else error
        kind = error.get("type") if isinstance(error, dict) else None
        result.errors[str(info.get("_id"))] = f"HTTP {status} {kind or ''}: {reason}".replace(" :", ":")
