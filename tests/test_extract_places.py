"""Places on real seed sentences: full admin names and codes, home context, traps."""
from __future__ import annotations

from newsgate.tasks.extract.places import find_places, home_of, resolve_name
from newsgate.tasks.extract.tokenize import tokenize


def places(text: str, title: str = "", dateline: str | None = None) -> dict[str, str]:
    toks = tokenize(text)
    home = home_of(tokenize(title), toks, dateline)
    return {p.text: p.region.full for p in find_places(text, toks, home)}


LIAOYUAN = "今年,西安区计划组织实施500万元以上重点项目25个。东丰县拟实施500万元以上项目80个。龙山区拟实施重点项目41个。"


def test_xian_district_of_liaoyuan_is_not_xian_city():
    got = places(LIAOYUAN)
    assert got["西安区"] == "吉林省辽源市西安区"
    assert "陕西省西安市" not in got.values()


def test_dongliao_river_is_not_dongliao_county():
    got = places("目前,总投资4.9亿元的东辽河干流辽源市段治理工程已完成工程量的85%")
    assert got == {"辽源市": "吉林省辽源市"}


def test_jilin_alone_is_the_province_and_jilin_city_is_the_city():
    got = places("景俊海率领调研组到吉林市开展项目踏查。要深入学习贯彻习近平总书记视察吉林重要讲话重要指示精神")
    assert got == {"吉林市": "吉林省吉林市", "吉林": "吉林省"}


def test_deictic_words_resolve_to_the_article_city_and_province():
    text = "辽源作为资源枯竭型城市,扩大实体投资。我市坚持以项目建设为核心,全省上下。东丰县白云新城"
    got = places(text)
    assert got["我市"] == "吉林省辽源市" and got["全省"] == "吉林省"


def test_abbreviation_after_a_movement_verb_is_the_home_city():
    got = places("3月11日,红星美凯龙集团助理总裁袁为来辽与龙山区委、区政府主要领导深入洽谈。辽源市东丰县")
    assert got["辽"] == "吉林省辽源市"


def test_route_endpoint_outside_the_province_and_far_county_words():
    got = places("辽源至西丰高速公路二期项目、四平至白山天然气管道建设辽源段工程。北湖科技园C2项目、金州生态产业园、新建项目55个")
    assert got["西丰"] == "辽宁省铁岭市西丰县"
    assert got["四平"] == "吉林省四平市" and got["白山"] == "吉林省白山市"
    assert not {"北湖", "金州", "新建"} & set(got)


def test_zones_and_county_level_cities_with_codes():
    toks = tokenize("省政协主席江泽林来到长春新区。景俊海实地察看中国北部(蛟河)石材循环经济产业园")
    found = find_places("省政协主席江泽林来到长春新区。景俊海实地察看中国北部(蛟河)石材循环经济产业园", toks,
                        home_of([], toks, None))
    by_text = {p.text: (p.region.full, p.region.code) for p in found}
    assert by_text["长春新区"] == ("吉林省长春市长春新区", None)
    assert by_text["蛟河"] == ("吉林省吉林市蛟河市", "220281")


def test_dateline_sets_home_and_other_provinces_resolve():
    got = places("身在珠海的公司负责人张健在返回敦化过程中遇到困难。", dateline="长春")
    assert got == {"珠海": "广东省珠海市", "敦化": "吉林省延边朝鲜族自治州敦化市"}
    assert resolve_name("长春").full == "吉林省长春市"


def test_offsets_quote_the_text():
    text = "2020年,龙山区拟实施重点项目41个,纳入省“三早”项目7个。"
    toks = tokenize(text)
    for p in find_places(text, toks, home_of([], toks, None)):
        assert text[p.start:p.end] == p.text


def test_common_words_that_are_county_names_are_not_places():
    # dev-corpus sentences: 东北振兴 (not 丹东振兴区), 和平发展 (not 河源和平县)
    got = places("大连市积极参与东北振兴,推进辽宁沿海经济带建设。广东省坚持和平发展")
    assert "振兴" not in got and "和平" not in got
    assert got["大连市"] == "辽宁省大连市"
