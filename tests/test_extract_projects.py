"""Projects on real seed sentences: the four patterns, names, amounts, status, generic rejects."""
from __future__ import annotations

from newsgate.tasks.extract.numbers import find_quantities
from newsgate.tasks.extract.projects import classify_industry, classify_status, find_projects, project_id
from newsgate.tasks.extract.sentences import clauses
from newsgate.tasks.extract.tokenize import tokenize


def projects(text: str) -> list[tuple[str, float | None, str, str | None]]:
    toks = tokenize(text)
    found = find_projects(text, toks, clauses(text), find_quantities(text, set(toks.starts)))
    return [(p.name, p.investment.value_yuan if p.investment else None, p.status, p.status_text) for p in found]


def test_money_led_reports():
    text = ("目前,总投资2.3亿元的吉林省腾祥农业科技40万头优质生猪生态养殖项目已建设完成3栋猪舍,另有2栋猪舍设备安装结束;"
            "总投资3.2亿元的辽源鸿图锂电隔膜科技股份有限公司锂离子电池隔膜三期工程项目已经建成车间;"
            "总投资2.2亿元的吉林诺德高科技新材料有限公司高性能树脂聚乙二烯醇缩丁醛隔热性中间膜建设项目开始进行试生产。")
    assert projects(text) == [
        ("吉林省腾祥农业科技40万头优质生猪生态养殖项目", 230_000_000, "under_construction",
         "已建设完成3栋猪舍,另有2栋猪舍设备安装结束"),
        ("辽源鸿图锂电隔膜科技股份有限公司锂离子电池隔膜三期工程项目", 320_000_000, "completed", "已经建成车间"),
        ("吉林诺德高科技新材料有限公司高性能树脂聚乙二烯醇缩丁醛隔热性中间膜建设项目", 220_000_000,
         "trial_production", "开始进行试生产"),
    ]


def test_lists_split_on_dun_and_on_he_before_a_proper_name_only():
    text = ("盘点已开工的77项,亿元以上项目46项,10亿元以上项目10项,大项目成为“挑大梁”角色;浙江精功拉挤型材、维尔特隧道装备刀具和乐斯绿色农用药等项目均采用先进生产工艺,技术密集;"
            "苏科精细化学品及染料中间体、绍兴鼎大染料和医药中间体等一批产业链延伸项目集中落地开工,建链补链延链")
    assert [(n, s) for n, _, s, _ in projects(text)] == [
        ("浙江精功拉挤型材", "unknown"), ("维尔特隧道装备刀具", "unknown"), ("乐斯绿色农用药", "unknown"),
        ("苏科精细化学品及染料中间体", "new_start"), ("绍兴鼎大染料和医药中间体", "new_start")]


def test_kinds_are_no_list_and_lists_need_no_project_report():
    # a list of kinds of rides (等多个游乐项目) is no list of projects
    text = "包含冰车、雪地摩托车、雪上冲浪、高山雪圈、冰陀螺、雪地保龄等多个游乐项目。"
    assert projects(text) == []
    # named items are projects even when the article is not a project report (the old 3×项目 gate)
    text = "浙江精功拉挤型材、维尔特隧道装备刀具和乐斯绿色农用药等项目均采用先进生产工艺"
    assert [n for n, *_ in projects(text)] == ["浙江精功拉挤型材", "维尔特隧道装备刀具", "乐斯绿色农用药"]
    # one word + 项目 before a status word is a phrase, not a name
    assert projects("充分利用项目开工建设的好时节,迅速掀起项目建设高潮") == []


def test_list_after_a_lead_verb_with_status():
    text = ("西安区紧紧扭住项目建设这个“牛鼻子”,以项目“三早”行动为抓手,全力推动大唐风能发电、长白山特色浆果产业示范园等重点项目开工建设,"
            "确保清漪园养老公寓、诺丁山文化创意产业园等续建项目投入运营。")
    assert [(n, s) for n, _, s, _ in projects(text)] == [
        ("大唐风能发电", "new_start"), ("长白山特色浆果产业示范园", "new_start"),
        ("清漪园养老公寓", "in_operation"), ("诺丁山文化创意产业园", "in_operation")]


def test_named_projects_after_lead_words_and_coordinated_heads():
    text = ("巴音朝鲁先后来到长春市抚长高速出口改移工程项目地、长春经开光电信息产业园(一期)项目地。"
            "景俊海实地察看中国北部(蛟河)石材循环经济产业园中吉石材、资源整合及环境治理项目进展,强调要坚持边开发、边保护。"
            "为推动钢背轴承有限公司异地搬迁项目,龙山工业开发区全程领班代办,推动项目可研编制、选址、土地手续办理。")
    assert [n for n, *_ in projects(text)] == [
        "长春市抚长高速出口改移工程项目", "长春经开光电信息产业园(一期)项目",
        "中国北部(蛟河)石材循环经济产业园中吉石材、资源整合及环境治理项目", "钢背轴承有限公司异地搬迁项目"]


def test_classes_of_projects_are_not_projects():
    text = ("实施5000万元以上项目1677个,亿元以上项目1198个;在80个重点项目基础上,又谋划了76个500万元以上项目。"
            "谋划一批产业升级、产业链延伸、产品换代等高科技项目。在交通、水利、能源等领域谋划十余个PPP项目,"
            "全省上下进一步掀起项目建设热潮。积极推进新能源汽车产业生产基地、梅花鹿精品养殖基地等七大工程。"
            "就中核电新能源开发利用、城市服务投资、污水治理、能源利用、梅花鹿等项目进行交流对接。")
    assert projects(text) == []


def test_duplicate_listing_in_source_is_kept_with_its_own_evidence():
    text = "总投资2.5亿元的辽源市污水管网改扩建工程完成污水管网1.64公里;总投资2.5亿元的辽源市污水管网改扩建工程正在紧张施工;"
    got = projects(text)
    assert [(n, y, s) for n, y, s, _ in got] == [("辽源市污水管网改扩建工程", 250_000_000, "under_construction")] * 2


def test_status_taxonomy_order():
    assert classify_status("已竣工投入使用") == "in_operation"
    assert classify_status("已建成一栋养老院公寓,正在试营业") == "trial_production"
    assert classify_status("已完成工程量的85%") == "under_construction"
    assert classify_status("已完成") == "completed"
    assert classify_status("集中落地开工") == "new_start"
    assert classify_status("进行了深入洽谈") == "planned"
    assert classify_status(None) == "unknown"


def test_industry_and_stable_ids():
    assert classify_industry("吉林天致生物质能源有限公司日产10万立方米生物质燃气项目", "") == "energy"
    assert classify_industry("东丰县三产融合发展示范区项目", "") == "agriculture_food"
    assert classify_industry("某某项目", "") is None
    assert project_id("a-0", "X项目", 3) == project_id("a-0", "X项目", 3) != project_id("a-0", "X项目", 4)


# Real sentences of the tuning part of the facts gold (tests/gold/facts/tune.jsonl), by article.
# Projects are named in many ways besides 总投资X的Y项目 (issue 12).

def test_a_ceremony_names_its_project():
    # dev:ebuy_14 — a signing ceremony; 意向协议 is not part of the name
    got = projects("3月22日下午，双方举行了中联重科华东基地意向协议签约仪式。")
    assert [(n, s) for n, _, s, _ in got] == [("中联重科华东基地", "planned")]


def test_invest_x_to_build_y():
    # eb:…7511630d7e — 投资X建设的Y
    got = projects("由中国铁路物资总公司在佛山投资6.8亿元建设的广东钢材交易中心项目于今天在南海九江正式开业。")
    assert [(n, y) for n, y, *_ in got] == [("广东钢材交易中心项目", 680_000_000)]


def test_the_topic_of_a_clause_takes_its_investment():
    # dev:ebuy_11 — the project opens the clause, its amount comes later in it, or in a later
    # sentence of the same paragraph (工程概算总投资 refers back)
    assert [(n, y) for n, y, *_ in projects("四湖流域综合治理工程，目前已编制可研报告，概算总投资35.07亿元。")] == [
        ("四湖流域综合治理工程", 3_507_000_000)]
    text = ("荆江大堤综合整治工程，堤防全长182.35公里，为国家一级堤防。目前，《荆江大堤综合整治工程可行性研究报告》"
            "由省水利水电勘测设计院完成，工程概算总投资15.6亿元，目前正待水利部审批。")
    assert [(n, y) for n, y, *_ in projects(text)][0] == ("荆江大堤综合整治工程", 1_560_000_000)


def test_routes_and_works_enumerated_after_a_build_verb():
    # dev:ebuy_3 — road sections (…段) are projects on a route; 国省干线公路 is a kind of road
    text = ("今年西藏将完成公路建设投资85亿元，加快推进国省干线公路和农村公路建设；不仅将开工建设国道318线通麦至105道班段、"
            "102滑坡群整治工程、国道219线区界至日土段、省道301线供加至班戈段，还将开工建设革吉、洛扎、嘉黎等一大批重点公路建设项目。")
    assert [n for n, *_ in projects(text)] == ["国道318线通麦至105道班段", "102滑坡群整治工程", "国道219线区界至日土段",
                                               "省道301线供加至班戈段"]


def test_a_list_closed_by_a_count_of_roads():
    # dev:ebuy_9 — 6条高速公路建设: the items are the roads, named by their ends
    text = "2008年以来，岳阳先后启动随岳、岳常、岳长、通平、石华、临岳6条高速公路建设，境内总里程348公里、总投资312亿元。"
    assert [n for n, *_ in projects(text)] == ["随岳", "岳常", "岳长", "通平", "石华", "临岳"]


def test_a_list_of_routes_closed_by_a_count_of_projects():
    # eb:ff8080812ee243a4012ee60053c912a5 (train) — 6个高速公路项目 says the items are projects; the
    # build verb opens the list, and 扩建 inside a later item is part of that item, not a lead
    text = ("“今年江西省要开工建设井冈山夏坪至睦村、抚州至吉安、寻乌至全南、资溪花山界至里木以及昌樟扩建、"
            "昌九扩建通远试验段6个高速公路项目，建设里程472公里，其中新建里程373公里。”")
    names = [n for n, *_ in projects(text)]
    assert names[:5] == ["井冈山夏坪至睦村", "抚州至吉安", "寻乌至全南", "资溪花山界至里木", "昌樟扩建"]
    assert len(names) == 6 and names[5].endswith("通远试验段")


def test_sets_classes_and_clauses_shaped_like_names_are_not_projects():
    # train part, classes of false positives: a heading's list label (eb:…2fe195a3b00011), a count
    # of plants (eb:…2fd2de8a13087b), a size bound of a policy class (eb:…301f7e26520589), a stray
    # bracket (eb:…3048cccc3d0133), a clause (签订了, eb:…2f4d6a9288025d)
    assert projects("(三)新能源项目全面启动") == []
    assert all(not n.startswith("10座") for n, *_ in projects("仅今年，在西藏开工建设的10座大型太阳能光伏电站累计投资超过将达20亿元。"))
    assert projects("限制新建50万千伏安时/年规模以下铅酸电池生产项目(不含先进新型铅酸电池)。") == []
    assert projects("台湾水泥股份有限公司(下称“台泥”)贵州首个水泥项目昨天宣布投产，但是没能赶上好时候。") == []
    assert all("签订了" not in n for n, *_ in projects(
        "创维集团已与广州增城市、晶元光电股份有限公司、台达电子工业股份有限公司正式签订了LED外延片、芯片项目。"))


def test_venues_categories_and_stations_are_not_projects():
    # eb:…05301c97e0648 — the park is where 15 projects start, not a project
    assert projects("5月23日新疆霍城县2011年总投资20亿15个重大产业项目昨天在霍城江苏工业园集中开工建设;") == []
    # dev:ebuy_6 — kinds of works a programme is divided into
    assert projects("这34个生态环境保护工程重点项目，分为黄山风景区生态环境保护建设工程、生态林业建设和湿地公园保护工程、"
                    "水利基础设施建设工程、污水集中处理工程。") == []
    # dev:gne_16 — toll stations in a traffic notice: nothing is built
    assert projects("璜塘、江阴南、江阴、江阴北4个收费站，江阴大桥东匝道桥及靖江互通通往京沪高速") == []


def test_a_name_said_twice_in_one_clause_is_one_project():
    # bench pages: the tagger and the rules both meet the second mention of the same name
    for text in ("为了进一步提升京藏高速公路运能，减轻京藏高速公路通行压力，内蒙古自治区继续实施14项畅通措施，"
                 "投资5亿多对京藏高速重点路段进行扩能改造，预计5月初开工。",
                 "难怪，三江高速副总指挥满连奎不无自豪地说：“走过这么多路，总觉得三江高速最美！”"):
        toks = tokenize(text)
        found = find_projects(text, toks, clauses(text), find_quantities(text, set(toks.starts)))
        ids = [project_id("a", p.name, p.clause.start) for p in found]
        assert len(ids) == len(set(ids)), [p.name for p in found]


def test_a_market_is_a_project_only_as_a_facility_and_a_copula_opens_no_name():
    """Bench pages outside the gold: markets as an economy (中国市场即将启动, 下游市场进入适应期) and a
    clause opened by 这是 name no project; a market built as a facility does (train part,
    eb:…82670052, kept by the facility heads 交易市场/批发市场 …)."""
    assert projects("欧洲市场正逐步走向市场驱动，中国市场即将启动，光伏实际装机量可能大超预期。") == []
    assert projects("不过，到上月底，聚四氟乙烯下游市场进入适应期，市场走势渐趋平稳。") == []
    assert [n for n, *_ in projects("业内人士认为，这是多晶硅项目审批将要开闸的一个重要信号。")] != ["这是多晶硅项目"]
    from newsgate.tasks.extract.projects import _facility_token
    assert _facility_token("国际面辅料服装机械交易市场") and not _facility_token("中国市场")
