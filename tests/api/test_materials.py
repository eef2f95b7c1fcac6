"""Generated materials over HTTP and in the chat (one question at a time, then the download links):
only the session's verified user's own records; and the registered-address library."""

import io
import time
from pathlib import Path

from docx import Document
from pypdf import PdfReader

from tests.conftest import session
from xiaobao.api.materials import DOCX as DOCX_TYPE
from xiaobao.assistant.tools import LINK_SECONDS, signed_download


def test_questions_then_the_docx_for_the_user_s_own_enterprise(client):
    sid = session(client, "demo-enterprise-2")
    url = f"/api/sessions/{sid}/materials"
    asked = client.post(url, json={"material": "食品经营许可申请书"}).json()
    assert asked["data"]["questions"][0]["name"] == "business_items" and "请问申请的经营项目" in asked["text"]
    assert "上海样板餐饮管理有限公司（来源：法人库）" in asked["text"]
    assert client.post(url + "?format=docx", json={"material": "food-licence-application"}).status_code == 422
    response = client.post(
        url + "?format=docx", json={"material": "food-licence-application", "answers": {"business_items": "热食类食品制售"}}
    )
    assert response.status_code == 200 and response.headers["content-type"].endswith("wordprocessingml.document")
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    assert "企业名称：上海样板餐饮管理有限公司" in text and "经营项目：热食类食品制售" in text


def test_bad_requests_change_nothing_and_say_why(client):
    sid = session(client, "demo-citizen-1")
    url = f"/api/sessions/{sid}/materials"
    unknown = client.post(url, json={"material": "不存在的材料"})
    assert unknown.status_code == 404 and "目前可以生成" in unknown.json()["detail"]
    assert client.post(url, json={"material": "食品经营许可申请书"}).status_code == 422  # an enterprise's material, a person's login
    assert client.post(url, json={"material": ""}).status_code == 422
    typo = client.post(url, json={"material": "个体工商户登记（备案）申请书", "answers": {"shop": "示例小吃"}})
    assert typo.status_code == 422 and "没有这些字段：shop" in typo.json()["detail"] and "shop_name（个体户名称）" in typo.json()["detail"]
    anonymous = session(client)
    assert client.post(f"/api/sessions/{anonymous}/materials", json={"material": "食品经营许可申请书"}).status_code == 403
    client.headers["X-Session-Key"] = "wrong"
    assert client.post(url, json={"material": "食品经营许可申请书"}).status_code == 403


def test_templates_are_listed(client):
    listed = {t["id"]: t for t in client.get("/api/materials/templates").json()}
    assert {"food-licence-application", "individual-business-application", "premises-use-commitment"} <= set(listed)
    assert listed["food-licence-application"]["fields"][0]["sources"] == ["enterprise.name"]


def say(client, sid, text) -> dict:
    response = client.post(f"/api/sessions/{sid}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_chat_asks_one_question_at_a_time_and_ends_with_download_links(client):
    sid = session(client, "demo-citizen-1")
    first = say(client, sid, "我要写股东决定")
    assert first["intent"] == "material" and "姓名：张示例（来源：人口库）" in first["text"]
    assert "还需要 4 项信息。请问拟设立的公司名称是什么？" in first["text"]
    for answer in ["上海示例软件有限公司", "100万元", "软件开发；信息技术咨询服务"]:
        reply = say(client, sid, answer)
        assert reply["intent"] == "material" and reply["data"]["questions"], reply["text"]
    assert "执行董事" in reply["text"] and "可以是您本人" in reply["text"]
    done = say(client, sid, "我本人")  # the applicant's own name, from the 人口库
    assert done["data"]["complete"] and "执行董事：张示例（来源：申请人填写）" in done["text"] and "下载 DOCX 或 PDF" in done["text"]
    links = done["data"]["downloads"]
    assert links["pdf"] == f"/api/sessions/{sid}/materials/shareholder-decision?format=pdf"
    docx = client.get(links["docx"])
    assert docx.status_code == 200 and docx.headers["content-type"] == DOCX_TYPE
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "拟设立公司名称：上海示例软件有限公司" in text and "经营范围：软件开发；信息技术咨询服务" in text
    pdf = client.get(links["pdf"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "执行董事：张示例" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    # the links are the session's: another session's key does not open them
    other = session(client, "demo-citizen-1")
    assert client.get(links["docx"]).status_code == 403
    assert client.get(f"/api/sessions/{other}/materials/shareholder-decision").status_code == 404


def test_a_refused_answer_is_asked_again_and_stopping_ends_the_dialogue(client):
    sid = session(client, "demo-citizen-3")  # no phone on record
    first = say(client, sid, "帮我生成个体工商户登记（备案）申请书")
    assert [q["name"] for q in first["data"]["questions"]][:2] == ["phone", "shop_name"]
    again = say(client, sid, "12345")
    assert (
        "联系电话“12345”：电话号码格式不正确（手机 11 位，或区号-号码），请重新提供" in again["text"]
        and again["data"]["questions"][0]["name"] == "phone"
    )
    kept = say(client, sid, "１３７ 0000 0003")
    assert next(f for f in kept["data"]["fields"] if f["name"] == "phone")["value"] == "13700000003"
    stopped = say(client, sid, "算了")
    assert stopped["intent"] == "material" and "先不生成了" in stopped["text"]
    assert say(client, sid, "上海示例小吃店")["intent"] != "material"  # no question waits any more


def test_the_chat_tells_an_anonymous_citizen_to_log_in_and_offers_no_download(client):
    sid = session(client)
    reply = say(client, sid, "帮我生成食品经营许可申请书")
    assert reply["intent"] == "material" and "实名登录" in reply["text"]
    assert client.get(f"/api/sessions/{sid}/materials/food-licence-application").status_code == 403


def test_format_pdf_on_the_api(client):
    sid = session(client, "demo-enterprise-1")
    body = {"material": "集体合同审查申请表"}
    asked = client.post(f"/api/sessions/{sid}/materials", json=body).json()
    names = [q["name"] for q in asked["data"]["questions"]]
    assert names == ["union_name", "contract_type", "contract_term", "adopted_on", "contact"]
    assert "职工人数：45（来源：法人库）" in asked["text"]
    answers = {
        "union_name": "上海示例科技有限公司工会委员会",
        "contract_type": "综合性集体合同",
        "contract_term": "2026年4月1日至2029年3月31日",
        "adopted_on": "2026年3月20日",
        "contact": "王示例",
    }
    response = client.post(f"/api/sessions/{sid}/materials?format=pdf", json={**body, "answers": answers})
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "集体合同审查申请表" in text and "工会名称：上海示例科技有限公司工会委员会" in text
    assert client.post(f"/api/sessions/{sid}/materials?format=pdf", json=body).status_code == 422  # questions still open


def test_the_registered_address_library_over_http_and_in_the_chat(client):
    found = client.get("/api/addresses/check", params={"address": "宝山区沪太路６６５５号２号楼３楼３０１"}).json()
    assert found["standard"] == "上海市宝山区沪太路6655号2幢301室" and found["in_library"] and found["waives_proof"]
    assert found["entry"]["park"] == "示例科创园" and found["entry"]["sample"] and "示例数据" in found["summary"]
    missing = client.get("/api/addresses/check", params={"address": "上海市宝山区沪太路1号"}).json()
    assert not missing["in_library"] and "需要按一般程序提交住所" in missing["summary"]
    assert client.get("/api/addresses/check", params={"address": "浦东新区张江路1号"}).status_code == 422
    assert "没有读出地址" in client.get("/api/addresses/check", params={"address": "随便"}).json()["detail"]
    sid = session(client)  # public information: no login needed
    reply = say(client, sid, "这个地址能注册公司吗：宝山区共和新路100弄2-301")
    assert reply["intent"] == "address" and "示例众创空间" in reply["text"] and "免于提交住所使用证明" in reply["text"]
    parks = say(client, sid, "地址库里有哪些园区")
    assert parks["intent"] == "address" and "示例科创园（园区，示例数据）" in parks["text"]


BUNDLES = Path(__file__).resolve().parents[2] / "demo" / "bundles"


def walk_to_the_plan(client, sid) -> dict:
    """开办企业一件事 as a one-person company, nothing else: the plan."""
    assert "您打算以什么形式经营？" in say(client, sid, "开办企业一件事")["text"]
    for answer in ["有限责任公司", "否", "否", "否"]:
        say(client, sid, answer)
    return say(client, sid, "否")


ARTICLES = {
    "请问公司名称是什么": "上海示例软件有限公司",
    "公司住所的详细地址": "上海市宝山区沪太路6655号2幢301室",
    "注册资本是多少": "100万元",
    "以什么方式出资": "货币",
    "在哪一天前缴足": "2031年3月1日",
    "经营范围是什么": "软件开发；信息技术咨询服务",
    "监事由谁担任": "李示例",  # before 执行董事: the 监事 question names 执行董事 too (who may not be 监事)
    "执行董事": "我本人",
}


def test_the_bundle_plan_offers_its_materials_and_the_chat_makes_them_one_after_another(client, services):
    services.bundles.seed(BUNDLES)
    sid = session(client, "demo-citizen-1")
    plan = walk_to_the_plan(client, sid)
    assert "公司章程" in plan["data"]["to_submit"]
    assert plan["data"]["offer"] == ["articles-of-association", "shareholder-decision", "residence-use-commitment"]
    assert "小宝现在就可以为您生成：《公司章程》、《股东决定》、《住所（经营场所）使用承诺书》。" in plan["text"]
    assert "回复“好的”从《公司章程》开始" in plan["text"]
    reply = say(client, sid, "好的")
    assert reply["intent"] == "material" and reply["data"]["template"] == "articles-of-association"
    while reply["data"]["questions"]:  # one question at a time, each answered from the table above
        asked = reply["data"]["questions"][0]["question"]
        reply = say(client, sid, next(answer for words, answer in ARTICLES.items() if words in asked))
    articles = reply["data"]
    assert articles["complete"] and articles["prereview"]["docx"]["result"] == "pass" and articles["prereview"]["pdf"]["result"] == "pass"
    assert "DOCX 预审：通过（4 项要点）；PDF 预审：通过（4 项要点）" in reply["text"]
    assert articles["next"] == "shareholder-decision" and "接下来可以生成《股东决定》，回复“好的”继续。" in reply["text"]
    # the 股东决定 asks nothing: every field is in the records or was answered for the 章程 in this session
    decision = say(client, sid, "好的")
    assert decision["data"]["template"] == "shareholder-decision" and decision["data"]["complete"]
    assert "已沿用您在本次对话中的回答：拟设立公司名称、注册资本、经营范围、执行董事。" in decision["text"]
    assert "执行董事：张示例（来源：申请人填写）" in decision["text"] and decision["data"]["prereview"]["pdf"]["result"] == "pass"
    residence = say(client, sid, "好的")
    assert residence["data"]["questions"][0]["name"] == "use_until"
    done = say(client, sid, "2029年12月31日")
    assert done["data"]["complete"] and done["data"]["prereview"]["docx"]["result"] == "pass" and "next" not in done["data"]
    assert say(client, sid, "好的")["intent"] != "material"  # nothing more was offered
    finished = services.tools.finished_materials(sid)
    assert sorted(r["template"] for r in finished.values()) == [
        "articles-of-association",
        "residence-use-commitment",
        "shareholder-decision",
    ]


def test_what_a_plan_offers_depends_on_who_is_logged_in(client, services):
    services.bundles.seed(BUNDLES)
    anonymous = session(client)
    plan = walk_to_the_plan(client, anonymous)
    assert (
        plan["data"]["offer"] == []
        and "· 公司章程（有限责任公司设立登记（一人有限责任公司）），以个人身份实名登录后小宝可以帮您生成" in plan["text"]
    )
    assert say(client, anonymous, "好的")["intent"] != "material"
    # a person starting a restaurant company: the food licence application is the company's, made once it exists
    sid = session(client, "demo-citizen-1")
    say(client, sid, "我要开饭店需要办哪些事")
    for answer in ["有限公司", "否", "否", "否"]:
        plan = say(client, sid, answer)
    assert "食品经营许可申请书" in plan["data"]["to_submit"] and "food-licence-application" not in plan["data"]["offer"]
    assert "· 食品经营许可申请书（食品经营许可证新办），以企业身份实名登录后小宝可以帮您生成" in plan["text"]
    # 个体工商户: the 经营场所使用证明 is made as the item's template for it, the 经营场所使用承诺书
    other = session(client, "demo-citizen-3")
    say(client, other, "我要开个体户需要办哪些事")
    for answer in ["否", "否"]:
        plan = say(client, other, answer)
    plan = say(client, other, "否")
    assert plan["data"]["offer"] == ["individual-business-application", "premises-use-commitment"], plan["text"]


def test_signed_download_links_open_only_that_file_and_only_for_a_while(client, services):
    sid = session(client, "demo-citizen-1")
    answers = {"company_name": "上海示例软件有限公司", "capital": "100万元", "scope": "软件开发", "director": "张示例"}
    assert client.post(f"/api/sessions/{sid}/materials", json={"material": "股东决定", "answers": answers}).json()["data"]["complete"]
    keys = services.session_keys
    del client.headers["X-Session-Key"]  # a browser following the chat page's link sends no key
    link = signed_download(keys, sid, "shareholder-decision", "pdf")
    response = client.get(link)
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert client.get(link.replace("format=pdf", "format=docx")).status_code == 403  # signed for the PDF only
    assert client.get(link[:-4] + "0000").status_code == 403
    stale = signed_download(keys, sid, "shareholder-decision", "pdf", now=time.time() - 3 * LINK_SECONDS)
    expired = client.get(stale)
    assert expired.status_code == 403 and "已过期" in expired.json()["detail"]
    far = signed_download(keys, sid, "shareholder-decision", "pdf", now=time.time() + 10 * LINK_SECONDS)
    assert client.get(far).status_code == 403  # no link lives longer than the service issues them
    assert client.get(f"/api/sessions/{sid}/materials/shareholder-decision?format=pdf").status_code == 403  # neither key nor signature
    other = session(client, "demo-citizen-1")
    assert client.get(signed_download(keys, other, "shareholder-decision", "pdf")).status_code == 404  # that session made none
