"""Harvested XML that is odd but harmless, or not XML at all: end to end through a harvest.

Each test serves crafted ``ListRecords`` pages from the demo OAI-PMH server on 127.0.0.1 (its
``fault`` hook replaces the answer; Identify stays real) to a catalog, and checks what was stored and
what the run reports. A few unit tests of :func:`fedcat.harvester.sources.xml.parse` pin the edges.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from xml.sax.saxutils import escape

import pytest

from fedcat.api.catalog import Catalog
from fedcat.api.cli_runs import run_messages
from fedcat.harvester.demo.corpus import generate_records
from fedcat.harvester.demo.oai_server import FaultAction, FaultContext, OAIRepository, OAIServer
from fedcat.harvester.errors import HostileXML, HTMLPage, MalformedResponse
from fedcat.harvester.sources.xml import parse
from fedcat.harvester.store import RunStatus

from .conftest import center, search_ids, source_for

OAI_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            '<responseDate>2025-01-01T00:00:00Z</responseDate>'
            '<request verb="ListRecords" metadataPrefix="oai_dc">http://127.0.0.1/oai</request><ListRecords>')
OAI_TAIL = "</ListRecords></OAI-PMH>\n"
DC_OPEN = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/">')


def dc_record(n: int, title: str, description: str = "", *, identifier: str | None = None,
              escape_description: bool = True) -> str:
    """One ``oai_dc`` record; ``description`` goes in as given when ``escape_description`` is false."""
    ident = f"oai:ncdc:xml.{n:04d}" if identifier is None else identifier
    desc = escape(description) if escape_description else description
    return (f"<record><header><identifier>{ident}</identifier><datestamp>2024-01-{n:02d}T00:00:00Z</datestamp>"
            f"</header><metadata>{DC_OPEN}<dc:title xml:lang=\"zh\">{escape(title)}</dc:title>"
            f"<dc:description xml:lang=\"zh\">{desc}</dc:description>"
            f"<dc:identifier>https://doi.org/10.12072/ncdc.xml.{n:04d}</dc:identifier></oai_dc:dc></metadata></record>")


def page(*records: str) -> bytes:
    return (OAI_HEAD + "".join(records) + OAI_TAIL).encode("utf-8")


def harvest_dc(catalog_factory: Any, server: OAIServer) -> tuple[Catalog, Any]:
    cat = catalog_factory([source_for(server, metadata_prefix="oai_dc")], http={"max_retries": 0})
    (run,) = cat.harvester.harvest()
    return cat, run


def stored(cat: Catalog, n: int) -> Any:
    return cat.store.records.get(f"ncdc:xml.{n:04d}")


def zh(values: list[Any]) -> str:
    (value,) = [v.value for v in values if v.lang == "zh"]
    return str(value)


# -- 1. a DOCTYPE mentioned in a record is not a hostile page ---------------------------------------------

MENTIONS = {
    "cdata": '<![CDATA[示例：<!DOCTYPE html> 与 <!ENTITY x "y"> 只是文字]]>',
    "escaped": "示例：&lt;!DOCTYPE note [ &lt;!ENTITY x \"y\"&gt; ]&gt; 只是文字",
}


@pytest.mark.parametrize("how", sorted(MENTIONS))
def test_a_doctype_mentioned_in_a_description_does_not_block_the_page(how: str, serve_pages: Any,
                                                                       catalog_factory: Any) -> None:
    records = [dc_record(n, f"冰川数据集{n}", f"描述{n}") for n in range(1, 6)]
    records[2] = dc_record(3, "冰川数据集3", MENTIONS[how], escape_description=False)
    cat, run = harvest_dc(catalog_factory, serve_pages(page(*records)))
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.counts["added"] == 5 and not run.errors
    assert "<!DOCTYPE" in zh(stored(cat, 3).descriptions)
    assert search_ids(cat) == {f"ncdc:xml.{n:04d}" for n in range(1, 6)}


def test_a_broken_record_mentioning_a_doctype_is_salvaged_alone(serve_pages: Any, catalog_factory: Any) -> None:
    """A page that does not parse as a whole (one record carries a raw ``<!DOCTYPE ...>``, another one
    mentions it in CDATA) is split into its records: 4 of 5 stored, the broken one reported."""
    records = [dc_record(n, f"冰川数据集{n}", f"描述{n}") for n in range(1, 6)]
    records[1] = dc_record(2, "冰川数据集2", MENTIONS["cdata"], escape_description=False)
    records[3] = dc_record(4, "冰川数据集4", '<!DOCTYPE note [<!ENTITY x "y">]>&x;', escape_description=False)
    cat, run = harvest_dc(catalog_factory, serve_pages(page(*records)))
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["added"] == 4 and run.counts["errored"] == 1
    (err,) = run.errors
    assert err.local_id == "xml.0004" and "malformed" in err.message
    assert err.url and "verb=ListRecords" in err.url
    assert stored(cat, 4) is None and "<!DOCTYPE" in zh(stored(cat, 2).descriptions)


HOSTILE = {
    "internal subset after a long comment": (b'<?xml version="1.0"?>\n<!--' + b"x" * 70_000 + b'-->\n'
                                             b'<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'),
    "external DTD": b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>',
    "parameter entity": (b'<!DOCTYPE a [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>'
                         b"<a>&leak;</a>"),
    "bare doctype": b"<!DOCTYPE a><a/>",
    "declared in GB18030": '<?xml version="1.0" encoding="GB18030"?><!DOCTYPE 根 []><根/>'.encode("gb18030"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_real_dtds_are_refused_by_the_parser(kind: str) -> None:
    with pytest.raises(HostileXML, match="refused"):
        parse(HOSTILE[kind], what="page")


def test_doctype_text_outside_the_prolog_is_content_or_a_syntax_error() -> None:
    root = parse(b"<a><![CDATA[<!DOCTYPE x [<!ENTITY y 'z'>]>]]><!-- <!DOCTYPE c> --></a>")
    assert root.text == "<!DOCTYPE x [<!ENTITY y 'z'>]>"
    with pytest.raises(MalformedResponse, match="not well-formed") as info:
        parse(b"<a><!DOCTYPE x></a>")
    assert not isinstance(info.value, HostileXML)


# -- 2. character references to code points XML forbids -------------------------------------------------


def test_character_references_to_illegal_code_points_are_repaired(serve_pages: Any, catalog_factory: Any) -> None:
    records = [dc_record(n, f"冻土数据集{n}") for n in range(1, 4)]
    records[1] = dc_record(2, "冻土数据集2", "时&#1;间&#x1F;序&#xFFFE;列&#xfffe;数&#xD800;据&#0;集&#x4E2D;",
                           escape_description=False).replace("冻土数据集2", "冻&#x1;土&#11;数据集2")
    cat, run = harvest_dc(catalog_factory, serve_pages(page(*records)))
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.counts["added"] == 3 and not run.errors
    rec = stored(cat, 2)
    assert zh(rec.titles) == "冻土数据集2"
    assert zh(rec.descriptions) == "时间序列数据集中"  # legal references (&#x4E2D; 中) are kept


def test_character_references_in_cdata_are_text_and_kept() -> None:
    root = parse(b"<a><![CDATA[&#1;]]><b>&#1;&#x9;&#65;</b></a>")
    assert root.text == "&#1;"
    assert root[0].text == "\tA"


# -- 3. an HTML page instead of XML ------------------------------------------------------------------------

LOGIN_PAGE = ('<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8">\n<title>\n 统一身份认证 &amp; 登录 '
              "</title></head><body><form action=/login><input name=user></form></body></html>").encode()
XHTML_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
               b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
               b"<head><title>500 Internal Server Error</title></head><body><p>oops</p></body></html>")
NO_TITLE = b"<html><body><p>Service Unavailable<br></p></body></html>"


@pytest.mark.parametrize(("body", "title", "on"), [
    (LOGIN_PAGE, "统一身份认证 & 登录", "resumption"),
    (LOGIN_PAGE, "统一身份认证 & 登录", "first"),
    (XHTML_ERROR, "500 Internal Server Error", "resumption"),
    (NO_TITLE, None, "resumption"),
], ids=["login-page-2", "login-page-1", "xhtml-page-2", "untitled-page-2"])
def test_html_page_instead_of_xml_is_reported_as_such(body: bytes, title: str | None, on: str,
                                                      catalog_factory: Any) -> None:
    c = center("ncdc")
    records = [r for r in generate_records(c) if not r.deleted][:6]
    server = OAIServer(OAIRepository(c, records, page_size=3), host="127.0.0.1", port=0).start()
    try:
        def fault(ctx: FaultContext) -> FaultAction | None:
            listing = ctx.params.get("verb") == "ListRecords"
            if listing and ("resumptionToken" in ctx.params) == (on == "resumption"):
                return FaultAction(status=200, body=body, headers={"Content-Type": "text/html; charset=utf-8"})
            return None

        server.fault = fault
        cat = catalog_factory([source_for(server)], http={"max_retries": 0})
        (run,) = cat.harvester.harvest()
    finally:
        server.stop()
    assert run.status is RunStatus.FAILED
    message = run.message or ""
    assert "HTML page instead of XML" in message and "not well-formed" not in message, message
    assert "[ncdc]" in message and "HTTP 200" in message
    if title:
        assert title in message
    else:
        assert "title" not in message
    (err,) = run.errors
    assert err.local_id is None and err.url and err.url.startswith(server.url)
    assert ("resumptionToken=" in err.url) == (on == "resumption")
    assert run.counts["added"] == (3 if on == "resumption" else 0)


def test_html_detection_in_parse() -> None:
    with pytest.raises(HTMLPage) as info:
        parse(b"\xef\xbb\xbf  <!-- gateway -->\n<HTML><HEAD><TITLE>Login</TITLE></HEAD></HTML>", what="page")
    assert info.value.title == "Login" and "HTML page instead of XML" in str(info.value)
    with pytest.raises(HTMLPage):  # well-formed XHTML the pattern does not see (a processing instruction first)
        parse(b'<?xml-stylesheet href="a.css"?><html xmlns="http://www.w3.org/1999/xhtml"><head/></html>')


# -- 4. a fallback encoding is never silent -------------------------------------------------------------------

EVEN = ["冰川", "冻土", "沙漠", "冰湖", "积雪"]  # their UTF-8 bytes also read as GB18030


def test_one_bad_byte_in_a_utf8_page_is_replaced_with_a_warning(serve_pages: Any, catalog_factory: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    records = [dc_record(n, EVEN[n - 1] + EVEN[n % 5], "冰川冻土沙漠" * 12) for n in range(1, 6)]
    body = page(*records).replace("冰川冻土沙漠".encode() * 12, "冰川冻土沙漠".encode() * 6 + b"\x81A"
                                  + "冰川冻土沙漠".encode() * 6, 1)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert body.decode("gb18030")  # the page "happens to decode" as GB18030 (garbled)
    caplog.set_level(logging.WARNING)
    server = serve_pages(body)
    cat, run = harvest_dc(catalog_factory, server)
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert run.counts["added"] == 5
    for n in range(1, 6):
        assert zh(stored(cat, n).titles) == EVEN[n - 1] + EVEN[n % 5]
    assert zh(stored(cat, 1).descriptions) == "冰川冻土沙漠" * 6 + "\ufffdA" + "冰川冻土沙漠" * 6
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "utf-8" in r.getMessage()]
    assert warnings, caplog.text
    assert "[ncdc]" in warnings[0] and server.url in warnings[0] and "replaced" in warnings[0]


def test_a_page_decoded_in_another_encoding_than_declared_is_logged(serve_pages: Any, catalog_factory: Any,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    records = [dc_record(n, f"数据集{n}", "青藏高原冰川编目") for n in range(1, 4)]
    body = page(*records).decode("utf-8").encode("gbk")  # still labelled UTF-8, in the header and the declaration
    caplog.set_level(logging.WARNING)
    server = serve_pages(body)
    cat, run = harvest_dc(catalog_factory, server)
    assert run.status is RunStatus.SUCCEEDED, run.message
    assert [zh(stored(cat, n).titles) for n in range(1, 4)] == ["数据集1", "数据集2", "数据集3"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "gb18030" in r.getMessage()]
    assert warnings, caplog.text
    assert "[ncdc]" in warnings[0] and server.url in warnings[0] and "utf-8" in warnings[0]
    # and the run's report says it, stored with the run (the API's harvests, `fedcat harvests --long`)
    (saved,) = cat.store.runs.recent("ncdc", limit=1)
    assert saved.warnings and "gb18030" in saved.warnings[0] and server.url in saved.warnings[0]
    assert saved.to_dict()["warnings"] == saved.warnings
    assert any("warning:" in line and "gb18030" in line for line in run_messages([saved]))


def test_decode_text_says_what_it_did() -> None:
    from fedcat.harvester.sources.xml import decode_text

    assert decode_text("冰川".encode()).warning is None
    assert decode_text("冰川".encode("gbk"), "gbk").warning is None  # GBK read as its superset GB18030
    gbk = decode_text("冰川".encode("gbk"))
    assert gbk.text == "冰川" and gbk.encoding == "gb18030" and gbk.warning and "utf-8" in gbk.warning
    lenient = decode_text("冰川".encode("gb18030") + b"\xff", "gb18030")  # no strict reading at all
    assert lenient.text == "冰川\ufffd" and lenient.warning and "replaced" in lenient.warning


# -- 5. a record without an identifier is an error, not a silent loss -------------------------------------


def test_a_record_without_identifier_is_a_record_error(serve_pages: Any, catalog_factory: Any) -> None:
    records = [dc_record(n, f"沙漠数据集{n}") for n in range(1, 5)]
    records[1] = dc_record(2, "沙漠数据集2", identifier="")
    records[2] = dc_record(3, "沙漠数据集3", identifier="  ")
    cat, run = harvest_dc(catalog_factory, serve_pages(page(*records)))
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["added"] == 2 and run.counts["errored"] == 2
    assert len(run.errors) == 2
    for err in run.errors:
        assert "no identifier" in err.message
        assert err.url and "verb=ListRecords" in err.url
    assert search_ids(cat) == {"ncdc:xml.0001", "ncdc:xml.0004"}
    report = cat.store.runs.recent("ncdc")[0].to_dict()
    assert report["status"] == "partial" and report["errored"] == 2


def test_a_broken_record_without_identifier_is_not_named_after_its_metadata(serve_pages: Any,
                                                                             catalog_factory: Any) -> None:
    """A record salvaged from a broken page takes its id from its header only (here: none)."""
    broken = dc_record(2, "沙漠数据集2", "<unclosed>", identifier="", escape_description=False)
    cat, run = harvest_dc(catalog_factory, serve_pages(page(dc_record(1, "沙漠数据集1"), broken)))
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["added"] == 1 and run.counts["errored"] == 1
    (err,) = run.errors
    assert err.local_id == "unknown" and "malformed" in err.message


def test_a_record_without_header_is_a_record_error(serve_pages: Any, catalog_factory: Any) -> None:
    headless = dc_record(2, "沙漠数据集2").replace("<header>", "<!-- no header -->").replace("</header>", "")
    headless = headless.replace("<identifier>oai:ncdc:xml.0002</identifier><datestamp>2024-01-02T00:00:00Z"
                                "</datestamp>", "")
    cat, run = harvest_dc(catalog_factory, serve_pages(page(dc_record(1, "沙漠数据集1"), headless)))
    assert run.status is RunStatus.PARTIAL, run.message
    assert run.counts["added"] == 1 and run.counts["errored"] == 1
    assert "no OAI-PMH header" in run.errors[0].message


def test_demo_records_still_harvest_whole(serve_pages: Any, catalog_factory: Any) -> None:
    """The repairs leave an ordinary page alone (no warning path, no salvage)."""
    c = center("ncdc")
    records = [replace(r, description_zh=r.description_zh + " &#1; <!DOCTYPE") for r in generate_records(c)[:8]]
    server = OAIServer(OAIRepository(c, records), host="127.0.0.1", port=0).start()
    try:
        cat = catalog_factory([source_for(server)], http={"max_retries": 0})
        (run,) = cat.harvester.harvest()
    finally:
        server.stop()
    assert run.status is RunStatus.SUCCEEDED, run.message
    live = [r for r in records if not r.deleted]
    assert run.counts["added"] == len(live)
    rec = cat.store.records.get(f"ncdc:{live[0].local_id}")
    assert rec is not None and any(d.value.endswith(" &#1; <!DOCTYPE") for d in rec.descriptions)
