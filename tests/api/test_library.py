"""The electronic material library over HTTP: materials that passed pre-review or were generated and
accepted are kept for their owner and reused; nobody else can list, see, fetch or delete them."""

from pathlib import Path

from tests.conftest import session

CASES = Path(__file__).resolve().parents[2] / "eval" / "data" / "prereview"


def uploads(case: str) -> list:
    folder = CASES / case
    return [("files", (f.name, f.read_bytes())) for f in sorted(folder.iterdir()) if f.name != "case.json"]


def test_passed_uploads_are_kept_and_reused_instead_of_asked_again(client):
    sid = session(client, "demo-citizen-2")
    first = client.post(f"/api/sessions/{sid}/prereview", data={"item_id": "BS-ITEM-001"}, files=uploads("case-0164")).json()
    assert first["data"]["kept"], first["text"]
    assert "已存入您的电子材料库" in first["text"]
    kept = client.get(f"/api/sessions/{sid}/library").json()
    assert {m["type"] for m in kept} == {"经营场所使用证明", "个体工商户登记（备案）申请书"}
    assert all(len(m["sha256"]) == 64 and m["origin"] == "prereview" for m in kept)
    # the validity is what the pre-review read on the material (租赁期限 … 至 2031年3月16日)
    assert {m["type"]: m["valid_until"] for m in kept}["经营场所使用证明"] == "2031-03-16"
    # the same upload again is not kept twice; without the premises proof, the library's copy is used
    only_form = [f for f in uploads("case-0164") if "申请书" in f[1][0]]
    again = client.post(f"/api/sessions/{sid}/prereview", data={"item_id": "BS-ITEM-001"}, files=only_form).json()
    assert again["data"]["kept"] == [] and len(client.get(f"/api/sessions/{sid}/library").json()) == 2
    premises = next(m for m in kept if m["type"] == "经营场所使用证明")
    assert again["data"]["reused"] == [premises["id"]] and "已复用您电子材料库中的：经营场所使用证明" in again["text"]
    assert {p["point"]: p["result"] for p in again["data"]["points"] if p["material_id"] == "premises"}["present"] == "pass"
    # a later application of the item offers what the library holds
    filled = client.post(f"/api/sessions/{sid}/prefill", json={"item": "BS-ITEM-001"}).json()
    assert set(filled["data"]["reusable"]) == {m["id"] for m in kept}
    assert "您的电子材料库中已有：" in filled["text"] and "经营场所使用证明（有效期至 2031-03-16）" in filled["text"]


def test_a_generated_material_is_kept_when_accepted(client):
    sid = session(client, "demo-citizen-1")
    asked = client.post(f"/api/sessions/{sid}/library", json={"material": "shareholder-decision"})
    assert asked.status_code == 422 and "还缺少" in asked.json()["detail"]
    assert client.post(f"/api/sessions/{sid}/library", json={"material": "营业执照正本"}).status_code == 404
    assert client.get(f"/api/sessions/{sid}/library").json() == []
    answers = {"company_name": "上海示例餐饮有限公司", "capital": "10万元", "scope": "餐饮服务", "director": "张示例"}
    body = {"material": "shareholder-decision", "answers": answers, "valid_until": "2027-06-30"}
    kept = client.post(f"/api/sessions/{sid}/library", json=body)
    assert kept.status_code == 201 and kept.json()["type"] == "股东决定" and kept.json()["origin"] == "generated"
    assert kept.json()["valid_until"] == "2027-06-30"
    # 开办企业一件事 then waives it: the library holds a valid 股东决定
    services = client.app.state.services
    services.bundles.seed(Path(__file__).resolve().parents[2] / "demo" / "bundles")
    answers = {"form": "有限责任公司", "food": "否", "seal": "否", "invoice": "否", "staff": "否"}
    plan = client.post(f"/api/sessions/{sid}/bundles/business-startup", json={"answers": answers}).json()["data"]
    assert "股东决定" in plan["waived"] and "电子材料库已有" in next(m["reason"] for m in plan["materials"] if m["name"] == "股东决定")


def test_anonymous_and_other_owners_are_refused(client):
    owner = session(client, "demo-citizen-2")
    owner_key = client.headers["X-Session-Key"]
    client.post(f"/api/sessions/{owner}/prereview", data={"item_id": "BS-ITEM-001"}, files=uploads("case-0164"))
    material = client.get(f"/api/sessions/{owner}/library").json()[0]

    anonymous = session(client)
    assert client.get(f"/api/sessions/{anonymous}/library").status_code == 403
    assert "实名登录" in client.get(f"/api/sessions/{anonymous}/library").json()["detail"]
    other = session(client, "demo-citizen-1")
    assert client.get(f"/api/sessions/{other}/library").json() == []
    for method, path in (("GET", ""), ("GET", "/file"), ("DELETE", "")):
        response = client.request(method, f"/api/sessions/{other}/library/{material['id']}{path}")
        assert response.status_code == 404 and response.json()["detail"] == "您的电子材料库中没有这份材料。"
    client.headers["X-Session-Key"] = "wrong"
    assert client.get(f"/api/sessions/{owner}/library").status_code == 403  # someone else's session

    client.headers["X-Session-Key"] = owner_key
    fetched = client.get(f"/api/sessions/{owner}/library/{material['id']}/file")
    assert fetched.status_code == 200 and fetched.content
    assert client.delete(f"/api/sessions/{owner}/library/{material['id']}").status_code == 204
    assert client.get(f"/api/sessions/{owner}/library/{material['id']}").status_code == 404
    assert material["id"] not in [m["id"] for m in client.get(f"/api/sessions/{owner}/library").json()]
