"""The electronic material library: kept once per owner by hash, the owner alone sees it, expired
materials are not reused (nor what was read in them), deletion really deletes and is audited."""

import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xiaobao.govdata.library import LibraryMaterial
from xiaobao.identity.audit import AuditEntry

TODAY = dt.date(2026, 12, 1)


@pytest.mark.databases
def test_a_material_is_kept_once_per_owner(services):
    library = services.library
    first, new = library.keep("p-1", "身份证", "身份证.pdf", b"id card", "prereview", dt.date(2030, 1, 1), "BS-ITEM-001", on=TODAY)
    again, new_again = library.keep("p-1", "身份证", "身份证-再传.pdf", b"id card", "prereview", dt.date(2031, 1, 1), on=TODAY)
    assert new and not new_again and again["id"] == first["id"]
    assert again["valid_until"] == "2031-01-01" and again["name"] == "身份证-再传.pdf"  # the newer copy's validity
    other, other_new = library.keep("p-2", "身份证", "身份证.pdf", b"id card", "prereview", on=TODAY)
    assert other_new and other["id"] != first["id"]  # the same bytes of another owner are theirs, separately
    assert first["sha256"] == hashlib.sha256(b"id card").hexdigest()
    assert len(library.list("p-1")) == 1 and len(library.list("p-2")) == 1


def test_only_the_owner_sees_or_gets_a_material(services):
    library = services.library
    kept, _ = library.keep("p-1", "户口簿", "户口簿.jpg", b"hukou", "prereview")
    assert library.get("p-1", kept["id"])["type"] == "户口簿"
    assert library.content("p-1", kept["id"]) == ("户口簿.jpg", b"hukou")
    assert library.get("p-2", kept["id"]) is None and library.content("p-2", kept["id"]) is None
    assert library.get("p-1", "no-such-id") is None
    assert library.list("p-2") == [] and library.reusable("p-2") == {}


def test_expired_materials_are_listed_but_not_reused(services):
    library = services.library
    library.keep("p-1", "身份证", "old.pdf", b"old", "prereview", dt.date(2026, 11, 30))
    library.keep("p-1", "股东决定", "股东决定.docx", b"docx", "generated", None)
    listed = {m["type"]: m["expired"] for m in library.list("p-1", on=TODAY)}
    assert listed == {"身份证": True, "股东决定": False}
    assert set(library.reusable("p-1", on=TODAY)) == {"股东决定"}
    assert set(library.reusable("p-1", on=dt.date(2026, 11, 30))) == {"身份证", "股东决定"}  # valid through its last day


@pytest.mark.databases
def test_what_the_pre_review_read_is_kept_and_offered_from_the_owner_s_unexpired_uploads_only(services):
    library = services.library
    licence = {"名称": "上海示例科技有限公司", "住所": "上海市宝山区示例园区1号楼"}
    kept, _ = library.keep("e-1", "营业执照", "营业执照.png", b"licence", "prereview", None, "BS-ITEM-007", read=licence)
    assert kept["read"] == licence and library.get("e-1", kept["id"])["read"] == licence
    card = {"身份证号": "310113199209090053"}
    library.keep("e-1", "法定代表人身份证件", "身份证.png", b"id", "prereview", dt.date(2026, 11, 30), read=card)
    library.keep("e-1", "股东决定", "股东决定.docx", b"docx", "generated")  # nothing read in a generated material
    assert library.readings("e-1", on=TODAY) == {"营业执照": licence}  # the expired ID card is not used
    assert set(library.readings("e-1", on=dt.date(2026, 11, 30))) == {"营业执照", "法定代表人身份证件"}
    assert library.readings("e-2", on=TODAY) == {}  # another owner's are not theirs
    newer = {"名称": "上海示例科技有限公司", "住所": "上海市宝山区示例园区2号楼"}
    library.keep("e-1", "营业执照", "营业执照-新.png", b"licence 2", "prereview", read=newer)
    assert library.readings("e-1", on=TODAY)["营业执照"] == newer  # the newest upload of a type


@pytest.mark.databases
def test_deletion_removes_the_bytes_and_is_audited(services):
    library = services.library
    kept, _ = library.keep("p-1", "结婚证", "结婚证.pdf", b"marriage", "prereview")
    assert not library.delete("p-2", kept["id"])  # another owner cannot delete it
    assert library.delete("p-1", kept["id"]) and not library.delete("p-1", kept["id"])
    with Session(services.db_engine) as session:
        assert session.scalar(select(func.count()).select_from(LibraryMaterial)) == 0
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete_material")).one()
    assert (entry.actor, entry.object_id, entry.detail["type"]) == ("p-1", kept["id"], "结婚证")
    assert "content" not in entry.detail
