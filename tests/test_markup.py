"""Descriptions lose their markup, never their text: a bare ``<`` (``相对误差<5%``) is text."""

from __future__ import annotations

import pytest

from fedcat.harvester.crosswalks.markup import strip_markup


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
