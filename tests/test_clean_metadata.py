"""Metadata parsing: credits, datelines, dates (stated or inferred from the text only)."""
from __future__ import annotations

import pytest

from newsgate.tasks.clean import metadata as md
from newsgate.tasks.clean.rules import match_rule


def credits(line):
    rule, match = match_rule(line)
    return md.credits_from_rule(rule.id, match, line)


def test_byline_gives_outlet_and_reporter():
    c = credits("/吉林日报记者 李抑嫻 报道")
    assert (c.outlet, c.reporters) == ("吉林日报", ["李抑嫻"])


def test_page_credits_split_reporters_photographers_editors():
    assert credits("本版图片由本报记者 夏景明 刘鹰 王彦雨 拍摄").photographers == ["夏景明", "刘鹰", "王彦雨"]
    c = credits("本版稿件由市委改委提供 本报记者 刘红娇 整理 本版策划 戚凯慧")
    assert (c.reporters, c.editors) == (["刘红娇"], ["戚凯慧"])


def test_generic_sources_name_no_outlet():
    assert credits("来源:互联网").outlet is None
    assert credits("来源：商讯").outlet == "商讯"


def test_dateline():
    d = md.parse_dateline("人民网长春2月18日电 (记者王海跃)“新年上班第一天,省委省政府即召开全省优化营商环境")
    assert (d.outlet, d.place, d.month, d.day, d.reporters) == ("人民网", "长春", 2, 18, ["王海跃"])
    assert md.parse_dateline("按照全省“三早”行动安排,近日,省委、省政府开展") is None


@pytest.mark.parametrize("text,iso", [
    ("2019-12-20", "2019-12-20"), ("2020年07月06日 16:50:44", "2020-07-06"),
    ("２０１２年６月５日", "2012-06-05"), ("2018", "2018"), ("2024-05", "2024-05"), ("近日", None),
])
def test_iso_date(text, iso):
    assert md.iso_date(text) == iso


def test_year_is_inferred_from_text_only_and_skips_targets():
    assert md.infer_year("2014—2018年,我市共实施总投资亿元以上项目399个") == 2018
    assert md.infer_year("力争2030年建成。2021年完成投资") == 2021
    assert md.infer_year("7月28日,省政协主席江泽林来到长春新区") is None
    assert md.infer_year("《通知》,2019-2021年科技企业孵化器…自2019年1月1日起享受") == 2019  # period = plan
    assert md.infer_year("2011年增长9.2%,2013年将增长4.8%") == 2011
    assert md.infer_year("如此,2020年前,印尼有关…截至2017年,印尼共注册") == 2017
    dateline = md.parse_dateline("人民网长春2月18日电 (记者王海跃)")
    assert md.published_date(None, dateline, "围绕2024年全省投资") == "2024-02-18"
    assert md.published_date(None, dateline, "没有年份") is None
