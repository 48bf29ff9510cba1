"""Safe XML parsing for everything fedcat receives.

Harvested XML comes from servers we do not control. The parser never resolves
entities, never loads a DTD, never touches the network, and documents that
carry a DOCTYPE or entity declarations are refused outright (billion laughs,
XXE). Bodies are decoded leniently: a BOM, a missing or wrong charset
(GBK/GB18030 bodies labelled as UTF-8 or not at all) and control characters
that XML 1.0 forbids are repaired before parsing.
"""

from __future__ import annotations

import re

from lxml import etree

from .errors import HostileXML, MalformedResponse

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=True,
    recover=False,
)
_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", re.IGNORECASE)
_HTML_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!DOCTYPE\s+html|html)[\s>]", re.IGNORECASE | re.S)
_HOSTILE_RE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BOMS = (b"\xef\xbb\xbf",)


def decode(body: bytes, declared: str | None = None) -> str:
    """Bytes → text: BOM, then the XML declaration or HTTP charset, then UTF-8, then GB18030."""
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]
    candidates: list[str] = []
    m = _DECL_RE.match(body[:200])
    if m:
        candidates.append(m.group(1).decode("ascii"))
    if declared:
        candidates.append(declared)
    candidates += ["utf-8", "gb18030"]
    for enc in candidates:
        enc = _canonical(enc)
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")


def _canonical(enc: str) -> str:
    e = enc.lower().replace("_", "-")
    # GB2312 and GBK bodies are nearly always really GB18030 (its superset).
    return "gb18030" if e in {"gb2312", "gbk", "gb-2312", "cp936"} else e


def parse(body: bytes, *, declared_encoding: str | None = None, what: str = "response") -> etree._Element:
    """Parse untrusted XML into an element; raises HostileXML or MalformedResponse."""
    head = body[:4096]
    if _HTML_RE.match(head):
        raise MalformedResponse(f"{what} is an HTML page, not XML")
    if _HOSTILE_RE.search(head) or _HOSTILE_RE.search(body):
        raise HostileXML(f"{what} declares a DTD or entities; refused")
    text = decode(body, declared_encoding)
    text = _ILLEGAL_RE.sub("", text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(f"{what} is not well-formed XML: {exc}") from exc
    if root is None:
        raise MalformedResponse(f"{what} is empty")
    return root
