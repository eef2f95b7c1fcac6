from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.servers import PostgresCluster, RedisServer
from xiaobao.assistant.llm import Completion, LLMUnavailable
from xiaobao.govdata.records import Application
from xiaobao.identity.accounts import Accounts
from xiaobao.services import Services
from xiaobao.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class FakeEmbedder:
    """A test fake, honest about being one: hashes character bigrams into 64 dimensions.
    Texts sharing characters land near each other, which is all the pipeline tests need."""

    model_id = "fake-bigram-64"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def _embed(self, texts) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:], strict=False):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest()[:6], 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def embed_queries(self, texts):
        return self._embed(list(texts))

    def embed_passages(self, texts):
        return self._embed(list(texts))


def pytest_generate_tests(metafunc):
    """Tests marked `databases` run once on SQLite and once on PostgreSQL."""
    if "database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("databases"):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def postgres():
    """One throwaway PostgreSQL cluster for the whole test session."""
    cluster = PostgresCluster.start()
    if cluster is None:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not on PATH nor in /usr/lib/postgresql/*/bin)")
    yield cluster
    cluster.stop()


@pytest.fixture
def database(request) -> str | None:
    """The database URL of a test: None (SQLite in the data directory, the default), or an empty
    database in the session's PostgreSQL cluster for the PostgreSQL variant of a `databases` test."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return None
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture(scope="session")
def redis_server():
    """One redis-server for the whole test session."""
    server = RedisServer.start()
    if server is None:
        pytest.skip("redis-server is not installed")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The session's redis-server, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_server.url()).flushall()
    return redis_server.url()


@pytest.fixture
def settings(tmp_path: Path, database) -> Settings:
    # voice off: its models cost seconds of CPU to load; tests/voice/ turn it on
    return Settings(data_dir=tmp_path / "var", database_url=database, voice=False)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def llm():
    return ScriptedLLM()


@pytest.fixture
def services(settings, fake_embedder, llm):
    """Every service, built by the composition root over the test fakes. The fake embedder's cosines
    are not e5's (an exact phrasing scores 1.0, related text ~0.3-0.6), so the thresholds are its own."""
    tuned = settings.model_copy(
        update={
            "verbatim_threshold": 0.95,
            "evidence_threshold": 0.3,
            "gap_group_threshold": 0.5,
            "helper_offline_after": 60,
            "demo_mode": True,
        }
    )
    with Services(tuned, embedder=fake_embedder, llm=llm) as built:
        yield built


@pytest.fixture
def kb(services):
    return services.kb


@pytest.fixture
def ingestor(services):
    return services.ingestor


def session(client, demo_ref=None) -> str:
    """A new chat session through the API (as a demo identity when `demo_ref` is given); the client
    sends its key from now on."""
    created = client.post("/api/sessions", json={"user_ref": demo_ref} if demo_ref else {}).json()
    client.headers["X-Session-Key"] = created["session_key"]
    return created["session_id"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


STATUTE = """# 示例市物业管理条例

2020年1月1日 示例市人大常委会通过

<!-- INFO END -->

## 第一章  总则

第一条 为了规范物业管理活动，维护业主的合法权益，制定本条例。

第二条 本条例适用于本市行政区域内的物业管理活动。

业主大会应当依法履行职责。

## 第二章  业主

第三条 业主可以委托物业服务企业管理共有部分。

第十条之一 物业服务企业不得擅自停水停电。
"""

needs_shared_data = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not present")


class ScriptedLLM:
    """A test fake, honest about being one: answers from a script and records what it was asked.
    `fail_after` makes the stream break after that many tokens, as a killed server would."""

    model = "scripted"

    def __init__(self, answers=None, fail_after: int | None = None) -> None:
        self.answers = list(answers or [])
        self.fail_after = fail_after
        self.calls: list[list[dict]] = []
        self.verdicts: list[dict[str, float]] = []
        self.judged: list[list[dict]] = []

    def _next(self, messages) -> str:
        self.calls.append(list(messages))
        answer = self.answers.pop(0) if self.answers else "资料中没有相关内容。"
        return answer(messages) if callable(answer) else answer

    def complete(self, messages, max_tokens, json_schema=None):
        return Completion(self._next(messages), 0, 0, 0.0)

    def next_token_logprobs(self, messages, top):
        """The judge's question (assistant/judge.py): `verdicts` scripts the answers, as log-probabilities
        of the first token; unscripted, the fake says 否, as its unscripted answer says it found nothing."""
        self.judged.append(list(messages))
        return dict(self.verdicts.pop(0) if self.verdicts else {"否": -0.1, "是": -2.4})

    def stream(self, messages, max_tokens, usage=None):
        text = self._next(messages)
        for i, char in enumerate(text):
            if self.fail_after is not None and i >= self.fail_after:
                raise LLMUnavailable("connection reset")
            yield char


QA = [
    {"id": "qa-1", "question": "政务服务中心几点上班？", "alternatives": ["办事大厅什么时候开门"], "answer": "工作日9:00至17:00。"},
    {"id": "qa-2", "question": "新政策什么时候实施？", "answer": "明年实施。", "effective_from": "2099-01-01"},
]
POLICY = """# 示例区高龄津贴办法

<!-- INFO END -->

第一条 年满九十周岁的本区户籍老人每人每月领取高龄津贴400元。

第二条 申请高龄津贴需要提供身份证和户口簿。
"""


def citing(article: str, sentence: str):
    """A scripted answer that cites whichever passage number the prompt gave `article`."""

    def answer(messages) -> str:
        line = next(line for line in messages[-1]["content"].splitlines() if article in line)
        return sentence.format(n=line[1 : line.index("]")])

    return answer


@pytest.fixture
def engine(services, tmp_path):
    """The dialogue engine over a small knowledge base (Q&A + one policy) and two applications."""
    corpus = tmp_path / "kb"
    write(corpus / "qa.jsonl", "\n".join(json.dumps(q, ensure_ascii=False) for q in QA))
    write(corpus / "示例区高龄津贴办法(2024-01-01).md", POLICY)
    services.ingestor.ingest([corpus])
    with Session(services.db_engine) as session:
        session.add_all([
            Application(id="BS20240001", item="居住证办理", applicant_ref="citizen-1", status="审核中", next_step="窗口核验原件",
                        timeline=[{"at": "2024-05-01T09:00:00", "event": "已受理"}], promised_date=dt.date(2099, 1, 1), sample=True),
            Application(id="BS20240002", item="高龄津贴申领", applicant_ref="citizen-2", status="审核中",
                        timeline=[], promised_date=dt.date(2020, 1, 1), sample=True),
        ])  # fmt: skip
        session.commit()
    return services.engine


DEMO_SERVICES = Path(__file__).resolve().parents[1] / "demo" / "services"


@pytest.fixture
def services_data(services, engine):
    """The demo pack's service items, persons, enterprises, policies, registered addresses,
    applications and material templates in the engine's database (sample data; the engine fixture's
    own two applications stay as they are)."""
    from xiaobao.govdata.records import seed_applications, seed_records

    kinds = {"item": "items", "person": "persons", "enterprise": "enterprises", "policy": "policies", "address": "addresses"}
    for kind, name in kinds.items():
        seed_records(services.db_engine, kind, DEMO_SERVICES / f"{name}.jsonl")
    seed_applications(services.db_engine, DEMO_SERVICES / "applications.jsonl")
    services.templates.seed(DEMO_SERVICES.parent / "templates")
    return services.directory


@pytest.fixture
def accounts(services) -> Accounts:
    return services.accounts
