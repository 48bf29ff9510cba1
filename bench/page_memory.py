"""Peak memory per response: what a big OAI-PMH page costs fedcat against bare lxml on the same bytes.

    python bench/page_memory.py                 # pages of 20, 60 and 100 MB
    python bench/page_memory.py --mb 20         # one size

A loopback server answers one ListRecords page of the given size (records with Chinese and
English text, 20 KB each) and, separately, one page holding a single record of that size. Two
child processes, started the same way and with the same modules loaded, read it:

- **bare**: ``requests`` fetches the body and ``lxml.etree.fromstring`` parses it — the least any
  harvester that builds a tree holds;
- **fedcat**: ``fedcat harvest`` of one source into a fresh store and index.

Each child reports its peak RSS (``ru_maxrss``) above its RSS before the fetch. The result is
that growth as a multiple of the response size, for both, and fedcat's as a multiple of bare's.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("bench.page_memory")
HERE = Path(__file__).resolve()
OAI = "http://www.openarchives.org/OAI/2.0/"
HEAD = (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI}"><responseDate>2024-01-01T00:00:00Z'
        '</responseDate><request>http://127.0.0.1/oai</request>')
DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/">')
TEXT = ("青藏高原冰川与冻土观测数据集，包括气象、遥感和地面站点记录。 Glacier and permafrost observations on the "
        "Tibetan Plateau, with meteorological, remote sensing and station records. ")


def record(i: int, size: int) -> str:
    desc = (TEXT * (size // len(TEXT.encode()) + 1))[: size // 2]
    return (f"<record><header><identifier>oai:bench:{i}</identifier><datestamp>2024-01-01</datestamp></header>"
            f"<metadata>{DC}<dc:title>数据集 {i}</dc:title><dc:identifier>10.99999/bench.{i}</dc:identifier>"
            f"<dc:rights>info:eu-repo/semantics/openAccess</dc:rights><dc:description>{desc}</dc:description>"
            "</oai_dc:dc></metadata></record>")


def page(megabytes: int, record_kb: int) -> bytes:
    """One ListRecords page of about ``megabytes``, in records of about ``record_kb``."""
    per = record_kb * 1024
    count = max(1, megabytes * 2**20 // per)
    body = "".join(record(i, per) for i in range(count))
    return (HEAD + f"<ListRecords>{body}<resumptionToken/></ListRecords></OAI-PMH>").encode()


def serve(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    identify = (HEAD + "<Identify><repositoryName>bench</repositoryName><baseURL>http://127.0.0.1/oai</baseURL>"
                "<protocolVersion>2.0</protocolVersion><earliestDatestamp>2000-01-01</earliestDatestamp>"
                "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DD</granularity></Identify>"
                "</OAI-PMH>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            verb = parse_qs(urlsplit(self.path).query).get("verb", [""])[0]
            out = body if verb == "ListRecords" else identify
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/oai"


# -- child side ---------------------------------------------------------------------------------


def _rss_now() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def child(kind: str, url: str, folder: str) -> None:
    import requests
    from lxml import etree

    from fedcat.api.catalog import Catalog
    from fedcat.harvester.config import config_from_dict

    config = config_from_dict({"data_dir": folder, "index": {"write_process": False}, "map_process": False,
                               "sources": [{"id": "big", "name": "大页", "url": url, "metadata_prefix": "oai_dc",
                                            "policy": {"security": "general"}}]})
    catalog = Catalog.open(config)
    base = _rss_now()
    if kind == "bare":
        body = requests.get(url, params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}, timeout=60).content
        root = etree.fromstring(body, parser=etree.XMLParser(huge_tree=True))  # a single huge record too
        stored = len(root[2])
    else:
        report = catalog.harvester.harvest()[0]
        stored = report.counts.get("added", 0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    catalog.close()
    print(json.dumps({"growth": peak - base, "records": stored}))


def measure(kind: str, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, str(HERE), "--child", kind, url, tmp], capture_output=True,
                             text=True, timeout=900, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(megabytes: int, record_kb: int) -> dict[str, Any]:
    body = page(megabytes, record_kb)
    server, url = serve(body)
    try:
        bare, fed = measure("bare", url), measure("fedcat", url)
    finally:
        server.shutdown()
    size = len(body)
    return {"page_mb": round(size / 2**20, 1), "record_kb": record_kb, "records": fed["records"],
            "bare_x_response": round(bare["growth"] / size, 2), "fedcat_x_response": round(fed["growth"] / size, 2),
            "fedcat_x_bare": round(fed["growth"] / max(bare["growth"], 1), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, action="append", help="page size in MB (repeatable)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    for mb in args.mb or [20, 60, 100]:
        rows.append(run(mb, 20))
        rows.append(run(mb, mb * 1024))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
