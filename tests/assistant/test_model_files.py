import hashlib
import types

import pytest

from xiaobao.assistant.model_files import ModelPackage, prepare_model
from xiaobao.knowledge.embedders import ModelMissing


def fake_package(tmp_path, parts: list[bytes]):
    """Installed 'parts' as modules with get_part_path(), as the real model packages have."""
    modules = {}
    for i, data in enumerate(parts, start=1):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(data)
        modules[f"fake_part{i}"] = types.SimpleNamespace(get_part_path=lambda p=path: str(p))
    whole = b"".join(parts)
    package = ModelPackage("fake", "fake.gguf", "fake_part", len(parts), "1.0", hashlib.sha256(whole).hexdigest(), len(whole))

    def importer(name):
        if name not in modules:
            raise ImportError(name)
        return modules[name]

    return package, importer


def test_parts_are_joined_in_order_and_verified(tmp_path):
    package, importer = fake_package(tmp_path, [b"GGUF-first-", b"second-", b"third"])
    path = prepare_model(package, tmp_path / "models", importer)
    assert path.read_bytes() == b"GGUF-first-second-third"
    assert prepare_model(package, tmp_path / "models", importer) == path  # second call: already verified


def test_a_missing_part_names_the_install_command(tmp_path):
    package, importer = fake_package(tmp_path, [b"GGUF-a", b"b"])
    package = ModelPackage(**{**package.__dict__, "parts": 3})
    with pytest.raises(ModelMissing, match=r"fake_part3.*pip install fake-part\{1..3\}==1.0"):
        prepare_model(package, tmp_path / "models", importer)


def test_a_corrupt_part_is_refused_and_leaves_nothing_behind(tmp_path):
    package, importer = fake_package(tmp_path, [b"GGUF-a", b"b"])
    (tmp_path / "part2.bin").write_bytes(b"c")
    with pytest.raises(ModelMissing, match="校验失败"):
        prepare_model(package, tmp_path / "models", importer)
    assert not any((tmp_path / "models").iterdir())


def test_a_damaged_model_file_is_rebuilt(tmp_path):
    package, importer = fake_package(tmp_path, [b"GGUF-a", b"b"])
    path = prepare_model(package, tmp_path / "models", importer)
    path.write_bytes(b"GGUF-X" + b"b")
    path.with_suffix(".verified").unlink()
    assert prepare_model(package, tmp_path / "models", importer).read_bytes() == b"GGUF-ab"
