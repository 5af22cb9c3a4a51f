"""Officials with titles, visits and their dates (seed 000 sentences)."""
from __future__ import annotations

from newsgate.tasks.extract.dates import find_dates, resolve_date
from newsgate.tasks.extract.people import find_people, find_visits
from newsgate.tasks.extract.places import find_places, home_of
from newsgate.tasks.extract.sentences import sentences
from newsgate.tasks.extract.tokenize import tokenize

LEADERS = ("省委书记巴音朝鲁,省委副书记、省长景俊海,省政协主席江泽林等省领导率领11路调研组分赴9个市(州)、"
           "长白山开发区、长春新区和省扩权强县试点市实地督战,推动全省上下进一步掀起项目建设热潮。")


def test_titles_and_names():
    people = {(p.name, p.title) for p in find_people(LEADERS)}
    assert people == {("巴音朝鲁", "省委书记"), ("景俊海", "省委副书记、省长"), ("江泽林", "省政协主席")}


def test_names_are_cut_before_verbs_and_generic_titles_need_a_name():
    text = ("省发展改革委主任张志新围绕2024年全省投资作汇报。省发改委投资处处长高继刚介绍道。"
            "由市委书记和市长任组长。红星美凯龙集团助理总裁袁为来辽与龙山区委洽谈。")
    people = {(p.name, p.title, p.kind) for p in find_people(text)}
    assert people == {("张志新", "主任", "official"), ("高继刚", "处长", "official"),
                      ("袁为", "助理总裁", "corporate")}


def test_title_chains_and_names_split_by_the_segmenter():
    # a regional report from the dev corpus (内蒙古, 2011): chained titles, names jieba splits
    text = ("4月23日,自治区党委书记、人大常委会主任胡春华宣布乌兰浩特经济技术开发区重点项目开工。"
            "国电集团党组书记、副总经理乔保平,自治区党委常委、自治区副主席潘逸阳,自治区副主席赵双连出席。")
    people = {(p.name, p.title, p.kind) for p in find_people(text)}
    assert people == {("胡春华", "自治区党委书记、人大常委会主任", "official"),
                      ("乔保平", "党组书记、副总经理", "corporate"),
                      ("潘逸阳", "自治区党委常委、自治区副主席", "official"),
                      ("赵双连", "自治区副主席", "official")}


def test_inspecting_a_place_is_a_visit():
    text = ("自治区党委书记、人大常委会主任胡春华宣布开工。"
            "在兴安盟期间,胡春华一行考察了乌兰浩特2×34万千瓦热电项目、科右前旗华锐风机制造厂。")
    assert [(v.person, v.place.region.full) for v in visits_of(text)] == [("胡春华", "内蒙古自治区兴安盟乌兰浩特市")]


def test_official_at_a_place_inspecting_is_a_visit_but_a_meeting_is_not():
    text = ("省委书记巴音朝鲁在长春市开展“三早”行动夏季踏查活动。"
            "省委副书记、省长景俊海在全省优化营商环境大会上强调,要抓好项目调研。")
    assert [(v.person, v.place.region.full) for v in visits_of(text)] == [("巴音朝鲁", "吉林省长春市")]


def visits_of(text: str):
    toks = tokenize(text)
    places = find_places(text, toks, home_of([], toks, None))
    return find_visits(text, sentences(text), find_people(text), places)


def test_a_visit_needs_an_official_moving_to_a_place_on_an_inspection():
    text = LEADERS + "3日,巴音朝鲁率领第一路调研组来到长春市开展夏季项目踏查,围绕“十四五”规划编制进行调研。" \
        "巴音朝鲁先后来到长春市抚长高速出口改移工程项目地。"
    visits = visits_of(text)
    assert [(v.person, v.title, v.place.region.full, v.date_text) for v in visits] == [
        ("巴音朝鲁", "省委书记", "吉林省长春市", "3日")]
    s = visits[0].sentence
    assert text[s.start:s.end].startswith("3日,巴音朝鲁率领第一路调研组")


def test_business_trip_of_a_company_manager_is_not_a_visit():
    text = "密切对接红星美凯龙集团,3月11日,红星美凯龙集团助理总裁袁为来辽与龙山区委、区政府主要领导就项目进行了考察洽谈。辽源市"
    assert visits_of(text) == []


def test_dates_resolve_against_the_published_date():
    assert resolve_date("3日", None) is None
    assert resolve_date("3日", "2020-08-05") == "2020-08-03"
    assert resolve_date("28日", "2020-08-05") == "2020-07-28"
    assert resolve_date("7月28日", "2020-08-05") == "2020-07-28"
    assert resolve_date("12月28日", "2020-08-05") == "2019-12-28"
    assert resolve_date("7月28日", "2020") == "2020-07-28"
    assert resolve_date("近日", "2024-02-18") == "2024-02-18"
    assert resolve_date("昨天", "2024-03-01") == "2024-02-29"


def test_date_mentions_with_iso_starts():
    text = "2014—2018年,我市共实施;1-6月份,全省;截至2月28日,86个;3日,巴音朝鲁;2019年12月20日"
    got = [(d.text, d.iso) for d in find_dates(text, "2020-08-05")]
    assert got == [("2014—2018年", "2014"), ("1-6月份", "2020-01"), ("2月28日", "2020-02-28"),
                   ("3日", "2020-08-03"), ("2019年12月20日", "2019-12-20")]
    assert [(d.text, d.iso) for d in find_dates("7月28日,省政协主席江泽林", None)] == [("7月28日", None)]
