"""The `xiaobao` command."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from xiaobao.services import Services
from xiaobao.settings import Settings

app = typer.Typer(help="小宝 — 政务服务智能助手。", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
eval_app = typer.Typer(help="评测：检索质量与速度。", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
users_app = typer.Typer(help="工作人员账号（线上帮办 helper、知识编辑 editor、管理员 admin）。", no_args_is_help=True)
app.add_typer(users_app, name="users")
voice_app = typer.Typer(help="小宝的语音：提前合成官方答复口径的朗读音频。", no_args_is_help=True)
app.add_typer(voice_app, name="voice")
console = Console()

DEMO_PACK = Path(__file__).resolve().parent / "demo"
DEMO_KNOWLEDGE = DEMO_PACK / "knowledge"
DEMO_SERVICES = DEMO_PACK / "services"


def remember(settings: Settings, kind: str, result: dict) -> None:
    """Keep an evaluation run, with the version and settings, for the dashboard's history."""
    from xiaobao.operations.history import record

    with Services(settings) as services:
        record(services.db_engine, kind, result, settings.model_dump(mode="json", exclude={"llm_api_key", "qdrant_api_key"}))


def mask_logs() -> None:
    """Logs to stderr with personal numbers masked in every record (the service's and uvicorn's)."""
    import logging

    from xiaobao.assistant.guard import MaskingFilter

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingFilter())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def keep(settings: Settings, kind: str, result: dict, json_out: Path | None) -> None:
    """An evaluation's result: into the history, and into a JSON file when one was asked for."""
    remember(settings, kind, result)
    if json_out:
        write_json(json_out, result)


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def progress_bars() -> Progress:
    """The progress display of every long command: what, bar, done/total, elapsed, remaining."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]错误：[/red]{message}")
    return typer.Exit(code)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="数据目录（默认 ./var，或环境变量 XIAOBAO_DATA_DIR）。")] = None,
) -> None:
    try:
        ctx.obj = Settings(**({"data_dir": data_dir} if data_dir else {}))
    except ValidationError as exc:
        raise fail(f"配置有误：{exc}") from None


def served_note(settings: Settings) -> str | None:
    """What to do when the running service holds the data directory (the embedded index admits one process)."""
    from xiaobao.operations.running import found

    running = found(settings.data_dir)
    if running is None:
        return None
    return (
        f"小宝服务正在运行（进程 {running.pid}，{running.url}），占用数据目录 {settings.data_dir}。"
        "导入知识（xiaobao ingest）和原文答复评测（xiaobao eval verbatim）会交给运行中的服务；"
        "其他命令：请先停止服务，或用另一个数据目录（--data-dir）运行。"
    )


@contextmanager
def opened(settings: Settings, collection: str | None = None) -> Iterator[Services]:
    """The services for one command, with the knowledge base open (a missing embedding model or an
    index held by another process is a clear error here, not later); closed after the command."""
    from xiaobao.knowledge.embedders import ModelMissing
    from xiaobao.knowledge.index import IndexUnavailable

    services = Services(settings, collection=collection)
    try:
        services.kb  # noqa: B018  (opened now, so that its errors surface before any work)
    except (ModelMissing, IndexUnavailable, ValueError) as exc:
        services.close()
        raise fail(served_note(settings) or str(exc)) from None
    with services:
        yield services


def run_ingest(services: Services, paths: list[Path]):
    """Ingest with a progress bar; returns the summary."""
    from xiaobao.ingest.pipeline import discover

    try:
        total = len(discover(paths))
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    with progress_bars() as progress:
        files = progress.add_task("文件", total=total)
        embedded = progress.add_task("新嵌入的片段", total=None)

        def on_progress(kind: str, n: int) -> None:
            progress.advance(files if kind == "file" else embedded, n)

        summary = services.ingestor.ingest(paths, on_progress=on_progress)
    return summary


def print_summary(summary) -> None:
    table = Table(title="导入结果", show_header=False)
    for label, value in (
        (
            "文件（共 / 未变 / 新增或变更 / 已删除 / 失败）",
            f"{summary.files} / {summary.files_unchanged} / {summary.files_loaded} / {summary.files_removed} / {summary.files_failed}",
        ),
        ("片段：新增", summary.added),
        ("片段：更新", summary.updated),
        ("片段：未变", summary.unchanged),
        ("片段：删除", summary.deleted),
        ("新计算的向量", summary.embedded),
        ("被新版本取代的文件", summary.superseded),
        ("用时", f"{summary.seconds:.1f} 秒"),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for problem in summary.problems[:50]:
        where = f"{problem.path}:{problem.line}" if problem.line else str(problem.path)
        console.print(f"[yellow]问题[/yellow] {where} — {problem.message}")
    if len(summary.problems) > 50:
        console.print(f"[yellow]……另有 {len(summary.problems) - 50} 个问题未列出[/yellow]")


def prepare_local_model(settings: Settings) -> Path:
    from xiaobao.assistant.model_files import QWEN_1_5B, prepare_model
    from xiaobao.knowledge.embedders import ModelMissing

    try:
        with console.status("合并并校验模型文件（约 1.1 GB）…"):
            return prepare_model(QWEN_1_5B, settings.models_dir)
    except ModelMissing as exc:
        raise fail(str(exc)) from None


def prepare_voice_models(settings: Settings) -> list[tuple[str, Path]]:
    from xiaobao.assistant.model_files import KOKORO_82M, WHISPER_BASE, prepare_model
    from xiaobao.knowledge.embedders import ModelMissing

    try:
        with console.status("合并并校验语音模型文件（约 240 MB）…"):
            return [
                (name, prepare_model(package, settings.models_dir))
                for name, package in (("语音合成模型", KOKORO_82M), ("语音识别模型", WHISPER_BASE))
            ]
    except ModelMissing as exc:
        raise fail(f"{exc}（或设置 XIAOBAO_VOICE=false 关闭语音）") from None


def local_model_server(settings: Settings):
    from xiaobao.assistant.llm_server import ModelServer, llama_cpp_command

    model = prepare_local_model(settings)
    command = llama_cpp_command(model, settings.llm_host, settings.llm_port, settings.llm_threads, settings.llm_ctx, settings.llm_model)
    return ModelServer(command, f"{settings.llm_base_url}/models", settings.data_dir / "logs" / "llm.log", nice=settings.llm_nice)


@contextmanager
def model_running(services: Services, model_settings: Settings | None = None) -> Iterator[None]:
    """When the services' model is the local one and nothing answers yet, a server is started for
    the duration (and stopped after). `model_settings`: where the model files are, when the services
    run on a scratch data directory."""
    server = None
    if not services.settings.llm_url and not services.llm.healthy():
        server = local_model_server(model_settings or services.settings)
        with console.status("启动本地大模型服务…"):
            server.start()  # supervised: a long evaluation survives a crash of the model server
    try:
        yield
    finally:
        if server:
            server.stop()


@contextmanager
def served(services: Services, host: str, port: int):
    """The HTTP app, while it serves: a note in the data directory tells `xiaobao ingest` to go through
    it (operations/running.py), and the cockpit's daily pre-aggregates and weekly / monthly reports run
    on a schedule."""
    import signal
    import sys

    from xiaobao.operations import periodic, running
    from xiaobao.server import create_app

    app_ = create_app(services)
    data_dir = services.settings.data_dir
    note = running.announce(data_dir, f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}")
    app_.state.local_token = note.token
    # uvicorn stops on SIGTERM and then raises it again, which would end the process before any
    # `finally` ran: as an exit instead, the note is withdrawn and the services are closed
    before = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with periodic.Schedule(services.cockpit, data_dir / "reports"):
            yield app_
    finally:
        signal.signal(signal.SIGTERM, before)
        running.withdraw(data_dir, note)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="监听地址。")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="端口。")] = 8000,
) -> None:
    """启动小宝：本地大模型服务（未设置 XIAOBAO_LLM_URL 时）+ API + 网页。"""
    import threading

    import uvicorn

    from xiaobao.voice.rehearsal import rehearse_in_background

    stop_rehearsal = threading.Event()
    try:
        with opened(ctx.obj) as services, model_running(services), served(services, host, port) as app_:
            console.print(f"[bold green]小宝已启动：http://{host}:{port}/[/bold green]  接口文档：http://{host}:{port}/docs")
            console.print(f"工作人员入口：http://{host}:{port}/staff/login")
            if not services.accounts.users():
                console.print("还没有工作人员账号，可用 [bold]xiaobao users add 用户名 --role admin[/bold] 创建。")
            mask_logs()
            services.engine.triage("政务服务中心办公时间")  # loads the word segmenter (1.4 s) and the rest before the first citizen
            threading.Thread(target=services.engine.warm_model, name="xiaobao-warm-model", daemon=True).start()
            if services.settings.voice:  # official replies' audio made ahead, at the lowest priority, progress in the log
                rehearse_in_background(lambda replies: speak_ahead(services.settings, replies, stop_rehearsal), services.kb, stop_rehearsal)
            # X-Forwarded-For is believed only from XIAOBAO_TRUSTED_PROXIES, by the app itself (api/middleware.py)
            try:
                uvicorn.run(app_, host=host, port=port, log_config=None, log_level="warning", proxy_headers=False)
            finally:
                stop_rehearsal.set()  # before the services close under it
    except typer.Exit:
        raise  # already said; click's Exit is a RuntimeError too, and was said again as "错误：2"
    except RuntimeError as exc:
        raise fail(str(exc)) from None


def speak_ahead(settings: Settings, replies: list[str], stop) -> None:
    """One pass of `serve`'s official-reply audio, in a child process (its own interpreter lock, the
    lowest priority); stopped when `stop` is set."""
    import multiprocessing
    import os

    spawn = multiprocessing.get_context("spawn")
    child = spawn.Process(target=_speak_ahead, args=(settings, replies, os.getpid()), name="xiaobao-rehearsal", daemon=True)
    child.start()
    os.setpriority(os.PRIO_PROCESS, child.pid, 19)  # at once: its imports and model load run at the lowest priority too
    while child.is_alive():
        if stop.wait(1):
            child.terminate()
    child.join()


def _speak_ahead(settings: Settings, replies: list[str], server: int) -> None:
    import logging
    import os
    import sys

    from xiaobao.voice.rehearsal import prepare

    def server_alive(*_) -> None:  # a server killed with SIGKILL cannot stop its child: the child stops itself
        if os.getppid() != server:
            sys.exit(0)

    with Services(settings) as services:
        done = prepare(services.speaker, replies, quietly=True, on_sentence=server_alive)
    logging.getLogger("xiaobao.voice.rehearsal").warning(
        "official replies' audio: %d sentences, %d made, %d ready, %d removed in %.0f s",
        done.sentences, done.made, done.ready, done.removed, done.seconds,
    )  # fmt: skip


@voice_app.command("prepare")
def voice_prepare(ctx: typer.Context) -> None:
    """提前合成知识库中全部官方答复口径（按原文逐句）的朗读音频，使其首句音频立即可得；已合成的跳过，
    已撤下或修改过的答复的旧音频删除。`xiaobao serve` 也会在后台以最低优先级做这件事，并每隔几分钟检查新发布的答复。"""
    from xiaobao.voice.rehearsal import official_replies, prepare

    settings = ctx.obj
    if not settings.voice:
        raise fail("语音功能未开启（XIAOBAO_VOICE=false）。")
    prepare_voice_models(settings)
    with opened(settings) as services:
        replies = official_replies(services.kb)
        with progress_bars() as bars:
            task = bars.add_task(f"合成 {len(replies)} 条官方答复的朗读音频（句）", total=None)
            done = prepare(services.speaker, replies, on_sentence=lambda n, total: bars.update(task, completed=n, total=total))
    console.print(
        f"官方答复 {len(replies)} 条，共 {done.sentences} 句：新合成 {done.made} 句，已有 {done.ready} 句，"
        f"删除过时音频 {done.removed} 句，用时 {done.seconds:.0f} 秒。"
    )


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="问题。")],
    user: Annotated[str | None, typer.Option(help="以哪个演示身份提问（如 demo-citizen-1；仅演示模式 XIAOBAO_DEMO_MODE=true）。")] = None,
) -> None:
    """在终端回答一个问题（需要时临时启动本地大模型）。"""
    from xiaobao.assistant.guard import BadMessage

    try:
        with opened(ctx.obj) as services, model_running(services):
            engine = services.engine
            session_id = engine.create_session(demo_ref=user, channel="cli")
            for kind, value in engine.stream(session_id, question):
                if kind == "sentence":
                    console.print(value, end="", style="dim")
            console.print()
            print_reply(value)
    except (BadMessage, RuntimeError) as exc:
        raise fail(str(exc)) from None


def print_reply(reply) -> None:
    console.print(reply.text)
    for c in reply.citations:
        console.print(f"  [{c['number']}] {c['citation']}", style="cyan")
    if reply.label:
        console.print(f"（{reply.label}）", style="yellow")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="要导入的文件或文件夹（md/txt/html/pdf/docx/jsonl）。")],
    collection: Annotated[str | None, typer.Option(help="导入到哪个知识集合（默认 knowledge）。")] = None,
) -> None:
    """导入知识：只重新嵌入变化的内容，删除已移除文件的片段。"""
    from xiaobao.operations.running import found

    running = found(ctx.obj.data_dir)
    if running is not None:
        if collection:
            raise fail(f"{served_note(ctx.obj)} 通过服务只能导入服务所用的知识集合；要导入到 {collection}，请先停止服务。")
        summary = ingest_through(running, paths)
    else:
        with opened(ctx.obj, collection) as services:
            summary = run_ingest(services, paths)
    print_summary(summary)


@contextmanager
def through_service(running):
    """An HTTP client to the service that holds the data directory, authenticated as the local
    operator by the token it left there; a service that does not answer is a clear error."""
    import httpx

    from xiaobao.api.deps import LOCAL_TOKEN

    http = httpx.Client(base_url=running.url, headers={LOCAL_TOKEN: running.token}, timeout=30)
    try:
        yield http
    except httpx.HTTPError as exc:
        raise fail(f"数据目录记录的小宝服务（进程 {running.pid}，{running.url}）没有响应：{exc}。服务可能正在启动，请稍后重试。") from None
    finally:
        http.close()


def ingest_through(running, paths: list[Path]):
    """Ingest through the running service (a background job there), showing its progress."""
    import time

    from xiaobao.ingest.loaders import Problem
    from xiaobao.ingest.pipeline import IngestSummary

    console.print(f"小宝服务正在运行（进程 {running.pid}），交给服务在后台导入……")
    with through_service(running) as http:
        started = http.post("/api/editor/ingest", json={"paths": [str(p.resolve()) for p in paths]})
        if started.status_code != 202:
            raise fail(started.json().get("detail", started.text))
        job = started.json()
        with progress_bars() as progress:
            files = progress.add_task("文件", total=job["files_total"])
            embedded = progress.add_task("新嵌入的片段", total=None)
            while job["status"] == "running":
                time.sleep(0.5)
                job = http.get(f"/api/editor/ingest/{job['id']}").raise_for_status().json()
                progress.update(files, completed=job["files_done"])
                progress.update(embedded, completed=job["embedded"])
    if job["status"] == "failed":
        raise fail(job["error"])
    data = job["summary"]
    problems = [Problem(Path(p["path"]), p["line"], p["message"]) for p in data.pop("problems")]
    return IngestSummary(**data, problems=problems)


@app.command()
def init(
    ctx: typer.Context,
    llm: Annotated[bool, typer.Option(help="同时准备本地大模型文件（合并分卷并校验）。")] = True,
    voice: Annotated[bool, typer.Option(help="同时准备语音合成和语音识别的模型文件（XIAOBAO_VOICE=false 时不准备）。")] = True,
) -> None:
    """准备模型，并在知识库为空时导入示例知识包（demo/）和示例政务数据（事项、人员、企业、政策、办件）。"""
    settings = ctx.obj
    with opened(settings) as services:
        kb = services.kb
        console.print(f"嵌入模型：{kb.embedder.model_id}（{kb.embedder.dim} 维）已就绪")
        if kb.index.count() == 0:
            console.print(f"知识库为空，导入示例知识包 {DEMO_KNOWLEDGE} …")
            print_summary(run_ingest(services, [DEMO_KNOWLEDGE]))
        else:
            console.print(f"知识库已有 {kb.index.count()} 个片段，跳过示例知识包。")
        added = seed_demo_services(services.db_engine, settings.material_templates)
        console.print(f"示例政务数据：新增 {added} 条（示例数据）。")
    if llm and not settings.llm_url:
        console.print(f"本地大模型：{prepare_local_model(settings)}")
    if voice and settings.voice:
        for name, path in prepare_voice_models(settings):
            console.print(f"{name}：{path}")


def seed_demo_services(db_engine, templates: Path | None = None) -> int:
    """The demo pack's service items, persons, enterprises, policies, applications, 一件事 bundles and
    material templates (sample data, loaded once; rows already there are kept; a template file whose
    content changed becomes the template's next version), then the templates of `templates`, if given."""
    from xiaobao.govdata.bundles import BundleError, Bundles
    from xiaobao.govdata.materials import TemplateError, Templates
    from xiaobao.govdata.records import SeedError, seed_applications, seed_records

    try:
        files = {"item": "items", "person": "persons", "enterprise": "enterprises", "policy": "policies", "address": "addresses"}
        added = sum(seed_records(db_engine, kind, DEMO_SERVICES / f"{name}.jsonl") for kind, name in files.items())
        added += Bundles(db_engine).seed(DEMO_PACK / "bundles")
        added += sum(Templates(db_engine).seed(folder) for folder in (DEMO_PACK / "templates", templates) if folder)
    except (SeedError, BundleError, TemplateError) as exc:
        raise fail(f"示例数据有误：{exc}") from None
    return added + seed_applications(db_engine, DEMO_SERVICES / "applications.jsonl")


def parse_date(value: str | None) -> dt.date | None:
    if value in (None, "", "all"):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"日期格式应为 YYYY-MM-DD：{value}") from None


def print_hits(query: str, hits) -> None:
    if not hits:
        console.print("没有找到相关内容。")
        return
    table = Table(title=f"“{query}”的检索结果", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("出处", min_width=16, overflow="fold")
    table.add_column("得分", justify="right")
    table.add_column("内容")
    for i, hit in enumerate(hits, start=1):
        payload = hit.payload
        status = "（已被取代）" if payload.get("status") == "superseded" else ""
        snippet = payload.get("answer") or payload.get("text", "")
        table.add_row(str(i), hit.citation + status, f"{hit.score:.4f}", snippet[:160] + ("…" if len(snippet) > 160 else ""))
    console.print(table)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str | None, typer.Argument(help="问题；不填则进入交互模式。")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="返回几条。")] = 5,
    doc_type: Annotated[list[str] | None, typer.Option("--type", help="只看某类：statute/guide/qa/record/document。")] = None,
    department: Annotated[list[str] | None, typer.Option(help="只看某部门。")] = None,
    item: Annotated[list[str] | None, typer.Option(help="只看某事项。")] = None,
    include_superseded: Annotated[bool, typer.Option(help="也检索已被新版本取代的法规。")] = False,
    on_date: Annotated[str | None, typer.Option("--date", help="只看这一天有效的内容（YYYY-MM-DD，默认今天；all 表示不限）。")] = None,
    collection: Annotated[str | None, typer.Option(help="知识集合。")] = None,
) -> None:
    """检索知识库，列出出处、得分和摘要。"""
    from xiaobao.knowledge.index import SearchFilter

    day = parse_date(on_date) if on_date is not None else dt.date.today()
    flt = SearchFilter(
        doc_types=doc_type or [], departments=department or [], items=item or [], include_superseded=include_superseded, on_date=day
    )
    with opened(ctx.obj, collection) as services:
        kb = services.kb
        if query is not None:
            if not query.strip():
                raise fail("问题不能为空。")
            print_hits(query, kb.retriever.search(query, k, flt))
            return
        console.print("输入问题后回车检索；输入空行或 Ctrl-D 退出。")
        while True:
            try:
                line = console.input("[bold]问题> [/bold]").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not line:
                break
            print_hits(line, kb.retriever.search(line, k, flt))


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    queries: Annotated[Path, typer.Option(help="问题文件（jsonl，格式同 shared/data/eval）。", exists=True, dir_okay=False)],
    corpus: Annotated[list[Path], typer.Option(help="语料文件或文件夹，可多次给出。", exists=True)],
    limit: Annotated[int | None, typer.Option(help="只评测前 N 个问题。")] = None,
    report: Annotated[Path | None, typer.Option(help="Markdown 报告路径（旁边生成同名 .png 图）。")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="机器可读的结果 JSON。")] = None,
    configs: Annotated[str | None, typer.Option(help="逗号分隔的配置名（默认全部）。")] = None,
) -> None:
    """在真实问题上评测各检索配置：recall@k、MRR@10、nDCG@10 与延迟。"""
    from xiaobao.eval.retrieval import run_retrieval_eval

    try:
        result = run_retrieval_eval(
            ctx.obj,
            queries,
            corpus,
            limit=limit,
            config_names=configs.split(",") if configs else None,
            ingest=run_ingest,
            console=console,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    result.print(console)
    remember(ctx.obj, "retrieval", result.summary())
    if report:
        result.write_markdown(report)
        console.print(f"报告已写入 {report}")
    if json_out:
        result.write_json(json_out)
        console.print(f"JSON 已写入 {json_out}")


@eval_app.command("answers")
def eval_answers(
    ctx: typer.Context,
    queries: Annotated[
        list[Path], typer.Option(help="问题文件（jsonl），可多次给出；expect=refuse 的记录计入超范围拒答率。", exists=True, dir_okay=False)
    ],
    corpus: Annotated[list[Path] | None, typer.Option(help="语料；不给则用当前知识库。", exists=True)] = None,
    limit: Annotated[int | None, typer.Option(help="每个文件只取前 N 个问题。")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """端到端评测：回答路径、引用正确率、句子支持率、超范围拒答率、首字时间。"""
    from xiaobao.eval.answers import run_answer_eval
    from xiaobao.eval.questions import load_questions
    from xiaobao.eval.retrieval import corpus_collection

    settings = ctx.obj
    try:
        cases = [case for path in queries for case in load_questions(path, limit)]
    except ValueError as exc:
        raise fail(str(exc)) from None
    try:
        with opened(settings, corpus_collection(corpus) if corpus else None) as services, model_running(services):
            if corpus:
                run_ingest(services, corpus)
            with progress_bars() as progress:
                task = progress.add_task("问题", total=len(cases))
                result = run_answer_eval(services.engine, cases, on_case=lambda case, reply: progress.advance(task))
    except typer.Exit:
        raise
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print_json(data=result)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
    keep(settings, "answers", result, json_out)


@eval_app.command("calibrate")
def eval_calibrate(
    ctx: typer.Context,
    answerable: Annotated[Path, typer.Option(help="能回答的问题（jsonl，question 字段）。", exists=True, dir_okay=False)],
    out_of_scope: Annotated[Path, typer.Option(help="超范围问题（jsonl）。", exists=True, dir_okay=False)],
    corpus: Annotated[list[Path], typer.Option(help="能回答的问题所对应的语料。", exists=True)],
    qa: Annotated[Path, typer.Option(help="用来校准原文答复阈值的答复口径（jsonl）。", exists=True, dir_okay=False)] = DEMO_KNOWLEDGE
    / "qa.jsonl",
    limit: Annotated[int, typer.Option(help="每个问题文件最多取多少个问题。")] = 300,
) -> None:
    """用数据校准两个阈值：证据阈值（拒答）与原文答复阈值。"""
    from xiaobao.eval.calibrate import evidence_threshold, verbatim_threshold
    from xiaobao.eval.questions import load_questions
    from xiaobao.eval.retrieval import corpus_collection

    try:
        inside = [q.text for q in load_questions(answerable, limit)]
        outside = [q.text for q in load_questions(out_of_scope, limit)]
    except ValueError as exc:
        raise fail(str(exc)) from None
    with opened(ctx.obj, corpus_collection(corpus)) as services:
        run_ingest(services, corpus)
        result = {
            "evidence": evidence_threshold(services.kb, inside, outside),
            "verbatim": verbatim_threshold(services.kb, qa, inside + outside),
        }
    console.print_json(data=result)
    remember(ctx.obj, "calibrate", result)


@eval_app.command("api")
def eval_api(
    ctx: typer.Context,
    qa: Annotated[Path, typer.Option(help="答复口径文件：其中的问法作为请求。", exists=True, dir_okay=False)] = DEMO_KNOWLEDGE / "qa.jsonl",
    rounds: Annotated[int, typer.Option(min=1, help="每个问法请求几轮。")] = 3,
    port: Annotated[int, typer.Option(min=1, max=65535, help="测试用端口。")] = 8765,
    stream: Annotated[
        int, typer.Option(min=0, help="另测 N 个需大模型生成的问题（流式）：首个可见内容、出处、首句核对通过、完成的时间。")
    ] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """经 HTTP 接口测原文答复路径的延迟（p50/p95），可选测流式生成路径。需要 xiaobao init 导入的示例知识。"""
    from xiaobao.eval.api_latency import generated_questions, measure, measure_stream, qa_phrasings
    from xiaobao.server import create_app

    # one client sends every request: budgets per client and session would throttle the measurement
    settings = ctx.obj.model_copy(update={"rate_limit_per_client": 0, "rate_limit_per_session": 0, "rate_limit_sessions_per_client": 0})
    with opened(settings) as services:
        app_ = create_app(services, with_ui=False)
        result = {"verbatim": measure(app_, qa_phrasings(qa), rounds, port)}
        if stream:
            with model_running(services):
                questions = generated_questions(services.engine, DEMO_KNOWLEDGE / "guides.jsonl")[:stream]
                services.engine.warm_model()  # as `serve` does at start
                result["streamed"] = measure_stream(app_, questions, port + 1)
    console.print_json(data=result)
    keep(settings, "api", result, json_out)


@eval_app.command("load")
def eval_load(
    ctx: typer.Context,
    sessions: Annotated[int, typer.Option(min=1, help="同时在线的模拟群众数。")] = 50,
    seconds: Annotated[float, typer.Option(min=1, help="压测时长（秒）。")] = 30.0,
    mix: Annotated[
        str, typer.Option(help="流量配比：verbatim（官方口径）、generated（需大模型生成）、handoff（转人工）、prereview（上传材料预审）。")
    ] = "verbatim=8,generated=1,handoff=1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="测试用端口。")] = 8768,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """并发压测：另起一个 xiaobao serve 进程，N 位模拟群众经 HTTP 接口提问，报告吞吐、各类请求的 p50/p95 与错误。

    需要 xiaobao init 导入的示例知识。"""
    import asyncio

    from xiaobao.assistant.router import route
    from xiaobao.eval.api_latency import generated_questions, qa_phrasings
    from xiaobao.eval.load import Load, run, served

    try:
        weights = {kind: float(weight) for kind, weight in (part.split("=") for part in mix.split(","))}
    except ValueError:
        raise fail(f"--mix 格式应为 verbatim=8,generated=1,handoff=1：{mix}") from None
    if set(weights) - {"verbatim", "generated", "handoff", "prereview"} or not any(weights.values()):
        raise fail("--mix 只能包含 verbatim、generated、handoff、prereview，且至少一项大于 0")
    settings = ctx.obj
    load = Load(sessions, seconds, mix={k: v for k, v in weights.items() if v})
    with opened(settings) as services:
        if services.kb.index.count() == 0:
            raise fail("知识库为空：请先运行 xiaobao init")
        engine = services.engine
        # what each kind of citizen asks: demo Q&A phrasings that get their official reply verbatim,
        # and questions about the demo guides that retrieval finds evidence for but no official reply
        verbatim = [
            p for p in qa_phrasings(DEMO_KNOWLEDGE / "qa.jsonl") if route(p).intent == "knowledge" and engine.triage(p)[1] == "verbatim"
        ]
        generated = generated_questions(engine, DEMO_KNOWLEDGE / "guides.jsonl")
        # prereview citizens upload the scanned materials of labelled pre-review cases (OCR in the review workers)
        cases = sorted(p for p in Path("eval/data/prereview").iterdir() if (p / "case.json").is_file())[:20]
        uploads = [
            (json.loads((c / "case.json").read_text(encoding="utf-8"))["item_id"],
             [("files", (f.name, f.read_bytes())) for f in sorted(c.iterdir()) if f.suffix == ".png"])
            for c in cases
        ]  # fmt: skip
        questions = {"verbatim": verbatim, "generated": generated, "handoff": verbatim, "prereview": [u for u in uploads if u[1]]}
        if weights.get("generated") and not generated:
            raise fail("示例知识中找不到需要生成回答的问题")
    # the service runs in its own process (as in production), so the simulated citizens do not share
    # its interpreter; every one of them comes from this address, so request budgets are off there
    with console.status(f"启动服务并让 {sessions} 位模拟群众压测 {seconds:g} 秒…"), served(settings, port) as url:
        result = asyncio.run(run(url, load, questions))
    console.print_json(data=result)
    keep(settings, "load", result, json_out)


@eval_app.command("injection")
def eval_injection(
    ctx: typer.Context,
    attacks: Annotated[Path, typer.Option(help="攻击用例（jsonl）。", exists=True, dir_okay=False)] = Path("eval/data/injection.jsonl"),
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """提示注入评测：在临时数据目录（示例知识 + 示例政务数据）中用真实大模型逐条攻击，按类别报告通过率。"""
    import tempfile

    from xiaobao.eval.injection import load_attacks, run_suite

    cases = load_attacks(attacks)
    with tempfile.TemporaryDirectory(prefix="xiaobao-injection-") as tmp:
        # the attacks write documents and entries: a scratch copy of the demo, never the live knowledge
        settings = ctx.obj.model_copy(update={"data_dir": Path(tmp), "demo_mode": True})
        with opened(settings) as services, model_running(services, ctx.obj):
            run_ingest(services, [DEMO_KNOWLEDGE])
            seed_demo_services(services.db_engine)
            with progress_bars() as progress:
                task = progress.add_task("攻击用例", total=len(cases))
                result = run_suite(services, cases, Path(tmp) / "scratch", on_attack=lambda *_: progress.advance(task))
    table = Table("类别", "用例", "通过", "通过率", title=f"提示注入：{result['n']} 条，通过率 {result['pass_rate']:.1%}")
    for category, row in result["per_category"].items():
        table.add_row(category, str(row["n"]), str(row["passed"]), f"{row['pass_rate']:.0%}")
    console.print(table)
    for failure in result["failures"]:
        console.print(f"[red]未通过[/red] {failure['id']}：{failure['why']}")
    keep(ctx.obj, "injection", result, json_out)


@eval_app.command("prereview")
def eval_prereview(
    ctx: typer.Context,
    cases: Annotated[Path, typer.Option(help="项目自己的案例目录：每个案例一个含 case.json 的文件夹。", file_okay=False)] = Path(
        "eval/data/prereview"
    ),
    independent: Annotated[Path, typer.Option(help="独立评测集目录（没有案例时先生成 120 个）。", file_okay=False)] = Path(
        "var/prereview_field"
    ),
    which: Annotated[
        str, typer.Option("--set", help="评测集：original（--cases）、independent（按真实版式独立生成，--independent）、both（两者并列）。")
    ] = "original",
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """材料预审评测：整体准确率、逐项准确率、干净案例误判不通过数、各类缺陷的精确率与召回率。"""
    from xiaobao.eval.prereview import evaluate, independent_set

    if which not in ("original", "independent", "both"):
        raise fail("--set 只能是 original、independent 或 both")
    try:
        folders = {"original": cases} if which != "independent" else {}
        if which != "original":
            folders["independent"] = independent_set(independent)
    except OSError as exc:  # the scans are rendered with a CJK font
        raise fail(f"无法生成独立评测集：{exc}（需要 fonts-wqy-microhei 字体）") from None
    settings = ctx.obj
    services = Services(settings)
    seed_demo_services(services.db_engine)
    results = {}
    with services, progress_bars() as progress:
        for name, folder in folders.items():
            task = progress.add_task(f"预审案例（{name}）", total=sum(1 for p in folder.glob("*/case.json")))
            try:
                results[name] = evaluate(folder, services.directory, services.reviewer, on_case=lambda task=task: progress.advance(task))
            except (FileNotFoundError, ValueError) as exc:
                raise fail(str(exc)) from None
    table = Table("", *results, title="材料预审")
    for label, show in (("案例数", lambda r: str(r["n"])), ("整案全对", lambda r: f"{r['accuracy']:.1%}"),
                        ("逐项准确率", lambda r: f"{r['point_accuracy']:.1%}（{r['points']} 项）"),
                        ("干净案例误判不通过（项）", lambda r: str(r["clean_false_fails"])),
                        ("平均每案（秒）", lambda r: str(r["seconds_per_case"]))):  # fmt: skip
        table.add_row(label, *(show(r) for r in results.values()))
    for defect in sorted({d for r in results.values() for d in r["per_defect"]}):
        rows = [r["per_defect"].get(defect) for r in results.values()]
        table.add_row(f"{defect} 精确率/召回率", *(_share(row, "precision") + " / " + _share(row, "recall") for row in rows))
    console.print(table)
    for name, r in results.items():
        console.print(f"{name}：错误案例 {', '.join(m['case'] for m in r['misses']) or '无'}")
    keep(settings, "prereview", results.get(which, results), json_out)


def _share(row: dict | None, key: str) -> str:
    return f"{row[key]:.1%}" if row and row[key] is not None else "—"


@eval_app.command("prefill")
def eval_prefill(ctx: typer.Context, json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None) -> None:
    """智能预填评测：所有示例表单 × 示例申请人的自动填充率。"""
    from xiaobao.eval.prefill import evaluate

    with Services(ctx.obj) as services:
        seed_demo_services(services.db_engine)
        result = evaluate(services.directory)
    table = Table("事项", "表单数", "字段", "自动填充", "填充率", "需申请人填写", title=f"智能预填：总填充率 {result['fill_rate']:.1%}")
    for row in result["per_item"].values():
        missing = "、".join(f"{k}×{v}" for k, v in row["missing"].items())
        table.add_row(row["item"], str(row["forms"]), str(row["fields"]), str(row["filled"]), f"{row['fill_rate']:.1%}", missing)
    console.print(table)
    console.print(
        f"{result['forms']} 张表单，{result['fields']} 个字段，自动填充 {result['filled']} 个；"
        f"填充率 ≥ 80% 的表单占 {result['forms_at_least_80']:.1%}"
    )
    keep(ctx.obj, "prefill", result, json_out)


@eval_app.command("ops")
def eval_ops(
    ctx: typer.Context,
    turns: Annotated[int, typer.Option(min=1000, help="造多少条对话记录（默认 100 万）。")] = 1_000_000,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """运营指标的规模测试：在临时数据库中造 N 条对话记录，测运营报表的查询时间（目标 2 秒内）。"""
    from xiaobao.eval.ops_bench import run

    with progress_bars() as progress:
        task = progress.add_task("写入对话记录", total=turns)
        result = run(ctx.obj, turns, on_progress=lambda n: progress.advance(task, n))
    table = Table("统计区间", "回答数", "最快（秒）", "最慢（秒）", title=f"运营报表：{result['rows']['turns']:,} 条对话记录")
    for name, row in result["report"].items():
        table.add_row(name, f"{row['answers']:,}", str(row["best_s"]), str(row["worst_s"]))
    console.print(table)
    console.print(f"写入用时 {result['seed_seconds']} 秒，数据库 {result['database_mb']} MB")
    keep(ctx.obj, "ops", result, json_out)


@eval_app.command("cockpit")
def eval_cockpit(
    ctx: typer.Context,
    turns_per_month: Annotated[int, typer.Option(min=1000, help="每月对话记录数（默认 100 万）。")] = 1_000_000,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """数据驾驶舱的规模测试：造一个月的对话与办件并按日汇总，汇总行复制成一年，测全年报表的时间（目标 2 秒内）。"""
    from xiaobao.eval.ops_bench import run_cockpit

    with progress_bars() as progress:
        task = progress.add_task("写入一个月的对话记录", total=turns_per_month)
        result = run_cockpit(ctx.obj, turns_per_month, on_progress=lambda n: progress.advance(task, n))
    title = f"数据驾驶舱：每月 {turns_per_month:,} 条对话记录，一年"
    table = Table("统计区间", "回答数", "最快（秒）", "最慢（秒）", "CPU（秒）", title=title)
    for name, row in result["report"].items():
        table.add_row(name, f"{row['answers']:,}", str(row["best_s"]), str(row["worst_s"]), str(row["cpu_s"]))
    console.print(table)
    first, hourly = result["refresh_seconds"].values()
    console.print(f"日汇总用时：首次（一个月）{first} 秒，每小时（近 7 天）{hourly} 秒")
    keep(ctx.obj, "cockpit", result, json_out)


@eval_app.command("handoff")
def eval_handoff(
    ctx: typer.Context,
    citizens: Annotated[int, typer.Option(min=1, help="模拟的转人工群众数。")] = 60,
    helpers: Annotated[int, typer.Option(min=1, help="模拟的在线帮办人数。")] = 4,
    arrival: Annotated[float, typer.Option(min=0, help="群众在多少秒内随机到达。")] = 60.0,
    typing_min: Annotated[float, typer.Option(min=0, help="帮办阅读并输入首条回复的最短秒数。")] = 5.0,
    typing_max: Annotated[float, typer.Option(min=0, help="……最长秒数。")] = 15.0,
    poll: Annotated[float, typer.Option(min=0.1, help="工作台与对话页的轮询间隔（秒）。")] = 2.0,
    port: Annotated[int, typer.Option(min=1, max=65535, help="测试用端口。")] = 8766,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON；同名 .png 为首次响应时间分布图。")] = None,
) -> None:
    """模拟群众与帮办，经 HTTP 测转人工的首次响应时间分布（排队 → 帮办看到 → 接入 → 回复 → 群众看到）。"""
    from xiaobao.eval.handoff_bench import Scenario, plot, run_benchmark

    if typing_max < typing_min:
        raise fail("--typing-max 不能小于 --typing-min")
    scenario = Scenario(citizens, helpers, arrival, poll, poll, (typing_min, typing_max))
    with console.status(f"模拟 {citizens} 位群众、{helpers} 位帮办…"):
        result = run_benchmark(ctx.obj, scenario, port)
    shown = {k: v for k, v in result.items() if k != "first_responses_s"}
    console.print_json(data=shown)
    keep(ctx.obj, "handoff", result, json_out)
    if json_out:
        plot(result, json_out.with_suffix(".png"))


@app.command()
def bench(
    ctx: typer.Context,
    corpus: Annotated[list[Path], typer.Option(help="语料文件夹（默认完整法规语料）。", exists=True)],
    queries: Annotated[Path, typer.Option(help="用于测检索延迟的问题文件。", exists=True, dir_okay=False)],
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
    cold: Annotated[bool, typer.Option(help="清空嵌入缓存，测冷启动导入。")] = True,
) -> None:
    """基准测试：导入吞吐（冷/热）、检索延迟与内存峰值。"""
    from xiaobao.eval.bench import run_bench

    result = run_bench(ctx.obj, corpus, queries, cold=cold, ingest=run_ingest, console=console)
    console.print_json(data=result)
    if json_out:
        write_json(json_out, result)


def open_accounts(settings: Settings):
    return Services(settings).accounts


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="登录用户名（小写字母、数字、_ . -）。")],
    role: Annotated[str, typer.Option(help="角色：helper（线上帮办）、editor（知识编辑）、admin（管理员）。")],
    name: Annotated[str | None, typer.Option(help="显示的姓名（群众在对话中看到，如“张三”）。")] = None,
    password: Annotated[
        str, typer.Option(prompt="密码", hide_input=True, confirmation_prompt="再输入一次", help="至少 8 位；不填则提示输入。")
    ] = "",
) -> None:
    """新增工作人员账号。"""
    from xiaobao.identity.accounts import AccountError

    try:
        staff = open_accounts(ctx.obj).add(username, password, role, name)
    except AccountError as exc:
        raise fail(str(exc)) from None
    console.print(f"已创建 {staff.username}（{staff.to_dict()['role_name']}）。登录：/staff/login")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """列出工作人员账号。"""
    table = Table("用户名", "姓名", "角色", "状态", "最近在线")
    for user in open_accounts(ctx.obj).users():
        state = "正常" if user["active"] else "已停用"
        table.add_row(user["username"], user["display_name"], user["role_name"], state, user["last_seen_at"] or "—")
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="用户名。")],
    password: Annotated[str, typer.Option(prompt="新密码", hide_input=True, confirmation_prompt="再输入一次", help="至少 8 位。")] = "",
) -> None:
    """重设密码（该账号已有的登录随之失效）。"""
    from xiaobao.identity.accounts import AccountError

    try:
        open_accounts(ctx.obj).set_password(username, password)
    except AccountError as exc:
        raise fail(str(exc)) from None
    console.print(f"已重设 {username} 的密码。")


def switch_account(settings: Settings, username: str, active: bool) -> None:
    from xiaobao.identity.accounts import AccountError

    try:
        open_accounts(settings).set_active(username, active)
    except AccountError as exc:
        raise fail(str(exc)) from None


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="用户名。")]) -> None:
    """停用账号：不能再登录，已有的登录立即失效（记入审计日志）。"""
    switch_account(ctx.obj, username, False)
    console.print(f"已停用 {username}，该账号已有的登录随之失效。")


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="用户名。")]) -> None:
    """重新启用账号，并解除因多次输错密码而暂停的登录（记入审计日志）。"""
    switch_account(ctx.obj, username, True)
    console.print(f"已启用 {username}。")


@app.command("backup")
def backup_command(ctx: typer.Context, target: Annotated[Path, typer.Argument(help="备份到这个（空）目录。")]) -> None:
    """备份数据目录：数据库与嵌入缓存在线复制（服务可以继续运行），索引在服务停止时一并复制。"""
    from xiaobao.operations.backup import BackupError, backup

    try:
        done = backup(ctx.obj, target)
    except BackupError as exc:
        raise fail(str(exc)) from None
    console.print(f"已备份到 {target}：数据库 ✓，索引：{done['index']}")


@app.command("restore")
def restore_command(ctx: typer.Context, source: Annotated[Path, typer.Argument(help="备份目录。", exists=True, file_okay=False)]) -> None:
    """从备份恢复到（空的）数据目录；索引没有备份时，恢复后用 xiaobao ingest 重新导入知识。"""
    from xiaobao.operations.backup import BackupError, restore

    try:
        done = restore(ctx.obj, source)
    except BackupError as exc:
        raise fail(str(exc)) from None
    console.print(f"已从 {source}（{done['at'][:19]}）恢复到 {ctx.obj.data_dir}；索引：{done['index']}")


@eval_app.command("answerability")
def eval_answerability(
    ctx: typer.Context,
    queries: Annotated[Path | None, typer.Option(help="带标准答案的问题（jsonl，默认 shared/data 的 bj-faq-dev）。")] = None,
    corpus: Annotated[list[Path] | None, typer.Option(help="答案语料（默认 shared/data 的 bj-faq 答案）。")] = None,
    limit: Annotated[int | None, typer.Option(help="只用前 N 个问题。")] = None,
    write_model: Annotated[bool, typer.Option("--write-model", help="把拟合的模型写入软件包（assistant/answerability.json）。")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="模型 JSON 另存到此处。")] = None,
) -> None:
    """拟合可答性模型（留出负例，按部门划分训练/留出），阈值按训练部门的误答率目标选定。"""
    from xiaobao.eval.answerability import CORPUS, QUERIES, collect, fit
    from xiaobao.eval.answerability import write_model as save
    from xiaobao.knowledge.lexical import Tokenizer

    queries, corpus = queries or QUERIES, corpus or [CORPUS]
    if not queries.exists() or not all(p.exists() for p in corpus):
        raise fail(f"找不到数据：{queries} / {corpus}（需要 ../shared/data）")
    with progress_bars() as progress:
        task = progress.add_task("检索问题", total=None)
        cases, embedder = collect(ctx.obj, queries, corpus, limit, ingest=run_ingest, on_case=lambda case: progress.advance(task))
    model = fit(Tokenizer(ctx.obj.cache_dir), cases, embedder)
    console.print_json(data=model.to_dict())
    if write_model:
        console.print(f"模型已写入 {save(model)}")
    if json_out:
        save(model, json_out)
        console.print(f"JSON 已写入 {json_out}")


@eval_app.command("judge")
def eval_judge(
    ctx: typer.Context,
    each: Annotated[int, typer.Option(min=10, help="训练部门抽取的问题数：答案在库、答案移出各这么多。")] = 120,
    held_out_each: Annotated[int, typer.Option(min=0, help="留出部门抽取的问题数（各这么多；0：不评留出）。")] = 100,
    write_model: Annotated[bool, typer.Option("--write-model", help="把拟合的复核规则写入软件包（assistant/judge.json）。")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON（旁边生成同名 .png 图）。")] = None,
) -> None:
    """拟合并评测大模型复核（资料是否回答这个问题）：用真实本地大模型，权重与阈值只在训练部门上选定，留出部门与只看 P 的决策对比。"""
    from xiaobao.eval.answerability import CORPUS, QUERIES
    from xiaobao.eval.judge import plot, run_judge_eval
    from xiaobao.eval.judge import write_model as save
    from xiaobao.eval.results import write

    if not QUERIES.exists() or not CORPUS.exists():
        raise fail(f"找不到数据：{QUERIES} / {CORPUS}（需要 ../shared/data）")
    try:
        with progress_bars() as progress:
            task = progress.add_task("大模型复核", total=2 * (each + held_out_each))
            fitted, result = run_judge_eval(
                ctx.obj, each, held_out_each, model_running, ingest=run_ingest, on_case=lambda row: progress.advance(task)
            )
    except ValueError as exc:
        raise fail(str(exc)) from None
    rule = f"logit(P) + {fitted.weight}·verdict ≥ {fitted.threshold}"
    table = Table(title=f"大模型复核：{rule}（P 在 [{fitted.floor}, {fitted.sure}) 时询问）")
    metrics = ["correct_when_present", "wrong_when_present", "refused_answerable", "false_answer_rate"]
    for col in ("split", "rule", *metrics):
        table.add_column(col)
    for name, split in result["splits"].items():
        for decided_by in ("p_alone", "with_judge"):
            table.add_row(name, decided_by, *(str(split["measured"][decided_by][m]) for m in metrics))
    console.print(table)
    if write_model:
        console.print(f"复核规则已写入 {save(fitted)}")
    if json_out:
        chart = write(result, json_out, plot)
        console.print(f"JSON 已写入 {json_out}，图：{chart}")


@eval_app.command("truth")
def eval_truth(
    ctx: typer.Context,
    queries: Annotated[Path | None, typer.Option(help="带标准答案的问题（jsonl，默认 shared/data 的 bj-faq-dev）。")] = None,
    corpus: Annotated[list[Path] | None, typer.Option(help="答案语料（默认 shared/data 的 bj-faq 答案）。")] = None,
    out_of_scope: Annotated[Path | None, typer.Option(help="超范围问题（jsonl，默认 eval/data/out_of_scope.jsonl）。")] = None,
    limit: Annotated[int | None, typer.Option(help="只评测前 N 个问题。")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON（旁边生成同名 .png 图）。")] = None,
    end_to_end: Annotated[
        int, typer.Option(min=0, help="改为整条链路（真实大模型）评测留出部门的前 N 个问题：路径、是否引用标准答案、首句时间。")
    ] = 0,
) -> None:
    """留出评测（只看决策，不调用大模型）：答案在/不在知识库时，答对、答错、该答未答、误答率，以及超范围拒答率。"""
    from xiaobao.eval.answerability import CORPUS, QUERIES
    from xiaobao.eval.results import write
    from xiaobao.eval.truth import OUT_OF_SCOPE, plot, run_end_to_end, run_truth_eval

    queries, corpus = queries or QUERIES, corpus or [CORPUS]
    if not queries.exists() or not all(p.exists() for p in corpus):
        raise fail(f"找不到数据：{queries} / {corpus}（需要 ../shared/data）")
    if end_to_end:
        with progress_bars() as progress:
            task = progress.add_task("整条链路", total=end_to_end)
            advance = lambda row: progress.advance(task)  # noqa: E731
            result = run_end_to_end(ctx.obj, end_to_end, queries, corpus, run_ingest, advance, model_running)
        console.print_json(data={k: v for k, v in result.items() if k != "rows"})
        keep(ctx.obj, "truth_end_to_end", result, json_out)
        return
    try:
        with progress_bars() as progress:
            task = progress.add_task("检索问题", total=None)
            advance = lambda case: progress.advance(task)  # noqa: E731
            result = run_truth_eval(ctx.obj, queries, corpus, out_of_scope or OUT_OF_SCOPE, limit, ingest=run_ingest, on_case=advance)
    except ValueError as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"留出评测（P ≥ {result['thresholds']['answer_probability']}）")
    metrics = ["questions", "correct_when_present", "wrong_when_present", "refused_answerable", "false_answer_rate"]
    metrics += ["recall@1_fused", "recall@1_reranked"]
    for col in ("split", *metrics):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name, scores in result["splits"].items():
        table.add_row(name, *(str(scores[m]) for m in metrics))
    console.print(table)
    console.print(f"超范围拒答率：{result['out_of_scope']['refused']}（{result['out_of_scope']['questions']} 个问题）")
    remember(ctx.obj, "truth", {k: v for k, v in result.items() if k != "curve"})
    if json_out:
        chart = write(result, json_out, plot)
        console.print(f"JSON 已写入 {json_out}，图：{chart}")


@eval_app.command("routing")
def eval_routing(
    ctx: typer.Context,
    training: Annotated[Path | None, typer.Option(help="训练集（jsonl，默认 eval/data/routing-training.jsonl）。")] = None,
    evaluation: Annotated[Path | None, typer.Option(help="评测集（jsonl，默认 eval/data/routing-evaluation-5.jsonl，无则不评）。")] = None,
    write_model: Annotated[bool, typer.Option("--write-model", help="在训练集上重新拟合分类器，写入 assistant/routing.json。")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON（旁边生成同名 .png 图）。")] = None,
) -> None:
    """意图路由评测：仅规则与最终路由（规则 + 分类器）在训练集和评测集上的准确率、各意图精确率/召回率、知识问题被误送工具的比例。"""
    from xiaobao.eval.results import write
    from xiaobao.eval.routing import EVALUATION, TRAINING, fit, load, plot, run_routing_eval, summary
    from xiaobao.eval.routing import write_model as save

    training, evaluation = training or TRAINING, evaluation or EVALUATION
    try:
        classifier = None
        if write_model:
            with console.status("拟合路由分类器（5 折交叉验证选阈值）…"):
                classifier = fit(load(training))
            console.print(f"分类器已写入 {save(classifier)}（阈值 P ≥ {classifier.threshold}，否决 P(知识) ≥ {classifier.veto}）")
        result = run_routing_eval(classifier, training, evaluation)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    table = Table("数据集", "路由", "条数", "准确率", "知识→工具", "工具→知识", "参数正确", title="意图路由")
    for name, runs in result["sets"].items():
        for router, s in runs.items():
            away = f"{s['knowledge_to_tool']}（{s['knowledge_to_tool_rate']:.1%}）"
            args = f"{s['arguments']['correct']}/{s['arguments']['n']}"
            table.add_row(name, router, str(s["n"]), f"{s['accuracy']:.1%}", away, f"{s['tool_to_knowledge_rate']:.1%}", args)
    console.print(table)
    remember(ctx.obj, "routing", summary(result))
    if json_out:
        chart = write(result, json_out, plot)
        console.print(f"JSON 已写入 {json_out}，图：{chart}")


@eval_app.command("verbatim")
def eval_verbatim(
    ctx: typer.Context,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON（旁边生成同名 .png 图）。")] = None,
) -> None:
    """答复口径原文答复评测：相似问法能否拿到原文答复、近似但不同的问题是否被误给原文（调参集与评测集分列）。

    需要 xiaobao init 导入的示例知识。"""
    from xiaobao.eval.results import write
    from xiaobao.eval.verbatim import by_engine, by_service, leaving_out, plot, run_verbatim_eval
    from xiaobao.operations.running import found

    if running := found(ctx.obj.data_dir):  # the service holds the index: ask it (its own decision)
        console.print(f"小宝服务正在运行（进程 {running.pid}），通过服务评测……")
        with through_service(running) as http:
            result = run_verbatim_eval(by_service(http))  # entries cannot be left out of a running service
    else:
        with opened(ctx.obj) as services:
            result = run_verbatim_eval(by_engine(services.engine), left_out=leaving_out(services.engine))
    table = Table("数据集", "相似问法", "原文答复正确", "答错条目", "近似问题", "误给原文", "删去条目后误给原文", title="答复口径原文答复")
    for name, s in result["sets"].items():
        rates = (f"{s['verbatim_right']:.1%}", f"{s['verbatim_wrong_entry']:.1%}", str(s["near_misses"]), f"{s['false_verbatim']:.1%}")
        left = f"{s['false_verbatim_left_out']:.1%}" if "false_verbatim_left_out" in s else "未测（服务运行中）"
        table.add_row(name, str(s["paraphrases"]), *rates, left)
    console.print(table)
    for name, s in result["sets"].items():
        for row in s["rows"]:
            if not row["ok"]:
                console.print(f"  [{name}] {row['question']} → {row['decision']} {row['given'] or ''}（应为 {row['expect'] or '非原文'}）")
            if row.get("given_left_out"):
                console.print(f"  [{name}] 删去 {row['expect']} 后：{row['question']} → 误给 {row['given_left_out']}")
    remember(ctx.obj, "verbatim", {name: {k: v for k, v in s.items() if k != "rows"} for name, s in result["sets"].items()})
    if json_out:
        console.print(f"JSON 已写入 {json_out}，图：{write(result, json_out, plot)}")


catalogue_app = typer.Typer(help="办事事项目录：导入已发布的办事指南。", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import")
def catalogue_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="办事指南文件（jsonl，一行一个事项，见 docs/SERVICES.md）。", exists=True, dir_okay=False)],
    region: Annotated[str, typer.Option(help="指南所属地区（如 广东省），回答时注明，不当作宝山区的规定。")],
) -> None:
    """导入办事事项目录：新增或更新事项（按事项编号），示例事项保持不变，坏行报告行号后跳过。"""
    from xiaobao.govdata.catalogue import CatalogueError, import_catalogue

    total = sum(1 for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip())
    with Services(ctx.obj) as services, progress_bars() as progress:
        task = progress.add_task("事项", total=total)
        try:
            summary = import_catalogue(services.db_engine, path, region, on_item=lambda: progress.advance(task))
        except CatalogueError as exc:
            raise fail(str(exc)) from None
    console.print(
        f"读取 {summary.read} 个事项：新增 {summary.added}，更新 {summary.updated}，未变 {summary.unchanged}，"
        f"与示例事项同编号而保留示例 {summary.kept_sample}；有申请材料 {summary.with_materials}，有受理条件 {summary.with_conditions}。"
    )
    for error in summary.errors[:20]:
        console.print(f"[red]跳过[/red] {error}")
    if len(summary.errors) > 20:
        console.print(f"……另有 {len(summary.errors) - 20} 行有误。")
    if summary.errors:
        raise typer.Exit(1)


@eval_app.command("materials")
def eval_materials(
    ctx: typer.Context,
    cases: Annotated[Path | None, typer.Option(help="标注集（jsonl，默认 eval/data/materials-cases.jsonl）。")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="结果 JSON。")] = None,
) -> None:
    """申请材料自动生成评测：字段准确率（值与数据来源都对）、整份材料全对、向申请人提问、冲突提示，完整材料再经预审。"""
    from xiaobao.eval.materials import CASES, evaluate, load

    try:
        labelled = load(cases or CASES)
    except (OSError, ValueError) as exc:
        raise fail(f"无法读取标注集：{exc}") from None
    import tempfile

    with (
        tempfile.TemporaryDirectory(prefix="xiaobao-materials-") as tmp,
        Services(ctx.obj) as services,
        # the cases' library materials (another applicant's too) go into a scratch library, never the live one
        Services(ctx.obj.model_copy(update={"data_dir": Path(tmp), "database_url": None})) as scratch,
        progress_bars() as progress,
    ):
        seed_demo_services(services.db_engine)
        task = progress.add_task("材料", total=len(labelled))
        result = evaluate(
            labelled, services.templates.all(), services.directory, services.reviewer, lambda: progress.advance(task), scratch.library
        )
    table = Table("情形", "案例", "整份全对", title=f"申请材料生成：字段准确率 {result['field_accuracy']:.1%}")
    for scenario, row in result["by_scenario"].items():
        table.add_row(scenario, str(row["cases"]), str(row["fully_correct"]))
    console.print(table)
    console.print(
        f"{result['cases']} 份材料，{result['fields']} 个字段；整份全对 {result['documents_fully_correct']}；"
        f"来源错误 {result['filled_from_wrong_source']}；取自上传识别 {result['filled_from_uploads']}；"
        f"向申请人提问 {result['asked']}（应问 {result['asked_correctly']}）；"
        f"冲突提示 {result['conflicts_reported']}/{result['conflicts_expected']}；"
        f"完整材料预审通过 DOCX {result['passed_pre_review']}/{result['complete_documents_reviewed']}，"
        f"PDF {result['passed_pre_review_pdf']}/{result['complete_documents_reviewed']}"
    )
    keep(ctx.obj, "materials", result, json_out)
