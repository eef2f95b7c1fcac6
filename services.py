"""The composition root: every service of Xiaobao is built here, once, from one Settings, and passed
to whoever needs it (the CLI, the HTTP app, the chat page, the evaluations). Nothing else constructs
services or reaches through one service to another.

Each service is built on first use, so a command that only searches never loads the model client
or the staff desk. `Services(settings)` is the usual entry; tests and evaluations pass their own
embedder or model client (`embedder=`, `llm=`), and `collection=` names another knowledge collection.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine as DbEngine

# every module that defines tables is imported here, so that the models are complete (tests/migrations
# checks that the migrations, which make the schema, match them)
from xiaobao import db
from xiaobao.assistant import store as _chat_tables  # noqa: F401
from xiaobao.assistant.engine import Engine
from xiaobao.assistant.llm import LLM, OpenAICompatibleLLM, SharedSlots, Slots
from xiaobao.assistant.model_files import KOKORO_82M, WHISPER_BASE, prepare_model
from xiaobao.assistant.reports import Reports
from xiaobao.assistant.tools import Tools
from xiaobao.govdata.bundles import Bundles
from xiaobao.govdata.library import Library
from xiaobao.govdata.materials import Templates
from xiaobao.govdata.records import DbDirectory, Directory
from xiaobao.identity.access import Budgets, SessionKeys
from xiaobao.identity.accounts import Accounts
from xiaobao.identity.citizens import CitizenVerifier
from xiaobao.ingest.pipeline import Ingestor
from xiaobao.knowledge.base import KnowledgeBase
from xiaobao.knowledge.embedders import Embedder
from xiaobao.operations import history as _history_tables  # noqa: F401
from xiaobao.operations.cockpit import Cockpit
from xiaobao.operations.metrics import Metrics
from xiaobao.prereview.review import Reviewer
from xiaobao.settings import Settings
from xiaobao.staff.editorial import Editorial
from xiaobao.staff.helpdesk import HelpDesk
from xiaobao.staff.jobs import IngestJobs
from xiaobao.staff.live import Live
from xiaobao.voice.listening import Listener, vocabulary
from xiaobao.voice.recital import Recitals
from xiaobao.voice.speech import Speaker, SpeechCache


def make_speaker(settings: Settings, voice: str, cache: SpeechCache | None = None, official: SpeechCache | None = None) -> Speaker:
    """Speech synthesis in `voice` with these caches (the service's own is `Services.speaker`; the
    voice evaluation builds one per voice, and one without caches, the same way)."""
    return Speaker(prepare_model(KOKORO_82M, settings.models_dir), voice, settings.voice_speed, settings.voice_threads, cache, official)


class Services:
    def __init__(
        self, settings: Settings, *, collection: str | None = None, embedder: Embedder | None = None, llm: LLM | None = None
    ) -> None:
        self.settings = settings
        self._collection = collection
        self._embedder = embedder
        self._llm = llm

    # storage ---------------------------------------------------------------------------------

    @cached_property
    def db_engine(self) -> DbEngine:
        """The relational database, its schema migrated to the newest revision (migrations/)."""
        return db.open_database(self.settings.db_url, self.settings.database_busy_timeout)

    @cached_property
    def redis(self):
        """The Redis client for state shared by several API workers (request budgets, the model's
        line), or None: then that state is kept in this process."""
        if not self.settings.redis_url:
            return None
        import redis  # the optional extra `redis`

        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def kb(self) -> KnowledgeBase:
        return KnowledgeBase(self.settings, self._collection, self._embedder)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.kb, self.db_engine)

    # the dialogue ----------------------------------------------------------------------------

    @cached_property
    def llm(self) -> LLM:
        s = self.settings
        return self._llm or OpenAICompatibleLLM(s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout, schema_style=s.llm_schema_style)

    @cached_property
    def directory(self) -> Directory:
        return DbDirectory(self.db_engine)

    @cached_property
    def reports(self) -> Reports:
        return Reports(self.db_engine)

    @cached_property
    def reviewer(self) -> Reviewer:
        return Reviewer.from_settings(self.settings)

    @cached_property
    def tools(self) -> Tools:
        return Tools(
            self.db_engine,
            self.directory,
            self.reports,
            self.reviewer,
            search=lambda query: self.kb.retriever.search(query, 5),
            templates=self.templates,
            bundles=self.bundles,
            library=self.library,
        )

    @cached_property
    def templates(self) -> Templates:
        """The application-material templates with their versions, in the database (seeded from demo/templates
        and XIAOBAO_MATERIAL_TEMPLATES by `xiaobao init`, edited in the editor console; docs/SERVICES.md)."""
        return Templates(self.db_engine)

    @cached_property
    def bundles(self) -> Bundles:
        """一件事 bundles with their versions, in the database (seeded from demo/bundles by `xiaobao init`)."""
        return Bundles(self.db_engine)

    @cached_property
    def library(self) -> Library:
        """The electronic material library: each owner's verified materials, for reuse."""
        return Library(self.db_engine)

    @cached_property
    def engine(self) -> Engine:
        """The dialogue engine (not the database engine, which is `db_engine`)."""
        return Engine(self.settings, self.kb, self.llm, self.tools, self.db_engine, self.citizens, self.model_line)

    @cached_property
    def model_line(self) -> Slots | SharedSlots:
        """The bounded line for the model: in this process, or in Redis, shared by every worker."""
        s = self.settings
        if self.redis:
            return SharedSlots(self.redis, s.llm_concurrency, s.llm_queue, s.llm_timeout)
        return Slots(s.llm_concurrency, s.llm_queue, s.llm_timeout)

    # voice -----------------------------------------------------------------------------------

    @cached_property
    def speaker(self) -> Speaker:
        """Speech synthesis; its model is joined from the installed packages on first use if `xiaobao init` has not."""
        s = self.settings
        cache = SpeechCache(s.cache_dir / "speech", s.voice_cache_entries)
        official = SpeechCache(s.cache_dir / "speech" / "official", None)  # official replies' audio, made ahead (voice/rehearsal.py)
        return make_speaker(s, s.voice_name, cache, official)

    @cached_property
    def recitals(self) -> Recitals:
        """The answer each session is being given, for the audio route to speak as it comes."""
        return Recitals()

    @cached_property
    def listener(self) -> Listener:
        s = self.settings
        items = self.directory.items()  # the service's own words, heard as themselves (voice/listening.py)
        terms = vocabulary([phrase for item in items for phrase in (item.name, *item.aliases, item.department)])
        return Listener(prepare_model(WHISPER_BASE, s.models_dir).parent, s.voice_threads, s.voice_max_seconds, terms)

    # people ----------------------------------------------------------------------------------

    @cached_property
    def citizens(self) -> CitizenVerifier:
        return CitizenVerifier(self.settings, self.db_engine)

    @cached_property
    def accounts(self) -> Accounts:
        s = self.settings
        return Accounts(self.db_engine, s.staff_token_hours, s.login_max_failures, s.login_lockout_minutes)

    @cached_property
    def session_keys(self) -> SessionKeys:
        return SessionKeys.from_file(self.settings.secret_path)

    @cached_property
    def budgets(self) -> Budgets:
        s = self.settings
        return Budgets(s.rate_limit_per_client, s.rate_limit_per_session, s.rate_limit_sessions_per_client, self.redis)

    @cached_property
    def editorial(self) -> Editorial:
        return Editorial(self.kb, self.ingestor, self.db_engine, self.settings.gap_group_threshold)

    @cached_property
    def ingest_jobs(self) -> IngestJobs:
        """Ingest as a background job of the running service (`xiaobao ingest` while it serves)."""
        return IngestJobs(self.ingestor, self.db_engine)

    @cached_property
    def desk(self) -> HelpDesk:
        return HelpDesk(self.db_engine, self.accounts, self.editorial, self.settings.helper_offline_after)

    @cached_property
    def live(self) -> Live:
        """Wakes the chat pages and helper consoles waiting on a conversation or the desk."""
        return Live(self.db_engine, self.redis)

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(self.kb, self.db_engine)

    @cached_property
    def cockpit(self) -> Cockpit:
        """The promises per department and item, from daily pre-aggregates (数据驾驶舱)."""
        return Cockpit(self.kb, self.db_engine)

    # lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Release what was opened (the index admits one process; the database pool); closing twice is harmless."""
        if kb := self.__dict__.pop("kb", None):
            kb.close()
        if live := self.__dict__.pop("live", None):
            live.close()  # its database hook
        if reviewer := self.__dict__.pop("reviewer", None):
            reviewer.close()  # its worker processes
        if redis := self.__dict__.pop("redis", None):
            redis.close()
        if db_engine := self.__dict__.get("db_engine"):
            db_engine.dispose()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
