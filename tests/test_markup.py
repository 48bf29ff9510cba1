"""Descriptions lose their markup, never their text: a bare ``<`` (``相对误差<5%``) is text."""

from __future__ import annotations

from typing import Any

import pytest

from fedcat.harvester.config import SourceConfig
from fedcat.harvester.crosswalks import ckan, datacite_json, dataverse
from fedcat.harvester.crosswalks.markup import strip_markup
from fedcat.harvester.sources.base import HarvestedItem


@pytest.mark.parametrize(("raw", "text"), [
    ("相对误差<5%。数据以Shapefile格式提供。", "相对误差<5%。数据以Shapefile格式提供。"),
    ("x <= y, a<b", "x <= y, a<b"),
    ("if a<b then", "if a<b then"),
    ("a < b > c", "a < b > c"),
    ("<p>精度&lt;1m&amp;好</p><br/>下一段", "精度<1m&好 下一段"),
    ("<p>数据集<b>说明</b></p>", "数据集 说明"),
    ("<script>alert(1)</script>正文<style>p{}</style>", "正文"),
    ("plain  text\twith   spaces", "plain text with spaces"),
])
def test_markup_goes_and_text_stays(raw: str, text: str) -> None:
    assert strip_markup(raw) == text


HTML_DESCRIPTION = "<p>冰川边界数据，相对误差<5%。</p><p>数据以 <b>Shapefile</b> 格式提供。</p>"
CLEAN = "冰川边界数据，相对误差<5%。 数据以 Shapefile 格式提供。"


def _item() -> HarvestedItem:
    return HarvestedItem(local_id="1", datestamp=None, deleted=False, raw=b"{}", format="json")


def _source() -> SourceConfig:
    return SourceConfig(id="src", name="测试中心", url="http://127.0.0.1:9/api")


@pytest.mark.parametrize("crosswalk", ["ckan", "dataverse", "datacite_json"])
def test_every_json_crosswalk_strips_markup_the_same_way(crosswalk: str) -> None:
    """CKAN notes, Dataverse dsDescription and DataCite descriptions may carry HTML: the tags go, the text
    after a bare < stays (the same parser as the REST profiles')."""
    data: dict[str, Any] = {
        "ckan": {"id": "1", "name": "x", "title": "冰川", "notes": HTML_DESCRIPTION},
        "dataverse": {"name": "冰川", "global_id": "doi:10.1234/x", "export": {"datasetVersion": {"metadataBlocks": {
            "citation": {"fields": [{"typeName": "title", "value": "冰川"},
                                    {"typeName": "dsDescription",
                                     "value": [{"dsDescriptionValue": {"value": HTML_DESCRIPTION}}]}]}}}}},
        "datacite_json": {"id": "10.1234/x", "attributes": {"titles": [{"title": "冰川"}],
                                                            "descriptions": [{"description": HTML_DESCRIPTION}]}},
    }[crosswalk]
    module = {"ckan": ckan, "dataverse": dataverse, "datacite_json": datacite_json}[crosswalk]
    rec = module.crosswalk(_item(), data, _source())
    assert [d.value for d in rec.descriptions] == [CLEAN]
