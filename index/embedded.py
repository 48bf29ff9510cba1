"""The embedded backend: a tantivy index on local disk, no server.

Text is analysed in Python (:mod:`.analysis`) and handed to tantivy as
whitespace-separated tokens, so both backends see the same terms. Keyword
fields are tantivy ``raw`` text fast fields, which serve filters and terms
aggregations (facets). The cursor is an opaque token holding the offset of the
next page and a fingerprint of the query it belongs to.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tantivy

from fedcat.harvester import serial
from fedcat.harvester.grouping import DatasetGroup

from . import rebuild
from .analysis import analysed_text
from .base import (
    MAX_PAGE_SIZE,
    BulkResult,
    SearchIndex,
    SearchQuery,
    SearchResult,
)
from .documents import indexable
from .embedded_search import plan_search, run_search
from .errors import BadQuery, IndexUnavailable
from .groups import FULL_VIEW, ViewDoc, views
from .search_cache import SearchCache, folder_generation
from .writer_process import WriterProcess

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4  # 4: Traditional script folded to Simplified; subjects and center fields
#: Names the record store the index in a folder was built from (see ``IndexFeeder.check``).
STORE_MARKER = "fedcat-store.json"
_KEYWORD_FIELDS = ("source", "openness", "geo_scope", "security", "licence", "subject")
#: Group bookkeeping (see :mod:`.groups`): the group, its members in this document, visibility classes.
_GROUP_FIELDS = ("group", "member", "vis_in", "vis_out", "view")
_WRITER_HEAP = 32_000_000
#: Answers to repeated searches kept by default (``index.search_cache``).
DEFAULT_CACHE_ENTRIES = 256


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in _KEYWORD_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    for name in _GROUP_FIELDS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw")
    sb.add_integer_field("year", stored=False, indexed=True, fast=True)
    sb.add_integer_field("published_key", stored=False, indexed=True, fast=True)
    sb.add_text_field("title", stored=False, tokenizer_name="whitespace", index_option="position")
    for name in ("subjects", "body", "center"):
        sb.add_text_field(name, stored=False, tokenizer_name="whitespace", index_option="position")
    # stored only: indexing a long unique string as one term made commits about 15 times slower
    sb.add_bytes_field("display", stored=True, indexed=False)
    return sb.build()


class EmbeddedIndex(SearchIndex):
    """tantivy on disk at ``path`` (a folder), or in memory when ``path`` is None."""

    name = "embedded"

    def __init__(self, path: str | Path | None, *, write_process: bool = False,
                 search_cache: int = DEFAULT_CACHE_ENTRIES) -> None:
        """``write_process``: write through a child process (:mod:`.writer`); needs a ``path``.
        ``search_cache``: how many answers to repeated searches to keep (:mod:`.search_cache`; 0: none)."""
        self._schema = _schema()
        self._lock = threading.Lock()
        #: Runs of writes in progress (:meth:`writing`): while there is one, the writer is kept.
        self._runs = 0
        self._cache = SearchCache(search_cache)
        self._commits = 0  # the generation of an index in memory
        self._searched: Hashable | None = None  # the generation the last search reloaded to
        self._writer: tantivy.IndexWriter | None = None
        self._remote: WriterProcess | None = WriterProcess(Path(path)) if write_process and path else None
        self._path = Path(path) if path is not None else None
        try:
            if self._path is None:
                self._index = tantivy.Index(self._schema)
            else:
                rebuild.recover(self._path)
                self._index = self._open_folder(self._path)
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"cannot open the embedded index at {path}: {exc}") from exc

    def _open_folder(self, folder: Path) -> tantivy.Index:
        folder.mkdir(parents=True, exist_ok=True)
        self._check_version(folder)
        return tantivy.Index(self._schema, path=str(folder), reuse=True)

    # -- which store the index reflects ------------------------------------------------

    @property
    def tracks_store(self) -> bool:
        return self._path is not None  # a folder can be lost, emptied or copied without the store knowing

    def bound_store(self) -> str | None:
        """The id of the record store this index was built from (None: unknown, e.g. a new folder)."""
        if self._path is None:
            return None
        try:
            data = json.loads((self._path / STORE_MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("store") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    def bind_store(self, store_id: str) -> None:
        if self._path is not None:
            (self._path / STORE_MARKER).write_text(json.dumps({"store": store_id}), encoding="utf-8")

    @staticmethod
    def _marked_version(folder: Path) -> Any:
        """The schema version the index in ``folder`` was written with (None: no index there yet)."""
        marker = folder / "fedcat-schema.json"
        return json.loads(marker.read_text()).get("version") if marker.exists() else None

    @classmethod
    def outdated(cls, folder: Path) -> bool:
        """Whether ``folder`` holds an index of another schema version (to be rebuilt from the store)."""
        version = cls._marked_version(folder)
        return version is not None and version != SCHEMA_VERSION

    @classmethod
    def _check_version(cls, folder: Path) -> None:
        version = cls._marked_version(folder)
        if version is None:
            (folder / "fedcat-schema.json").write_text(json.dumps({"version": SCHEMA_VERSION}))
        elif version != SCHEMA_VERSION:
            raise IndexUnavailable(
                f"index at {folder} has schema version {version}, expected {SCHEMA_VERSION}: "
                "delete the folder and run `fedcat reindex`"
            )

    # -- writing -----------------------------------------------------------------

    def _get_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(_WRITER_HEAP, 1)
            except ValueError as exc:
                raise IndexUnavailable(
                    f"cannot write to the embedded index (another writer holds it, e.g. a harvest running, "
                    f"or its folder is gone): {exc}"
                ) from exc
        return self._writer

    def _commit(self) -> None:
        assert self._writer is not None
        self._writer.commit()
        self._commits += 1
        self._index.reload()

    @contextmanager
    def _writing(self, what: str, *, commits: bool = False) -> Iterator[None]:
        """tantivy reports a failed write (permission denied, a file gone, a full disk) as ValueError or
        OSError: it becomes the index error the pipeline handles (records stay pending), and the writer,
        whose state is then unknown, is dropped; the next write opens another. A write that ``commits``
        outside a run of writes (:meth:`writing`) then lets go of the writer and its lock. Called with
        the lock held."""
        try:
            yield
            if commits and not self._runs:
                self._close_writer()
        except (ValueError, OSError) as exc:
            self._drop_writer()
            raise IndexUnavailable(f"the embedded index could not {what}: {exc}") from exc

    def _remote_commit(self) -> None:
        assert self._remote is not None
        self._remote.commit()
        if not self._runs:
            self._remote.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._lock:
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                last = not self._runs
                if last:
                    self._close_writer()
            if last and self._remote is not None:
                self._remote.close()

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.wait_merging_threads()

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.rollback()
            except ValueError as exc:
                log.warning("the index writer could not roll back after a failed write: %s", exc)

    def _document(self, view: ViewDoc) -> tantivy.Document:
        doc = view.doc
        fields: dict[str, Any] = {
            "id": view.doc_id,
            "group": view.group,
            "member": [m.id for m in view.members],
            "vis_in": view.vis_in,
            "view": "all" if view.complete else "part",
            "title": _tokens(doc.title_text),
            "subjects": _tokens(doc.subjects_text),
            "body": _tokens(doc.body_text),
            "center": _tokens(doc.center_text),
            "published_key": doc.published_key,
            "display": serial.dumps_bytes(doc.display),
        }
        if view.vis_out:
            fields["vis_out"] = view.vis_out
        if doc.years:
            fields["year"] = doc.years
        for name in _KEYWORD_FIELDS:
            if doc.keywords.get(name):
                fields[name] = doc.keywords[name]
        return tantivy.Document(**fields)

    def upsert_groups(self, groups: Iterable[DatasetGroup], *, refresh: bool = True) -> BulkResult:
        if self._remote is not None:
            return self._upsert_remote(list(groups), refresh)
        result = BulkResult()
        with self._lock, self._writing("store documents", commits=refresh):
            writer = self._get_writer()
            for group in groups:
                writer.delete_documents_by_term("group", group.key)
                docs = views(group)
                for view in docs:
                    writer.add_document(self._document(view))
                if docs:
                    result.indexed += len(docs[FULL_VIEW].members)
                else:
                    result.deleted += 1
            if refresh:
                self._commit()
        return result

    def _upsert_remote(self, groups: list[DatasetGroup], refresh: bool) -> BulkResult:
        assert self._remote is not None
        self._remote.upsert(groups)
        if refresh:
            self._remote_commit()
        result = BulkResult()
        for group in groups:
            indexed = sum(1 for m in group.members if indexable(m))
            result.indexed += indexed
            result.deleted += not indexed
        return result

    def delete(self, ids: Iterable[str], *, refresh: bool = True) -> BulkResult:
        if self._remote is not None:
            wanted = list(ids)
            self._remote.delete(wanted)
            if refresh:
                self._remote_commit()
            return BulkResult(deleted=len(wanted))
        result = BulkResult()
        with self._lock, self._writing("delete documents", commits=refresh):
            writer = self._get_writer()
            for record_id in ids:
                writer.delete_documents_by_term("member", record_id)
                result.deleted += 1
            if refresh:
                self._commit()
        return result

    def flush(self) -> None:
        if self._remote is not None:
            self._remote_commit()
            return
        with self._lock, self._writing("commit", commits=True):
            if self._writer is not None:
                self._commit()

    def clear(self) -> None:
        if self._remote is not None:
            self._remote.clear()
            return
        with self._lock, self._writing("clear"):
            self._get_writer().delete_all_documents()
            self._commit()
            # a writer that cleared the index and then took deletes by term lost the first document of a
            # group added after them (a group's full view vanished from an index cleared and refilled:
            # tests/test_index_writer.py); a writer opened after the clear does not
            self._close_writer()

    def rebuild_groups(self, groups: Iterable[DatasetGroup], batch: int = 1000) -> int:
        """Build the whole index beside the live one and swap it in (:mod:`.rebuild`): searches see the old
        index until the swap. A rebuild that was killed is continued after its last committed group."""
        if self._path is None:
            return super().rebuild_groups(groups, batch)
        folder = rebuild.next_folder(self._path)
        progress = rebuild.read_build(folder) if folder.exists() else None
        if progress is None or progress.get("complete"):
            shutil.rmtree(folder, ignore_errors=True)
            progress = {"after": "", "count": 0}
        after, total = str(progress.get("after") or ""), int(progress.get("count") or 0)
        if after:
            log.info("continuing the index rebuild in %s after group %s (%d records done)", folder, after, total)
        target = EmbeddedIndex(folder, search_cache=0)
        try:
            with target.writing():
                total = rebuild.fill(target, groups, folder, after=after, total=total, batch=batch)
            store_id = self.bound_store()
            if store_id:
                target.bind_store(store_id)
            rebuild.write_build(folder, after="", count=total, complete=True)
        finally:
            target.close()
        self._swap_in()
        return total

    def rebuild_progress(self) -> int | None:
        """Records a rebuild cut short had indexed (``fedcat reindex`` continues it), or None: none is."""
        if self._path is None:
            return None
        folder = rebuild.next_folder(self._path)
        progress = rebuild.read_build(folder) if folder.exists() else None
        return None if progress is None else int(progress.get("count") or 0)

    def _swap_in(self) -> None:
        assert self._path is not None
        if self._remote is not None:
            self._remote.close()
        with self._lock, self._writing("swap in the rebuilt index"):
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
            rebuild.swap(self._path)
            self._index = self._open_folder(self._path)

    def _reload(self) -> None:
        """Pick up the latest commit (or a swapped-in rebuild); a folder gone is the index unavailable."""
        try:
            self._index.reload()
        except (ValueError, OSError) as exc:
            raise IndexUnavailable(f"cannot read the embedded index at {self._path}: {exc}") from exc

    def count(self) -> int:
        self._reload()
        complete = tantivy.Query.term_query(self._schema, "view", "all")
        found = self._index.searcher().search(complete, limit=1, count=True)
        return int(getattr(found, "count", 0) or 0)

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
        with self._lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None

    # -- searching ---------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        if not 1 <= query.size <= MAX_PAGE_SIZE:
            raise BadQuery(f"must be between 1 and {MAX_PAGE_SIZE}", param="size")
        plan = plan_search(self._schema, query)
        generation = self._generation()  # before the searcher: see .search_cache
        if generation is not None and (kept := self._cache.page(generation, query)) is not None:
            return kept
        if generation is None or generation != self._searched:  # a reload costs more than a search of a rare word
            self._reload()
            self._searched = generation
        facets = self._cache.facets(generation, query) if generation is not None and query.facets else None
        result = run_search(self._index.searcher(), plan, query, facets=facets)
        if generation is not None:
            if query.facets and facets is None:
                self._cache.keep_facets(generation, query, result.facets)
            self._cache.keep_page(generation, query, result)
        return result

    def cache_counts(self) -> tuple[int, int] | None:
        return self._cache.hits, self._cache.misses

    def _generation(self) -> Hashable | None:
        """What changes whenever the index does: the digest of tantivy's ``meta.json``, rewritten by every
        commit (in any process) and different in a swapped-in rebuild; in memory, this process's commit
        count. ``None`` when it cannot be read (nothing is then kept)."""
        return self._commits if self._path is None else folder_generation(self._path)


def _tokens(text: str) -> str:
    return analysed_text(text)
