"""The six OAI-PMH verbs over a :class:`~.published.Published` repository, answered as OAI-PMH 2.0 XML.

Arguments are checked as the protocol says: a missing or unknown verb is ``badVerb``; a repeated
argument, an argument the verb does not take, a missing required one or a malformed date is
``badArgument``; ``resumptionToken`` is exclusive. ``from`` and ``until`` take a day or a second in UTC
(``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm:ssZ``), both of the same granularity, and include their bounds.
Lists come in pages of :data:`PAGE_SIZE` with a resumption token (:mod:`.tokens`); the last page ends
with an empty token giving the list's size and cursor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lxml import etree

from . import tokens
from .errors import (
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoSetHierarchy,
    OAIProblem,
)
from .formats import FORMATS, XSI, MetadataFormat
from .published import ListFilter, Published, PublishedItem

OAI = "http://www.openarchives.org/OAI/2.0/"
SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
#: Items in one page of ListRecords / ListIdentifiers.
PAGE_SIZE = 100
#: Arguments each verb takes besides ``verb`` (required ones, optional ones).
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set", "resumptionToken"})),
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True)
class Repository:
    """What Identify says, and how identifiers are made: ``oai:<domain>:<dataset key>``."""

    name: str
    base_url: str
    admin_emails: tuple[str, ...]
    domain: str
    #: Signs resumption tokens.
    key: bytes

    def identifier(self, key: str) -> str:
        return f"oai:{self.domain}:{key}"

    def key_of(self, identifier: str) -> str | None:
        prefix = f"oai:{self.domain}:"
        return identifier[len(prefix):] if identifier.startswith(prefix) and len(identifier) > len(prefix) else None


class Provider:
    def __init__(self, repo: Repository, published: Published, *, page_size: int = PAGE_SIZE) -> None:
        self.repo = repo
        self.published = published
        self.page_size = page_size

    def answer(self, args: Sequence[tuple[str, str]], now: datetime | None = None) -> bytes:
        """The XML answer to one request's arguments (query string or form, in order)."""
        now = now or datetime.now(UTC)
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI, "xsi": XSI})
        root.set(f"{{{XSI}}}schemaLocation", f"{OAI} {SCHEMA}")
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = _stamp(now)
        request = etree.SubElement(root, f"{{{OAI}}}request")
        request.text = self.repo.base_url
        try:
            verb, params = _checked(args)
            for name, value in sorted(params.items()):  # echoed unless the arguments are in error
                request.set(name, value)
            request.set("verb", verb)
            root.append(getattr(self, f"_{verb}")(params, now))
        except OAIProblem as problem:
            if isinstance(problem, BadVerb | BadArgument):  # the protocol: such a request is not echoed
                request.attrib.clear()
            error = etree.SubElement(root, f"{{{OAI}}}error", code=problem.code)
            error.text = problem.message
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    # -- verbs ---------------------------------------------------------------------------------------

    def _Identify(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        el = etree.Element(f"{{{OAI}}}Identify")
        for name, value in (("repositoryName", self.repo.name), ("baseURL", self.repo.base_url),
                            ("protocolVersion", "2.0")):
            etree.SubElement(el, f"{{{OAI}}}{name}").text = value
        for email in self.repo.admin_emails:
            etree.SubElement(el, f"{{{OAI}}}adminEmail").text = email
        earliest = self.published.earliest() or _stamp(now)
        for name, value in (("earliestDatestamp", earliest), ("deletedRecord", "persistent"),
                            ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
            etree.SubElement(el, f"{{{OAI}}}{name}").text = value
        return el

    def _ListMetadataFormats(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        if "identifier" in params:
            self._item(params["identifier"])
        el = etree.Element(f"{{{OAI}}}ListMetadataFormats")
        for fmt in FORMATS.values():
            f = etree.SubElement(el, f"{{{OAI}}}metadataFormat")
            for name, value in (("metadataPrefix", fmt.prefix), ("schema", fmt.schema),
                                ("metadataNamespace", fmt.namespace)):
                etree.SubElement(f, f"{{{OAI}}}{name}").text = value
        return el

    def _ListSets(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        if "resumptionToken" in params:  # the sets come in one page: no token was ever issued
            raise BadResumptionToken("ListSets is answered in one page: there is no token to resume")
        sets = self.published.sets()
        if not sets:
            raise NoSetHierarchy("this repository has no sets yet")
        el = etree.Element(f"{{{OAI}}}ListSets")
        for spec, name in sets:
            s = etree.SubElement(el, f"{{{OAI}}}set")
            etree.SubElement(s, f"{{{OAI}}}setSpec").text = spec
            etree.SubElement(s, f"{{{OAI}}}setName").text = name
        return el

    def _GetRecord(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        fmt = _format(params["metadataPrefix"])
        item = self._item(params["identifier"])
        el = etree.Element(f"{{{OAI}}}GetRecord")
        el.append(self._record(item, fmt.prefix))
        return el

    def _ListIdentifiers(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        return self._list("ListIdentifiers", params, now)

    def _ListRecords(self, params: dict[str, str], now: datetime) -> etree._Element:  # noqa: N802
        return self._list("ListRecords", params, now)

    # -- lists ---------------------------------------------------------------------------------------

    def _list(self, verb: str, params: dict[str, str], now: datetime) -> etree._Element:
        state = self._state(verb, params, now)
        where = ListFilter(state.from_, state.until, state.set_spec)
        records = verb == "ListRecords"
        items = list(self.published.page(where, state.after, self.page_size + 1, with_records=records))
        if not items and state.after is None:
            raise NoRecordsMatch("no item matches these arguments")
        more, items = len(items) > self.page_size, items[:self.page_size]
        el = etree.Element(f"{{{OAI}}}{verb}")
        for item in items:
            el.append(self._record(item, state.prefix) if records else self._header(item))
        sent = state.cursor + len(items)
        token = etree.SubElement(el, f"{{{OAI}}}resumptionToken", completeListSize=str(max(state.size, sent)),
                                 cursor=str(state.cursor))
        if more:
            last = items[-1]
            following = replace(state, after=(last.datestamp, last.key), cursor=sent,
                                expires=int(now.timestamp()) + tokens.TOKEN_LIFETIME)
            token.set("expirationDate", _stamp(datetime.fromtimestamp(following.expires, UTC)))
            token.text = tokens.encode(following, self.repo.key)
        return el

    def _state(self, verb: str, params: dict[str, str], now: datetime) -> tokens.ListState:
        if "resumptionToken" in params:
            state = tokens.decode(params["resumptionToken"], self.repo.key, int(now.timestamp()))
            if state.verb != verb:
                raise BadResumptionToken(f"this resumption token continues a {state.verb} list")
            return state
        fmt = _format(params["metadataPrefix"])
        from_, until = _range(params.get("from"), params.get("until"))
        set_spec = params.get("set")
        if set_spec is not None and not self.published.sets():
            raise NoSetHierarchy("this repository has no sets yet")
        where = ListFilter(from_, until, set_spec)
        return tokens.ListState(verb=verb, prefix=fmt.prefix, from_=from_, until=until, set_spec=set_spec,
                                after=None, cursor=0, size=self.published.count(where), expires=0)

    # -- items ---------------------------------------------------------------------------------------

    def _item(self, identifier: str) -> PublishedItem:
        key = self.repo.key_of(identifier)
        item = self.published.get(key) if key else None
        if item is None:
            raise IdDoesNotExist(f"no item {identifier!r} in this repository")
        return item

    def _header(self, item: PublishedItem) -> etree._Element:
        header = etree.Element(f"{{{OAI}}}header")
        if item.deleted:
            header.set("status", "deleted")
        etree.SubElement(header, f"{{{OAI}}}identifier").text = self.repo.identifier(item.key)
        etree.SubElement(header, f"{{{OAI}}}datestamp").text = item.datestamp
        for spec in item.sets:
            etree.SubElement(header, f"{{{OAI}}}setSpec").text = spec
        return header

    def _record(self, item: PublishedItem, prefix: str) -> etree._Element:
        record = etree.Element(f"{{{OAI}}}record")
        record.append(self._header(item))
        if not item.deleted and item.records:
            metadata = etree.SubElement(record, f"{{{OAI}}}metadata")
            metadata.append(FORMATS[prefix].write(item, self.repo.base_url.removesuffix("/oai")))
        return record


def _checked(args: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments; :class:`BadVerb` / :class:`BadArgument` as the protocol says."""
    verbs = [v for k, v in args if k == "verb"]
    if len(verbs) != 1 or verbs[0] not in VERBS:
        raise BadVerb("the verb is missing, repeated or not an OAI-PMH verb" if len(verbs) != 1
                      else f"{verbs[0]!r} is not an OAI-PMH verb")
    verb = verbs[0]
    required, optional = VERBS[verb]
    params: dict[str, str] = {}
    for name, value in args:
        if name == "verb":
            continue
        if name in params:
            raise BadArgument(f"the argument {name!r} is repeated")
        if name not in required | optional:
            raise BadArgument(f"{verb} does not take the argument {name!r}")
        params[name] = value
    if "resumptionToken" in params:
        if len(params) > 1:
            raise BadArgument("resumptionToken is an exclusive argument")
        return verb, params
    missing = sorted(required - set(params))
    if missing:
        raise BadArgument(f"{verb} requires the argument {missing[0]!r}")
    return verb, params


def _format(prefix: str) -> MetadataFormat:
    if prefix not in FORMATS:
        raise CannotDisseminateFormat(f"the metadata format {prefix!r} is not disseminated here "
                                      f"(ListMetadataFormats: {', '.join(FORMATS)})")
    return FORMATS[prefix]


def _range(from_: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``from`` and ``until`` as inclusive datestamps to the second."""
    for name, value in (("from", from_), ("until", until)):
        if value is not None and not _valid(value):
            raise BadArgument(f"{name}={value!r} is not a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm:ssZ)")
    if from_ and until and len(from_) != len(until):
        raise BadArgument("from and until must have the same granularity")
    low = f"{from_}T00:00:00Z" if from_ and _DAY.match(from_) else from_
    high = f"{until}T23:59:59Z" if until and _DAY.match(until) else until
    if low and high and low > high:
        raise BadArgument("from is later than until")
    return low, high


def _valid(value: str) -> bool:
    if not (_DAY.match(value) or _SECOND.match(value)):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ" if "T" in value else "%Y-%m-%d")
    except ValueError:
        return False
    return True


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
