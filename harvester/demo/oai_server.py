"""A small but real OAI-PMH 2.0 data provider for the demo federation.

:class:`OAIRepository` answers protocol requests over a mutable set of
:class:`~.corpus.DemoRecord` (``oai_dc`` and ``oai_datacite``);
:class:`OAIServer` serves one repository over HTTP on 127.0.0.1 from a daemon
thread:

* ``GET``/``POST`` ``/oai`` -- the OAI-PMH endpoint (``url``),
* ``GET /dataset/<local_id>`` -- an HTML landing page (404 if unknown/deleted; ``landing_fault``
  can make some redirect to ``/login`` or answer 404),
* ``GET /`` -- a tiny index page.

Resumption tokens are stateless: they encode (metadataPrefix, from, until,
set, position after the last item returned) plus a checksum.  Paging is keyset
based ("records after (datestamp, identifier)"), so records modified during a
harvest move to the end of the list and are seen again rather than skipped.

Fault injection (for robustness tests): set ``server.fault`` to a callable
taking a :class:`FaultContext` and returning a :class:`FaultAction` (or
``None`` for a normal response).  It is called before every ``/oai`` response::

    server.fault = lambda ctx: (
        FaultAction(status=503, headers={"Retry-After": "1"}, body=b"busy")
        if ctx.request_number == 1 else None
    )
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import html
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from .corpus import DISCIPLINES, GRANULARITY_DAY, LICENSES, DemoCenter, DemoRecord
from .httpd import DemoHandler, LoopbackServer

logger = logging.getLogger(__name__)

__all__ = [
    "DeletedRecordPolicy",
    "FaultAction",
    "FaultContext",
    "FaultHook",
    "METADATA_FORMATS",
    "OAIRepository",
    "OAIServer",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DATACITE_NS = "http://schema.datacite.org/oai/oai-1.1/"
OAI_DATACITE_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
DATACITE_NS = "http://datacite.org/schema/kernel-4"
DATACITE_SCHEMA = "http://schema.datacite.org/meta/kernel-4.4/metadata.xsd"

#: metadataPrefix -> (schema, metadataNamespace)
METADATA_FORMATS: dict[str, tuple[str, str]] = {
    "oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS),
    "oai_datacite": (OAI_DATACITE_SCHEMA, OAI_DATACITE_NS),
}

DeletedRecordPolicy = Literal["no", "transient", "persistent"]

_VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # verb -> (required args, optional args); resumptionToken handled apart
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
}
_RESUMABLE = frozenset({"ListSets", "ListIdentifiers", "ListRecords"})
_LISTINGS_KEPT = 16  # filters whose listings a repository keeps

_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SECONDS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_EU_REPO_LABELS = {
    "info:eu-repo/semantics/openAccess": "Open Access",
    "info:eu-repo/semantics/embargoedAccess": "Embargoed Access",
    "info:eu-repo/semantics/restrictedAccess": "Restricted Access",
    "info:eu-repo/semantics/closedAccess": "Closed Access",
}

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


class OAIError(Exception):
    """An OAI-PMH protocol error (reported in the body with HTTP 200)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --------------------------------------------------------------------------
# XML writing
# --------------------------------------------------------------------------

Attrs = Mapping[str, str | None]


class _Xml:
    """Minimal streaming XML writer with correct escaping."""

    def __init__(self) -> None:
        self._parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']

    @staticmethod
    def _attrs(attrs: Attrs | None) -> str:
        if not attrs:
            return ""
        return "".join(
            f" {k}={quoteattr(_INVALID_XML_CHARS.sub('', v))}" for k, v in attrs.items() if v is not None
        )

    def open(self, tag: str, attrs: Attrs | None = None) -> None:
        self._parts.append(f"<{tag}{self._attrs(attrs)}>")

    def close(self, tag: str) -> None:
        self._parts.append(f"</{tag}>")

    @contextmanager
    def elem(self, tag: str, attrs: Attrs | None = None) -> Iterator[None]:
        self.open(tag, attrs)
        yield
        self.close(tag)

    def leaf(self, tag: str, text: str | None = None, attrs: Attrs | None = None) -> None:
        if text is None or text == "":
            self._parts.append(f"<{tag}{self._attrs(attrs)}/>")
        else:
            self._parts.append(f"<{tag}{self._attrs(attrs)}>{escape(_INVALID_XML_CHARS.sub('', text))}</{tag}>")

    def newline(self) -> None:
        self._parts.append("\n")

    def to_bytes(self) -> bytes:
        return "".join(self._parts).encode("utf-8")


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _fmt_seconds(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Bound:
    """A parsed from/until argument."""

    text: str
    value: datetime  # inclusive bound at seconds precision
    day: bool


def _parse_bound(text: str, arg: str, day_only: bool) -> _Bound:
    m = _SECONDS_RE.match(text)
    if m:
        if day_only:
            raise OAIError(
                "badArgument",
                f"{arg}={text!r}: this repository supports day granularity (YYYY-MM-DD) only",
            )
        y, mo, d, h, mi, se = (int(g) for g in m.groups())
        try:
            value = datetime(y, mo, d, h, mi, se, tzinfo=UTC)
        except ValueError:
            raise OAIError("badArgument", f"{arg}={text!r} is not a valid date") from None
        return _Bound(text, value, day=False)
    m = _DAY_RE.match(text)
    if m:
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            raise OAIError("badArgument", f"{arg}={text!r} is not a valid date") from None
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = start if arg == "from" else start + timedelta(days=1, seconds=-1)
        return _Bound(text, value, day=True)
    raise OAIError("badArgument", f"{arg}={text!r} is not a valid UTCdatetime")


# --------------------------------------------------------------------------
# Resumption tokens
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _ListState:
    prefix: str
    from_: str | None
    until: str | None
    set_spec: str | None
    after: tuple[datetime, str] | None = None  # (datestamp, identifier) of the last item sent


# --------------------------------------------------------------------------
# Repository
# --------------------------------------------------------------------------


class OAIRepository:
    """An OAI-PMH repository over a mutable, thread-safe set of demo records."""

    def __init__(
        self,
        center: DemoCenter,
        records: Sequence[DemoRecord] = (),
        *,
        deleted_record: DeletedRecordPolicy = "persistent",
        admin_email: str | None = None,
        page_size: int | None = None,
    ) -> None:
        if deleted_record not in ("no", "transient", "persistent"):
            raise ValueError(f"deleted_record must be 'no', 'transient' or 'persistent', not {deleted_record!r}")
        self.center = center
        self.deleted_record: DeletedRecordPolicy = deleted_record
        self.admin_email = admin_email or f"data-admin@{center.id}.demo.fedcat.invalid"
        self.page_size = page_size or center.page_size
        self._lock = threading.RLock()
        self._records: dict[str, DemoRecord] = {}
        self._ordered: list[DemoRecord] | None = None
        #: Listings by filter, each with its records' sort keys (cleared whenever a record changes).
        self._listings: dict[tuple[object, ...], tuple[list[DemoRecord], list[tuple[datetime, str]]]] = {}
        for record in records:
            self._records[record.identifier] = record

    # ---- data access ------------------------------------------------------

    @property
    def day_granularity(self) -> bool:
        return self.center.granularity == GRANULARITY_DAY

    def records(self) -> list[DemoRecord]:
        """All records (including deleted), ordered by (datestamp, identifier)."""
        with self._lock:
            if self._ordered is None:
                self._ordered = sorted(self._records.values(), key=lambda r: (_utc(r.datestamp), r.identifier))
            return list(self._ordered)

    def _changed(self) -> None:
        self._ordered = None
        self._listings.clear()

    def _listing(self, lower: _Bound | None, upper: _Bound | None,
                 set_spec: str | None) -> tuple[list[DemoRecord], list[tuple[datetime, str]]]:
        """The records a list request selects, in order, with their keys; kept until a record changes,
        so paging through a listing costs a page, not a pass over every record."""
        key = (lower.value if lower else None, upper.value if upper else None, set_spec, self.deleted_record)
        with self._lock:
            found = self._listings.get(key)
            if found is None:
                matching = [r for r in self.records() if self._visible(r) and self._matches(r, lower, upper, set_spec)]
                if len(self._listings) >= _LISTINGS_KEPT:
                    self._listings.clear()
                found = self._listings[key] = (matching, [self._key(r) for r in matching])
            return found

    def get(self, identifier: str) -> DemoRecord | None:
        with self._lock:
            return self._records.get(identifier)

    def get_by_local_id(self, local_id: str) -> DemoRecord | None:
        return self.get(f"oai:{self.center.id}:{local_id}")

    def upsert(self, record: DemoRecord) -> None:
        """Insert or replace a record (keyed by its OAI identifier)."""
        with self._lock:
            self._records[record.identifier] = record
            self._changed()

    def delete(self, identifier: str, when: datetime | None = None) -> DemoRecord:
        """Mark a record deleted and bump its datestamp (default: now)."""
        stamp = _utc(when or datetime.now(UTC)).replace(microsecond=0)
        with self._lock:
            try:
                current = self._records[identifier]
            except KeyError:
                raise KeyError(identifier) from None
            updated = replace(current, deleted=True, datestamp=stamp)
            self._records[identifier] = updated
            self._changed()
            return updated

    def sets(self) -> list[tuple[str, str, str]]:
        """(setSpec, name_zh, name_en) for the center's disciplines."""
        result = []
        for key in self.center.disciplines:
            zh, en = DISCIPLINES.get(key, (key, key))
            result.append((key, zh, en))
        return result

    def earliest_datestamp(self) -> datetime:
        ordered = self.records()
        if ordered:
            return _utc(ordered[0].datestamp)
        return datetime(2019, 1, 1, tzinfo=UTC)

    def _fmt_datestamp(self, dt: datetime) -> str:
        if self.day_granularity:
            return _utc(dt).strftime("%Y-%m-%d")
        return _fmt_seconds(dt)

    def _visible(self, record: DemoRecord) -> bool:
        return not (record.deleted and self.deleted_record == "no")

    # ---- resumption tokens ------------------------------------------------

    def _token_checksum(self, payload: str) -> str:
        return hashlib.sha256(f"{self.center.id}|{payload}".encode()).hexdigest()[:12]

    def _encode_token(self, state: _ListState) -> str:
        payload = json.dumps(
            [
                state.prefix,
                state.from_,
                state.until,
                state.set_spec,
                [state.after[0].isoformat(), state.after[1]] if state.after else None,
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        raw = f"{payload}|{self._token_checksum(payload)}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _decode_token(self, token: str) -> _ListState:
        bad = OAIError("badResumptionToken", f"the resumptionToken {token!r} is invalid or expired")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
            payload, _, checksum = raw.rpartition("|")
            if not payload or checksum != self._token_checksum(payload):
                raise bad
            prefix, from_, until, set_spec, after = json.loads(payload)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise bad from None
        if not isinstance(prefix, str) or not all(isinstance(v, (str, type(None))) for v in (from_, until, set_spec)):
            raise bad
        after_t: tuple[datetime, str] | None = None
        if after is not None:
            if not (isinstance(after, list) and len(after) == 2 and all(isinstance(v, str) for v in after)):
                raise bad
            try:
                after_t = (_utc(datetime.fromisoformat(after[0])), after[1])
            except ValueError:
                raise bad from None
        return _ListState(prefix, from_, until, set_spec, after_t)

    # ---- protocol ---------------------------------------------------------

    def respond(
        self,
        params: Mapping[str, str],
        base_url: str,
        *,
        repeated: Collection[str] = (),
        site_url: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one OAI-PMH request.

        ``params`` are the request arguments (one value each); ``repeated``
        names arguments that occurred more than once (an error).  ``base_url``
        is the OAI endpoint (echoed in ``<request>``); ``site_url`` is the root
        for landing pages (default: scheme://host:port of ``base_url``).
        Returns (HTTP status, headers, body); protocol errors are HTTP 200.
        """
        if site_url is None:
            parts = urlsplit(base_url)
            site_url = f"{parts.scheme}://{parts.netloc}"
        headers = {"Content-Type": XML_CONTENT_TYPE}
        verb = params.get("verb")
        try:
            if verb is None or verb not in _VERBS or "verb" in repeated:
                raise OAIError("badVerb", "missing, repeated or illegal verb" if verb else "missing verb")
            self._check_args(verb, params, repeated)
            body = self._dispatch(verb, params, base_url, site_url)
        except OAIError as exc:
            logger.debug("%s: OAI error %s (%s) for %r", self.center.id, exc.code, exc.message, dict(params))
            body = self._error_body(exc, params, base_url)
        return 200, headers, body

    def _check_args(self, verb: str, params: Mapping[str, str], repeated: Collection[str]) -> None:
        required, optional = _VERBS[verb]
        args = set(params) - {"verb"}
        allowed = required | optional | ({"resumptionToken"} if verb in _RESUMABLE else frozenset())
        illegal = args - allowed
        if illegal:
            raise OAIError("badArgument", f"illegal argument(s) for {verb}: {', '.join(sorted(illegal))}")
        dup = set(repeated) & args
        if dup:
            raise OAIError("badArgument", f"repeated argument(s): {', '.join(sorted(dup))}")
        if "resumptionToken" in args:
            if args != {"resumptionToken"}:
                raise OAIError("badArgument", "resumptionToken is an exclusive argument")
            return
        missing = required - args
        if missing:
            raise OAIError("badArgument", f"missing required argument(s): {', '.join(sorted(missing))}")

    def _dispatch(self, verb: str, params: Mapping[str, str], base_url: str, site_url: str) -> bytes:
        if verb == "Identify":
            return self._identify(params, base_url)
        if verb == "ListMetadataFormats":
            return self._list_metadata_formats(params, base_url)
        if verb == "ListSets":
            if "resumptionToken" in params:
                raise OAIError("badResumptionToken", "ListSets is never paged by this repository")
            return self._list_sets(params, base_url)
        if verb == "GetRecord":
            return self._get_record(params, base_url, site_url)
        return self._list(verb, params, base_url, site_url)

    # ---- envelope ---------------------------------------------------------

    def _envelope(self, params: Mapping[str, str] | None, base_url: str) -> _Xml:
        x = _Xml()
        x.open(
            "OAI-PMH",
            {"xmlns": OAI_NS, "xmlns:xsi": XSI_NS, "xsi:schemaLocation": f"{OAI_NS} {OAI_SCHEMA}"},
        )
        x.newline()
        x.leaf("responseDate", _fmt_seconds(datetime.now(UTC)))
        x.newline()
        x.leaf("request", base_url, dict(params) if params else None)
        x.newline()
        return x

    def _finish(self, x: _Xml) -> bytes:
        x.newline()
        x.close("OAI-PMH")
        x.newline()
        return x.to_bytes()

    def _error_body(self, exc: OAIError, params: Mapping[str, str], base_url: str) -> bytes:
        echo = None if exc.code in ("badVerb", "badArgument") else params
        x = self._envelope(echo, base_url)
        x.leaf("error", exc.message, {"code": exc.code})
        return self._finish(x)

    # ---- verbs ------------------------------------------------------------

    def _identify(self, params: Mapping[str, str], base_url: str) -> bytes:
        x = self._envelope(params, base_url)
        c = self.center
        with x.elem("Identify"):
            x.leaf("repositoryName", c.name_zh)
            x.leaf("baseURL", base_url)
            x.leaf("protocolVersion", "2.0")
            x.leaf("adminEmail", self.admin_email)
            x.leaf("earliestDatestamp", self._fmt_datestamp(self.earliest_datestamp()))
            x.leaf("deletedRecord", self.deleted_record)
            x.leaf("granularity", c.granularity)
            with x.elem("description"):
                with x.elem("oai_dc:dc", self._dc_root_attrs()):
                    x.leaf("dc:title", c.name_zh, {"xml:lang": "zh"})
                    x.leaf("dc:title", c.name_en, {"xml:lang": "en"})
                    x.leaf("dc:identifier", c.id)
                    x.leaf("dc:description", f"Demo OAI-PMH repository of the {c.name_en} (fedcat).",
                           {"xml:lang": "en"})
        return self._finish(x)

    def _list_metadata_formats(self, params: Mapping[str, str], base_url: str) -> bytes:
        identifier = params.get("identifier")
        if identifier is not None:
            record = self.get(identifier)
            if record is None or not self._visible(record):
                raise OAIError("idDoesNotExist", f"unknown identifier {identifier!r}")
        x = self._envelope(params, base_url)
        with x.elem("ListMetadataFormats"):
            for prefix in self.center.metadata_formats:
                schema, ns = METADATA_FORMATS[prefix]
                with x.elem("metadataFormat"):
                    x.leaf("metadataPrefix", prefix)
                    x.leaf("schema", schema)
                    x.leaf("metadataNamespace", ns)
        return self._finish(x)

    def _list_sets(self, params: Mapping[str, str], base_url: str) -> bytes:
        x = self._envelope(params, base_url)
        with x.elem("ListSets"):
            for spec, zh, en in self.sets():
                with x.elem("set"):
                    x.leaf("setSpec", spec)
                    x.leaf("setName", f"{zh} / {en}")
                    with x.elem("setDescription"):
                        with x.elem("oai_dc:dc", self._dc_root_attrs()):
                            x.leaf("dc:title", zh, {"xml:lang": "zh"})
                            x.leaf("dc:title", en, {"xml:lang": "en"})
        return self._finish(x)

    def _check_prefix(self, prefix: str) -> None:
        if prefix not in self.center.metadata_formats:
            raise OAIError(
                "cannotDisseminateFormat",
                f"metadataPrefix {prefix!r} is not supported; use one of {', '.join(self.center.metadata_formats)}",
            )

    def _get_record(self, params: Mapping[str, str], base_url: str, site_url: str) -> bytes:
        identifier = params["identifier"]
        prefix = params["metadataPrefix"]
        record = self.get(identifier)
        if record is None or not self._visible(record):
            raise OAIError("idDoesNotExist", f"unknown identifier {identifier!r}")
        self._check_prefix(prefix)
        x = self._envelope(params, base_url)
        with x.elem("GetRecord"):
            self._write_record(x, record, prefix, site_url)
        return self._finish(x)

    def _list(self, verb: str, params: Mapping[str, str], base_url: str, site_url: str) -> bytes:
        token = params.get("resumptionToken")
        if token is not None:
            state = self._decode_token(token)
        else:
            state = _ListState(params["metadataPrefix"], params.get("from"), params.get("until"), params.get("set"))
        lower = upper = None
        if state.from_ is not None:
            lower = _parse_bound(state.from_, "from", self.day_granularity)
        if state.until is not None:
            upper = _parse_bound(state.until, "until", self.day_granularity)
        if lower and upper:
            if lower.day != upper.day:
                raise OAIError("badArgument", "from and until must have the same granularity")
            if lower.value > upper.value:
                raise OAIError("badArgument", "from is later than until")
        self._check_prefix(state.prefix)

        matching, keys = self._listing(lower, upper, state.set_spec)
        cursor = 0 if state.after is None else bisect.bisect_right(keys, state.after)
        page = matching[cursor : cursor + self.page_size]
        if not page:
            raise OAIError("noRecordsMatch", "no records match the request")
        more = cursor + len(page) < len(matching)

        x = self._envelope(params, base_url)
        with x.elem(verb):
            for record in page:
                if verb == "ListIdentifiers":
                    self._write_header(x, record)
                else:
                    self._write_record(x, record, state.prefix, site_url)
                x.newline()
            if more or token is not None:
                next_token = self._encode_token(replace(state, after=self._key(page[-1]))) if more else None
                x.leaf(
                    "resumptionToken",
                    next_token,
                    {"completeListSize": str(len(matching)), "cursor": str(cursor)},
                )
        return self._finish(x)

    @staticmethod
    def _key(record: DemoRecord) -> tuple[datetime, str]:
        return (_utc(record.datestamp), record.identifier)

    def _matches(self, record: DemoRecord, lower: _Bound | None, upper: _Bound | None, set_spec: str | None) -> bool:
        stamp = _utc(record.datestamp).replace(microsecond=0)
        if self.day_granularity:
            stamp = stamp.replace(hour=0, minute=0, second=0)
        if lower is not None and stamp < lower.value:
            return False
        if upper is not None and stamp > upper.value:
            return False
        if set_spec is not None:
            return any(s == set_spec or s.startswith(set_spec + ":") for s in record.sets)
        return True

    # ---- records ----------------------------------------------------------

    def _write_header(self, x: _Xml, record: DemoRecord) -> None:
        with x.elem("header", {"status": "deleted"} if record.deleted else None):
            x.leaf("identifier", record.identifier)
            x.leaf("datestamp", self._fmt_datestamp(record.datestamp))
            for spec in record.sets:
                x.leaf("setSpec", spec)

    def _write_record(self, x: _Xml, record: DemoRecord, prefix: str, site_url: str) -> None:
        with x.elem("record"):
            self._write_header(x, record)
            if record.deleted:
                return
            with x.elem("metadata"):
                if prefix == "oai_datacite":
                    self._write_datacite(x, record, site_url)
                else:
                    self._write_dc(x, record, site_url)

    @staticmethod
    def _dc_root_attrs() -> dict[str, str | None]:
        return {
            "xmlns:oai_dc": OAI_DC_NS,
            "xmlns:dc": DC_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{OAI_DC_NS} {OAI_DC_SCHEMA}",
        }

    def _write_dc(self, x: _Xml, r: DemoRecord, site_url: str) -> None:
        with x.elem("oai_dc:dc", self._dc_root_attrs()):
            x.leaf("dc:title", r.title_zh, {"xml:lang": "zh"})
            x.leaf("dc:title", r.title_en, {"xml:lang": "en"})
            for creator in r.creators:
                x.leaf("dc:creator", creator)
            for subject in r.subjects:
                x.leaf("dc:subject", subject)
            x.leaf("dc:description", r.description_zh, {"xml:lang": "zh"})
            x.leaf("dc:description", r.description_en, {"xml:lang": "en"})
            x.leaf("dc:publisher", r.publisher_zh, {"xml:lang": "zh"})
            x.leaf("dc:date", r.issued.isoformat())
            x.leaf("dc:type", "Dataset")
            for fmt in r.formats:
                x.leaf("dc:format", fmt)
            if r.doi:  # a center that registered only a CSTR (see corpus.deposits)
                x.leaf("dc:identifier", f"https://doi.org/{r.doi}")
            x.leaf("dc:identifier", r.cstr)
            x.leaf("dc:identifier", r.absolute_landing_url(site_url))
            x.leaf("dc:language", r.language)
            if r.license_name:
                x.leaf("dc:rights", r.license_name)
            if r.license_url:
                x.leaf("dc:rights", r.license_url)
            if r.access_statement:
                x.leaf("dc:rights", r.access_statement)
            for extra in r.extra_rights:
                x.leaf("dc:date" if extra.startswith("info:eu-repo/date/") else "dc:rights", extra)

    def _write_datacite(self, x: _Xml, r: DemoRecord, site_url: str) -> None:
        with x.elem(
            "oai_datacite",
            {
                "xmlns": OAI_DATACITE_NS,
                "xmlns:xsi": XSI_NS,
                "xsi:schemaLocation": f"{OAI_DATACITE_NS} {OAI_DATACITE_SCHEMA}",
            },
        ):
            x.leaf("schemaVersion", "4.4")
            x.leaf("datacentreSymbol", f"DEMO.{self.center.id.upper()}")
            with x.elem("payload"):
                with x.elem(
                    "resource",
                    {"xmlns": DATACITE_NS, "xsi:schemaLocation": f"{DATACITE_NS} {DATACITE_SCHEMA}"},
                ):
                    self._write_datacite_resource(x, r, site_url)

    def _write_datacite_resource(self, x: _Xml, r: DemoRecord, site_url: str) -> None:
        if r.doi:
            x.leaf("identifier", r.doi, {"identifierType": "DOI"})
        else:  # a center that registered only a CSTR (see corpus.deposits)
            x.leaf("identifier", r.cstr, {"identifierType": "CSTR"})
        with x.elem("creators"):
            for creator in r.creators:
                with x.elem("creator"):
                    x.leaf("creatorName", creator, {"nameType": "Personal"})
        with x.elem("titles"):
            x.leaf("title", r.title_zh, {"xml:lang": "zh"})
            x.leaf("title", r.title_en, {"xml:lang": "en"})
        x.leaf("publisher", r.publisher_zh, {"xml:lang": "zh"})
        x.leaf("publicationYear", str(r.year))
        x.leaf("resourceType", "Dataset", {"resourceTypeGeneral": "Dataset"})
        with x.elem("subjects"):
            for subject in r.subjects:
                x.leaf("subject", subject)
        with x.elem("dates"):
            x.leaf("date", r.issued.isoformat(), {"dateType": "Issued"})
            x.leaf("date", _utc(r.datestamp).date().isoformat(), {"dateType": "Updated"})
        x.leaf("language", r.language)
        with x.elem("alternateIdentifiers"):
            x.leaf("alternateIdentifier", r.cstr, {"alternateIdentifierType": "CSTR"})
            x.leaf("alternateIdentifier", r.absolute_landing_url(site_url), {"alternateIdentifierType": "URL"})
        with x.elem("formats"):
            for fmt in r.formats:
                x.leaf("format", fmt)
        x.leaf("version", r.version)
        with x.elem("rightsList"):
            if r.license_name:
                url, spdx = LICENSES.get(r.license_name, (r.license_url or "", ""))
                x.leaf(
                    "rights",
                    r.license_name,
                    {
                        "xml:lang": "en",
                        "rightsURI": r.license_url or url or None,
                        "rightsIdentifier": spdx or None,
                        "rightsIdentifierScheme": "SPDX" if spdx else None,
                        "schemeURI": "https://spdx.org/licenses/" if spdx else None,
                    },
                )
            access = r.access_statement
            if access and access.startswith("info:eu-repo/"):
                x.leaf("rights", _EU_REPO_LABELS.get(access, access), {"xml:lang": "en", "rightsURI": access})
            elif access:
                x.leaf("rights", access, {"xml:lang": "zh"})
            for extra in r.extra_rights:
                if extra.startswith("info:eu-repo/"):
                    x.leaf("rights", None, {"rightsURI": extra})
                else:
                    x.leaf("rights", extra, {"xml:lang": "zh"})
        with x.elem("descriptions"):
            x.leaf("description", r.description_zh, {"xml:lang": "zh", "descriptionType": "Abstract"})
            x.leaf("description", r.description_en, {"xml:lang": "en", "descriptionType": "Abstract"})


# --------------------------------------------------------------------------
# HTTP server
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultContext:
    """What the fault hook sees about one ``/oai`` request."""

    params: dict[str, str]
    request_number: int  # 1-based count of /oai requests to this server
    method: str  # "GET" or "POST"
    path: str
    headers: dict[str, str] = field(default_factory=dict)  # the request's headers


@dataclass
class FaultAction:
    """How to disturb one ``/oai`` response.  All fields are optional.

    Applied in order: ``delay`` (sleep seconds), then ``drop`` (close the
    connection without any response), else the real response is built and
    ``status``/``headers``/``body`` override its parts; ``truncate_at`` sends
    only the first N bytes of the body and closes the connection.  By default
    the Content-Length still announces the full body (a transport error for
    the client); with ``honest_length=True`` it announces the truncated
    length (a well-formed HTTP response carrying broken XML).
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    drop: bool = False
    truncate_at: int | None = None
    honest_length: bool = False


FaultHook = Callable[[FaultContext], FaultAction | None]


def missing_page_html(local_id: str) -> bytes:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>404 数据集不存在</title></head>"
        f"<body><h1>404</h1><p>Dataset {html.escape(local_id)} not found / 数据集不存在</p></body></html>"
    ).encode()


def landing_page_html(record: DemoRecord) -> bytes:
    """A dataset's landing page as a data center would serve it."""
    e = html.escape
    return (
        "<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{e(record.title_zh)}</title>"
        f"<meta name='citation_title' content='{e(record.title_en)}'>"
        + (f"<meta name='citation_doi' content='{e(record.doi)}'>" if record.doi else "") +
        "</head><body>"
        f"<h1>{e(record.title_zh)}</h1><h2 lang='en'>{e(record.title_en)}</h2>"
        f"<p>{e(record.description_zh)}</p><p lang='en'>{e(record.description_en)}</p>"
        + (f"<dl><dt>DOI</dt><dd><a href='https://doi.org/{e(record.doi)}'>{e(record.doi)}</a></dd>"
           if record.doi else "<dl>") +
        f"<dt>CSTR</dt><dd>{e(record.cstr)}</dd>"
        f"<dt>发布者 Publisher</dt><dd>{e(record.publisher_zh)} / {e(record.publisher_en)}</dd>"
        f"<dt>许可 License</dt><dd>{e(record.license_name or '-')}</dd></dl>"
        "</body></html>"
    ).encode()


#: Decides whether a landing page misbehaves: ``"login"`` (redirect to a login page), ``"gone"`` (404) or None.
LandingFault = Callable[[DemoRecord], str | None]


class _Handler(DemoHandler):
    server_version = "fedcat-demo-oai/0.1"

    @property
    def owner(self) -> OAIServer:
        owner: OAIServer = super().owner
        return owner

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        parts = urlsplit(self.path)
        number = self.owner._count(oai=parts.path == "/oai")
        if parts.path == "/oai":
            self._oai(parse_qs(parts.query, keep_blank_values=True, errors="replace"), parts.path, number)
        elif parts.path.startswith("/dataset/"):
            self._landing(unquote(parts.path[len("/dataset/") :]))
        elif parts.path == "/login":
            self._login()
        elif parts.path in ("", "/"):
            self._index()
        else:
            self.send_bytes(404, {"Content-Type": HTML_CONTENT_TYPE},
                            b"<!DOCTYPE html><title>404</title><p>Not found</p>")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        parts = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(length) if length > 0 else b""
        number = self.owner._count(oai=parts.path == "/oai")
        if parts.path != "/oai":
            self.send_bytes(404, {"Content-Type": HTML_CONTENT_TYPE},
                            b"<!DOCTYPE html><title>404</title><p>Not found</p>")
            return
        form = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
        self._oai(form, parts.path, number)

    # ---- handlers ---------------------------------------------------------

    def _oai(self, query: dict[str, list[str]], path: str, number: int) -> None:
        owner = self.owner
        params = {k: v[0] for k, v in query.items()}
        repeated = {k for k, v in query.items() if len(v) > 1}
        action: FaultAction | None = None
        hook = owner.fault
        if hook is not None:
            ctx = FaultContext(dict(params), number, self.command, path, dict(self.headers.items()))
            try:
                action = hook(ctx)
            except Exception:  # a broken hook must not kill the server
                logger.exception("fault hook failed; serving a normal response")
        if action is not None and action.delay > 0:
            time.sleep(action.delay)
        if action is not None and action.drop:
            logger.debug("fault: dropping connection for %r", params)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, headers, body = owner.repository.respond(params, owner.url, repeated=repeated, site_url=owner.base_url)
        if action is None:
            self.send_bytes(status, headers, body)
            return
        if action.status is not None:
            status = action.status
        if action.body is not None:
            body = action.body
        headers.update(action.headers)
        self.send_bytes(status, headers, body, truncate_at=action.truncate_at, honest_length=action.honest_length)

    def _landing(self, local_id: str) -> None:
        record = self.owner.repository.get_by_local_id(local_id)
        if record is None or record.deleted:
            self.send_bytes(404, {"Content-Type": HTML_CONTENT_TYPE}, missing_page_html(local_id))
            return
        wall = self.owner.landing_fault
        fault = wall(record) if wall is not None else None
        if fault == "login":
            self.send_bytes(302, {"Location": f"/login?next=/dataset/{local_id}", "Content-Type": HTML_CONTENT_TYPE},
                       b"<!DOCTYPE html><title>302</title>")
            return
        if fault == "gone":
            self.send_bytes(404, {"Content-Type": HTML_CONTENT_TYPE}, missing_page_html(local_id))
            return
        self.send_bytes(200, {"Content-Type": HTML_CONTENT_TYPE}, landing_page_html(record))

    def _login(self) -> None:
        page = ("<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'><title>登录 Sign in</title></head><body>"
                "<h1>登录 / Sign in</h1><form method='post' action='/login'><input name='user'>"
                "<input type='password' name='password'><button>登录</button></form></body></html>")
        self.send_bytes(200, {"Content-Type": HTML_CONTENT_TYPE}, page.encode("utf-8"))

    def _index(self) -> None:
        c = self.owner.repository.center
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(c.name_zh)}</title></head><body>"
            f"<h1>{html.escape(c.name_zh)}</h1><p>{html.escape(c.name_en)}</p>"
            "<p><a href='/oai?verb=Identify'>OAI-PMH</a></p></body></html>"
        )
        self.send_bytes(200, {"Content-Type": HTML_CONTENT_TYPE}, page.encode("utf-8"))


class OAIServer(LoopbackServer):
    """Serve an :class:`OAIRepository` over HTTP on 127.0.0.1 (daemon thread).

    ``port=0`` picks a free port at :meth:`start`; the chosen port is kept, so
    ``stop()`` followed by ``start()`` restarts on the same port.
    """

    handler = _Handler

    def __init__(self, repository: OAIRepository, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.repository = repository
        self.fault: FaultHook | None = None
        #: Landing pages that misbehave (login walls, dead links), for the link checker; None: all answer 200.
        self.landing_fault: LandingFault | None = None
        self.request_count = 0  # all HTTP requests
        self.oai_request_count = 0  # requests to /oai only

    def thread_name(self) -> str:
        return f"oai-{self.repository.center.id}-{self._port}"

    @property
    def url(self) -> str:
        """The OAI-PMH endpoint (baseURL), e.g. ``http://127.0.0.1:8101/oai``."""
        return f"{self.base_url}/oai"

    # ---- internals used by the handler -------------------------------------

    def _count(self, *, oai: bool) -> int:
        """Count a request; returns the /oai request number (or 0)."""
        with self._lock:
            self.request_count += 1
            if oai:
                self.oai_request_count += 1
                return self.oai_request_count
            return 0
