import pytest
from pydantic import ValidationError

from xiaobao.settings import Settings


def test_environment_and_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xiaobao.toml").write_text('collection = "from_toml"\nembed_chars = 128\n', encoding="utf-8")
    monkeypatch.setenv("XIAOBAO_EMBED_CHARS", "200")
    settings = Settings()
    assert settings.collection == "from_toml"
    assert settings.embed_chars == 200  # the environment wins over the file
    assert settings.db_url == "sqlite:///var/xiaobao.db"


def test_everything_lives_under_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.qdrant_path.parent == tmp_path and settings.cache_dir.parent == tmp_path
    assert settings.db_url.endswith(str(tmp_path / "xiaobao.db"))


def test_unknown_or_bad_values_are_rejected(monkeypatch):
    with pytest.raises(ValidationError):
        Settings(embed_chars=0)
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)
