"""Repairs for OAI-PMH pages that do not parse as they came.

- :func:`adopt_namespace`: a response whose envelope has no OAI namespace gets it,
  so the rest of the adapter can rely on it (metadata content is left alone).
- :func:`salvage`: a complete page that is not well-formed because of one bad
  record is split into its ``<record>`` elements; the good ones are kept and
  the bad ones returned with their raw bytes, to be stored as errored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ..errors import HostileXML, MalformedResponse
from .xml import decode, parse

OAI_NS = "http://www.openarchives.org/OAI/2.0/"

_ROOT_START = re.compile(r"<(?:\w+:)?OAI-PMH\b[^>]*>", re.S)
_ROOT_END = re.compile(r"</(?:\w+:)?OAI-PMH\s*>\s*$")
_RECORD = re.compile(r"<(?:\w+:)?record[\s>].*?</(?:\w+:)?record\s*>", re.S)
_TOKEN = re.compile(r"<(?:\w+:)?resumptionToken\b[^>]*?(?:/>|>.*?</(?:\w+:)?resumptionToken\s*>)", re.S)
_HEADER = re.compile(r"<(?:\w+:)?header\b[^>]*>(.*?)</(?:\w+:)?header\s*>", re.S)
_IDENT = re.compile(r"<(?:\w+:)?identifier>\s*([^<\s]+)\s*</", re.S)


@dataclass
class BadRecord:
    identifier: str | None
    raw: bytes
    error: str


def adopt_namespace(root: etree._Element) -> etree._Element:
    """Put the OAI envelope (not the metadata inside it) in the OAI namespace."""
    def walk(el: etree._Element) -> None:
        if isinstance(el.tag, str) and not el.tag.startswith("{"):
            el.tag = f"{{{OAI_NS}}}{el.tag}"
        if isinstance(el.tag, str) and el.tag.endswith("}metadata"):
            return
        for child in el:
            walk(child)

    walk(root)
    return root


def is_truncated(body: bytes, encoding: str | None) -> bool:
    """True when an OAI-PMH document starts but does not end with its closing tag."""
    head = decode(body[:4096], encoding)
    if not _ROOT_START.search(head):
        return False
    tail = body[-512:].decode("utf-8", errors="ignore") if len(body) > 512 else head
    return not _ROOT_END.search(tail)


def salvage(body: bytes, encoding: str | None) -> tuple[etree._Element, list[BadRecord]]:
    """Rebuild a ListRecords page from its parseable records; raises when nothing can be saved."""
    text = decode(body, encoding)
    start = _ROOT_START.search(text)
    chunks = _RECORD.findall(text)
    if start is None or not chunks or not _ROOT_END.search(text):
        raise MalformedResponse("page is not well-formed and holds no recoverable records")
    opening = start.group(0)
    closing = "</" + opening[1:].split()[0].rstrip(">") + ">"
    good: list[str] = []
    bad: list[BadRecord] = []
    for chunk in chunks:
        try:
            parse(f"{opening}{chunk}{closing}".encode(), what="record")
        except HostileXML:
            raise
        except MalformedResponse as exc:
            bad.append(BadRecord(_identifier(chunk), chunk.encode("utf-8"), str(exc)))
            continue
        good.append(chunk)
    token = _TOKEN.search(text)
    rebuilt = f"{opening}<ListRecords>{''.join(good)}{token.group(0) if token else ''}</ListRecords>{closing}"
    root = parse(rebuilt.encode("utf-8"), what="salvaged page")
    return root, bad


def _identifier(chunk: str) -> str | None:
    """The identifier in a broken record's header (not one from its metadata); None if it has none."""
    header = _HEADER.search(chunk)
    ident = _IDENT.search(header.group(1) if header else chunk)  # a header broken itself: the first one
    return ident.group(1) if ident else None
