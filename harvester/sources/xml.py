"""Safe XML parsing for everything fedcat receives.

Harvested XML comes from servers we do not control. The parser never resolves
entities, never loads a DTD, never touches the network, and documents that
carry a DOCTYPE (an internal subset, entity declarations, an external DTD) are
refused outright (billion laughs, XXE). The DOCTYPE is found by the parser
itself, which stops at the declaration before reading its internal subset; a
``<!DOCTYPE`` that is only text (in CDATA, a comment or escaped content) is
left alone. An HTML page (a login or error page) is reported as such, with its
title. Bodies are decoded leniently: a BOM, a missing or wrong charset
(GBK/GB18030 bodies labelled as UTF-8 or not at all) and a few invalid bytes in
an otherwise valid page are repaired, each with a warning, since such a page
may come out garbled; control characters that XML 1.0 forbids, raw or as
character references (``&#1;``), are dropped before parsing.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ..errors import HostileXML, HTMLPage, MalformedResponse

log = logging.getLogger(__name__)


def _parser(target: object | None = None) -> etree.XMLParser:
    """The one set of parser options: no entities, no DTD, no network, no huge trees."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        recover=False,
        target=target,
    )


_PARSER = _parser()
_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", re.IGNORECASE)
_HTML_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(?:!DOCTYPE\s+html|html)[\s>]",
                      re.IGNORECASE | re.S)
_TITLE_RE = re.compile(rb"<title\b[^<>]{0,200}>", re.IGNORECASE)
_TITLE_END_RE = re.compile(rb"</title\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: Where a character reference may start, or a CDATA section or comment (where ``&#1;`` is plain text).
_REF_OR_TEXT_RE = re.compile(r"&#|<!\[CDATA\[|<!--")
_TEXT_END = {"<![CDATA[": "]]>", "<!--": "-->"}
#: Longer references are left to the parser (which refuses them).
_CHAR_REF_RE = re.compile(r"&#(?:x0*([0-9A-Fa-f]{1,8})|0*([0-9]{1,8}));")
#: The same characters as ``_ILLEGAL_RE`` in UTF-8: C0 controls other than tab and line ends, U+FFFE, U+FFFF.
_ILLEGAL_BYTES_RE = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = (_UTF8_BOM,)
#: A page whose encoding fails on a few byte sequences is read in it with those replaced (U+FFFD)
#: when it holds at most this many of them, and this many valid non-ASCII characters for each.
_MAX_REPLACED = 16
_EVIDENCE = 50
#: The DOCTYPE check reads the document in slices of this size until the root element starts.
_PROBE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Decoded:
    """A body as text, the encoding it was read with, and why it may be garbled (None: read as declared)."""

    text: str
    encoding: str
    warning: str | None = None


def decode(body: bytes, declared: str | None = None) -> str:
    """Bytes → text: BOM, then the XML declaration or HTTP charset, then UTF-8, then GB18030."""
    return decode_text(body, declared).text


def decode_text(body: bytes, declared: str | None = None) -> Decoded:
    """Bytes → text, saying when the declared (or assumed: UTF-8) encoding did not fit.

    The first encoding is the XML declaration's, else the HTTP charset, else UTF-8. When it fails
    on a few byte sequences only, in a page that is otherwise plainly in it, those are replaced;
    otherwise the next encoding that reads the whole page is used (UTF-8, GB18030); failing all,
    the first one with invalid bytes replaced. Anything but the first reading carries a warning.
    """
    for bom in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]
    named, candidates = _encodings(body, declared)
    first = candidates[0]
    how = "declared" if named and _canonical(named[0]) == first else "assumed"
    try:
        return Decoded(body.decode(first), first)
    except UnicodeDecodeError as exc:
        where = exc.start
    mostly = _with_few_replacements(body, first)
    if mostly is not None:
        text, bad = mostly
        return Decoded(text, first, f"{bad} invalid byte sequence(s) for {first} (the {how} encoding, "
                                    f"first at byte {where}) replaced with U+FFFD")
    for enc in candidates[1:]:
        try:
            text = body.decode(enc)
        except UnicodeDecodeError:
            continue
        return Decoded(text, enc, f"not valid {first} (the {how} encoding) at byte {where}: read as {enc}, "
                                  "its characters may be garbled")
    return Decoded(body.decode(first, errors="replace"), first,
                   f"not valid in {', '.join(candidates)}: read as {first} (the {how} encoding) "
                   "with its invalid bytes replaced with U+FFFD")


def _encodings(body: bytes, declared: str | None) -> tuple[list[str], list[str]]:
    """The encodings named (XML declaration, HTTP charset) and those to try, in order."""
    named: list[str] = []
    m = _DECL_RE.match(body[:200])
    if m:
        named.append(m.group(1).decode("ascii"))
    if declared:
        named.append(declared)
    candidates: list[str] = []
    for enc in [*named, "utf-8", "gb18030"]:
        enc = _canonical(enc)
        if enc not in candidates and _known(enc):
            candidates.append(enc)
    return named, candidates


def _canonical(enc: str) -> str:
    e = enc.lower().replace("_", "-")
    # GB2312 and GBK bodies are nearly always really GB18030 (its superset).
    return "gb18030" if e in {"gb2312", "gbk", "gb-2312", "cp936"} else e


def _known(enc: str) -> bool:
    try:
        codecs.lookup(enc)
    except LookupError:
        return False
    return True


def _with_few_replacements(body: bytes, enc: str) -> tuple[str, int] | None:
    """``body`` read as ``enc`` with its invalid sequences replaced, when they are few and the rest of
    the page is plainly in ``enc`` (many valid non-ASCII characters); else None."""
    parts: list[str] = []
    pos = bad = 0
    while True:
        try:
            parts.append(body[pos:].decode(enc))
            break
        except UnicodeDecodeError as exc:
            bad += 1
            if bad > _MAX_REPLACED:
                return None
            parts.append(body[pos:pos + exc.start].decode(enc))
            parts.append("\ufffd")
            pos += max(exc.end, exc.start + 1)
    text = "".join(parts)
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return (text, bad) if non_ascii >= _EVIDENCE * bad else None


def _legal(cp: int) -> bool:
    """Whether XML 1.0 allows the code point (as a character or a character reference)."""
    return cp in (0x9, 0xA, 0xD) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF


def _drop_illegal_references(text: str) -> str:
    """Drop ``&#1;``-style references to code points XML forbids; CDATA sections and comments are
    skipped (one pass, linear in the text)."""
    out: list[str] = []
    pos = kept = 0
    while (m := _REF_OR_TEXT_RE.search(text, pos)) is not None:
        if m.group(0) != "&#":
            end = text.find(_TEXT_END[m.group(0)], m.end())
            if end < 0:
                break  # unterminated: the parser reports it
            pos = end + len(_TEXT_END[m.group(0)])
            continue
        ref = _CHAR_REF_RE.match(text, m.start())
        if ref is None:
            pos = m.end()
            continue
        hexa, dec = ref.group(1), ref.group(2)
        if not _legal(int(hexa, 16) if hexa is not None else int(dec)):
            out.append(text[kept:m.start()])
            kept = ref.end()
        pos = ref.end()
    out.append(text[kept:])
    return "".join(out)


def repair(text: str) -> str:
    """Drop the characters XML 1.0 forbids, raw or as character references (``&#1;``, ``&#xFFFE;``)."""
    text = _ILLEGAL_RE.sub("", text)
    return _drop_illegal_references(text) if "&#" in text else text


def html_title(body: bytes, declared: str | None = None) -> str | None:
    """The ``<title>`` of an HTML page, on one line (None when it has none)."""
    head = body[:65536]
    m = _TITLE_RE.search(head)
    if not m:
        return None
    end = _TITLE_END_RE.search(head, m.end())
    raw = head[m.end():min(end.start() if end else len(head), m.end() + 2048)]
    text = html.unescape(_TAG_RE.sub("", decode_text(raw, declared).text))
    title = " ".join(text.split())[:200]
    return title or None


def _html_page(what: str, body: bytes, declared: str | None) -> HTMLPage:
    title = html_title(body, declared)
    return HTMLPage(f"{what}: HTML page instead of XML" + (f" (title: {title!r})" if title else ""), title=title)


class _DoctypeFound(Exception):
    """The probe met a DOCTYPE declaration (raised inside lxml's parse, never out of this module)."""


class _RootReached(Exception):
    """The probe met the root element: the prolog holds no DOCTYPE."""


class _PrologProbe:
    """A parser target that stops the parse at the first element, or at a DOCTYPE declaration
    (lxml calls ``doctype`` as the declaration is read, before its internal subset)."""

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise _DoctypeFound(name)

    def start(self, *args: object) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def _refuse_dtd(data: bytes, what: str) -> None:
    """Raise HostileXML when the document's prolog declares a DOCTYPE; only the prolog is read."""
    probe = _parser(_PrologProbe())
    try:
        for at in range(0, len(data), _PROBE_CHUNK):
            probe.feed(data[at:at + _PROBE_CHUNK])
        probe.close()
    except _RootReached:
        return
    except _DoctypeFound:
        raise HostileXML(f"{what} declares a DTD or entities; refused") from None
    except etree.XMLSyntaxError:
        return  # not well-formed before any DOCTYPE: the parse proper reports it


def _warn_by_log(what: str) -> Callable[[str], None]:
    def warn(message: str) -> None:
        log.warning("%s: %s", what, message)

    return warn


def _parse_as_sent(body: bytes, declared: str | None, what: str) -> etree._Element | None:
    """The body parsed as it came, when it is UTF-8 (as named or assumed) and needs no repair; else None.

    This is the common case and the one that holds the page once (bytes and tree): libxml2 refuses
    invalid UTF-8, forbidden characters and references to them just as the repair step would find
    them, so whatever this path accepts, the repairing path would have read the same way.
    """
    if _encodings(body.removeprefix(_UTF8_BOM), declared)[1][0] != "utf-8":
        return None
    try:
        return etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        if _needs_no_repair(body):  # repairing would change nothing: the same error, without a second parse
            raise MalformedResponse(f"{what} is not well-formed XML: {exc}") from exc
        return None


def _needs_no_repair(body: bytes) -> bool:
    """Whether the body is valid UTF-8 without characters or references the repair step would drop;
    read in slices, so the check holds no copy of the body."""
    if b"&#" in body or _ILLEGAL_BYTES_RE.search(body):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for at in range(0, len(body), _PROBE_CHUNK):
            decoder.decode(body[at:at + _PROBE_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _parse_repaired(body: bytes, declared: str | None, what: str,
                    warn: Callable[[str], None] | None) -> etree._Element | None:
    """The body decoded leniently (saying what changed), repaired, then parsed."""
    decoded = decode_text(body, declared)
    if decoded.warning:
        (warn or _warn_by_log(what))(decoded.warning)
    text = repair(decoded.text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    data = text.encode("utf-8")
    del decoded, text
    _refuse_dtd(data, what)
    try:
        root: etree._Element | None = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise MalformedResponse(f"{what} is not well-formed XML: {exc}") from exc
    return root


def parse(body: bytes, *, declared_encoding: str | None = None, what: str = "response",
          warn: Callable[[str], None] | None = None) -> etree._Element:
    """Parse untrusted XML into an element; raises HostileXML, HTMLPage or MalformedResponse.

    ``warn`` is told when the body was not read in its declared (or assumed) encoding; by default
    that is logged as a warning.
    """
    if _HTML_RE.match(body[:4096]):
        raise _html_page(what, body, declared_encoding)
    _refuse_dtd(body, what)
    root = _parse_as_sent(body, declared_encoding, what)
    if root is None:
        root = _parse_repaired(body, declared_encoding, what, warn)
    if root is None:
        raise MalformedResponse(f"{what} is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise HostileXML(f"{what} declares a DTD or entities; refused")  # the probe saw none: never expected
    qname = etree.QName(root)
    if qname.localname.lower() == "html" and qname.namespace in (None, _XHTML_NS):
        raise _html_page(what, body, declared_encoding)
    return root
