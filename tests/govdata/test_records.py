import json

import httpx
import pytest

from tests.conftest import DEMO_SERVICES, write
from xiaobao.govdata.records import DbDirectory, HttpDirectory, SeedError, is_sample_identity, seed_records


def fake_district(request: httpx.Request) -> httpx.Response:
    """A test fake of a district's HTTP adapter, serving the demo pack by the documented contract."""
    files = {"items": "items", "persons": "persons", "enterprises": "enterprises", "policies": "policies"}
    parts = request.url.path.strip("/").split("/")
    if parts[0] in files:
        rows = [json.loads(line) for line in (DEMO_SERVICES / f"{files[parts[0]]}.jsonl").read_text().splitlines()]
        if len(parts) == 1:
            return httpx.Response(200, json=rows)
        found = [r for r in rows if r.get("id", r.get("ref")) == parts[1]]
        return httpx.Response(200, json=found[0]) if found else httpx.Response(404)
    if parts[0] == "addresses":
        rows = [json.loads(line) for line in (DEMO_SERVICES / "addresses.jsonl").read_text().splitlines()]
        wanted = request.url.params.get("address")
        return httpx.Response(200, json=[r for r in rows if wanted in (None, r["address"])])
    if parts[0] == "applications":
        rows = [json.loads(line) for line in (DEMO_SERVICES / "applications.jsonl").read_text().splitlines()]
        return httpx.Response(200, json=[r for r in rows if r["applicant_ref"] == request.url.params["applicant"]])
    return httpx.Response(404)


def test_database_and_http_directories_answer_alike(services_data):
    http = HttpDirectory("http://district.example", transport=httpx.MockTransport(fake_district))
    for directory in (services_data, http):
        assert isinstance(services_data, DbDirectory)
        assert directory.item("BS-ITEM-007").name == "食品经营许可证新办"
        assert directory.item("nope") is None and directory.person("nope") is None
        assert directory.person("demo-citizen-1").id_number == "310113194003010027"
        assert directory.enterprise("demo-enterprise-2").licences[1].name == "食品经营许可证"
        assert {p.id for p in directory.policies()} == {"POL-001", "POL-002", "POL-003", "POL-004", "POL-005"}
        assert [a["id"] for a in directory.applications("demo-enterprise-1")] == ["BS20240004"]
        assert len(directory.items()) == 7 and len(directory.persons()) == 3 and len(directory.enterprises()) == 4
        assert directory.address("上海市宝山区沪太路6655号2幢").park == "示例科创园" and directory.address("上海市宝山区沪太路1号") is None
        assert len(directory.addresses()) == 12 and all(a.sample for a in directory.addresses())


def test_only_sample_persons_and_enterprises_are_identities(services_data, services):
    assert is_sample_identity(services.db_engine, "demo-citizen-1") and is_sample_identity(services.db_engine, "demo-enterprise-2")
    assert not any(is_sample_identity(services.db_engine, ref) for ref in ("BS-ITEM-007", "POL-001", "ADDR-001"))


def test_bad_seed_lines_name_the_file_and_line(engine, tmp_path):
    bad = write(tmp_path / "persons.jsonl", '{"ref": "a", "name": "x", "id_number": "1"}\n{"ref": "b"}\n')
    with pytest.raises(SeedError, match="persons.jsonl:2"):
        seed_records(engine.db_engine, "person", bad)
