"""The citizens' chat page (Gradio). The conversation shown is always the stored one — one bubble per
turn in the order it was stored, with the label at the top — plus the answer still being written, so
a reply, a hand-off notice and a helper's message can never overwrite or lose one another, whatever
the order of clicks and streaming. The session's id and key stay in the browser (localStorage): a
reload brings back the conversation and the hand-off. Helpers' replies, notices and the place in the
queue arrive pushed (a waiter woken by staff/live.py after each commit), with a slow poll as fallback.
Citations open to show the cited text, or for an official reply (答复口径) the entry's question,
department, effective date and version. A generated material's turn carries its download links (DOCX,
PDF), short-lived links signed by the server (the session key never goes into a URL), each with the
pre-review result of that very document."""

from __future__ import annotations

import html
import os
from pathlib import Path

# The service runs offline: no usage analytics calls home, and the theme uses local fonts rather
# than Google Fonts.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402
from fastapi.concurrency import run_in_threadpool  # noqa: E402

from xiaobao.assistant.engine import SessionNotFound  # noqa: E402
from xiaobao.assistant.guard import BadMessage  # noqa: E402
from xiaobao.assistant.store import cited_as  # noqa: E402
from xiaobao.assistant.tools import RENDER, signed_download, verdict  # noqa: E402
from xiaobao.govdata.records import sample_identities  # noqa: E402
from xiaobao.prereview.review import ReviewBusy, UploadRejected  # noqa: E402
from xiaobao.services import Services  # noqa: E402
from xiaobao.staff.helpdesk import Conflict, DeskError  # noqa: E402
from xiaobao.staff.live import DESK, session_key  # noqa: E402
from xiaobao.ui import avatar  # noqa: E402

THEME = gr.themes.Default(font=["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"], font_mono=["monospace"])
INTRO = "您好，我是宝山区“智慧好办”智能助手小宝，可以问我办事指南、政策法规和办件进度。"
DEMO_BANNER = "**演示模式**：本页使用示例数据，可选择示例身份；正式环境的身份只来自“一网通办”统一身份认证登录。"
WRITING = "小宝正在查找资料…"
# the chat fills the screen above the input row, so 发送 and 转人工 stay in view on a phone; 大字模式
# (适老化) enlarges the text and strengthens contrast
CSS = """
#chat { height: calc(100dvh - 330px) !important; min-height: 240px; }
#chat .label { font-weight: 600; }
#chat .message-row:has(.not-rated) + .message-buttons { display: none; }  /* only Xiaobao's answers are rated */
#ask-row, #waiting-row { flex-wrap: nowrap !important; gap: 6px; align-items: center; }
#ask-row button { min-width: 64px !important; flex: 0 0 auto !important; }
#waiting { border-left: 4px solid #d97706; padding: 4px 10px; background: #fffbeb; font-size: 0.9rem; }
@media (max-width: 640px) {
  #chat { height: calc(100dvh - 250px) !important; }
  body:has(#waiting) #chat { height: calc(100dvh - 360px) !important; }
  body:has(#waiting) .gradio-container { padding-bottom: 230px !important; }
  #title h2 { font-size: 1.05rem; margin: 0; }
  #demo-mode { font-size: 0.75rem; }
  .gradio-container { padding: 6px 6px 110px !important; }
  .gradio-container > .main { padding-left: 0 !important; padding-right: 0 !important; }  /* Gradio's 32 px a side */
  /* above Gradio's block labels (z-index 40), which scrolled under the dock showed through it */
  #dock { position: fixed; left: 0; right: 0; bottom: 0; z-index: 50; padding: 6px;
    background: var(--body-background-fill); box-shadow: 0 -2px 6px rgba(0, 0, 0, 0.08); }
  #question textarea { min-height: 3.4em; }  /* two lines: the example question in the placeholder is read whole */
}
body.large #chat .message-content, body.large #chat .prose *, body.large #waiting *, body.large textarea, body.large button {
  font-size: 1.3rem !important; line-height: 1.6 !important; }
body.large #chat .message { color: #000 !important; border: 2px solid #000; }
"""
# Gradio words its own buttons and labels in the browser's language ("Like", "bot's message: …" in an
# English browser), says some screen-reader words in English in every browser ("File upload") and titles
# its notices "Warning": this page speaks Chinese to everyone, so a script rewords them as they appear,
# and hides the chat's clear button (the conversation is the stored one; clearing the screen would only
# hide it)
CHINESE_JS = """
() => {
  const words = {
    Like: "赞", Dislike: "踩", Copy: "复制", "Copy message": "复制", Retry: "重试", Undo: "撤销", Edit: "编辑",
    "chatbot conversation": "对话记录", "Click to upload or drop files": "点击上传或拖放文件", "File upload": "上传文件",
    "Remove this file": "移除此文件", Close: "关闭",
  };
  const titles = { Warning: "提示", Info: "提示", Error: "出错了" };
  const prefixes = [["bot's message: ", "小宝或工作人员的消息："], ["user's message: ", "我的消息："]];
  const reword = () => {
    for (const node of document.querySelectorAll("[aria-label], [title]")) {
      for (const name of ["aria-label", "title"]) {
        const value = node.getAttribute(name);
        if (value === null) continue;
        if (node.closest("#chat") && (value === "Clear" || value === "清空对话")) node.style.display = "none";
        else if (value in words) node.setAttribute(name, words[value]);
        else for (const [en, zh] of prefixes) {  // a message's own label: its text, without the markup Gradio leaves in
          if (value.startsWith(en)) node.setAttribute(name, zh + value.slice(en.length).replace(/<[^>]*>/g, ""));
        }
      }
    }
    for (const toast of document.querySelectorAll("[data-testid=toast-body]")) {  // a notice's title
      const texts = document.createTreeWalker(toast, NodeFilter.SHOW_TEXT);
      for (let text; (text = texts.nextNode()); ) {
        const word = text.textContent.trim();
        if (word in titles) text.textContent = text.textContent.replace(word, titles[word]);
      }
    }
  };
  new MutationObserver(reword).observe(document.body, { subtree: true, childList: true, characterData: true });
  reword();
}
"""
# The same for Gradio's words that are not in the page's markup (the upload area's "Drop File Here - or -
# Click to Upload", "Loading" in an English browser): given in Chinese for every browser
GRADIO_WORDS = gr.I18n(
    en={
        "upload_text.drop_file": "将文件拖放到此处",
        "common.or": "或",
        "upload_text.click_to_upload": "点击上传",
        "common.error": "出错了",
        "common.loading": "加载中",
        # missing from Gradio's own word lists: its upload button said "common.upload", and what it tells
        # screen readers when an answer is done, "common.complete"
        "common.upload": "上传",
        "common.complete": "已完成",
    }
)
LARGE_TEXT_JS = "(on) => { document.body.classList.toggle('large', on); return on; }"
# In the widget's panel on another site, a browser that blocks third-party storage (a private window,
# cookies blocked) denies the page localStorage and reading it throws; Gradio's BrowserState reads it
# unguarded as it mounts, and the page then at times never loads (stuck at "Loading…": no session, no
# answers). There the page keeps its session in memory instead, until the panel is reloaded.
MEMORY_STORAGE_HEAD = """<script>
try { window.localStorage; } catch {
  const items = new Map();
  Object.defineProperty(window, "localStorage", { configurable: true, value: {
    getItem: (key) => (items.has(key) ? items.get(key) : null),
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
    key: (index) => [...items.keys()][index] ?? null,
    get length() { return items.size; },
  } });
}
</script>"""


def warn(message: str, outputs: int) -> tuple:
    """A problem the citizen can put right: said in a notice, and every output left as it is — the
    conversation, the chosen files, the text typed. (A raised gr.Error covers each output with an
    "Error" badge, the conversation included, until the next answer.)"""
    gr.Warning(message)
    return (gr.skip(),) * outputs


def typing(allowed: bool):
    """The question box and its button, open or closed: closed while an identity switch runs, so a
    question typed meanwhile is not sent to the session being replaced."""
    return gr.update(interactive=allowed), gr.update(interactive=allowed)


# the same lock in the browser at once: the server's takes a round trip, and on a loaded server a
# question typed and sent meanwhile went to the session being replaced
LOCK_JS = """() => {
  for (const selector of ["#question textarea", "#send"]) {
    const control = document.querySelector(selector);
    if (control) control.disabled = true;
  }
  return [];
}"""


def entry_detail(entry: dict) -> str:
    """An official reply's entry as its citation opens: who issued it, from when, which version."""
    parts = [f"发布部门：{entry['department']}"] if entry.get("department") else []
    if entry.get("effective_from"):
        parts.append(f"生效日期：{entry['effective_from']}")
    if entry.get("version"):
        parts.append(f"版本：第 {entry['version']} 版")
    if entry.get("url"):
        parts.append(f'<a href="{html.escape(entry["url"])}" target="_blank" rel="noopener">原文链接</a>')
    return " · ".join(parts) or "官方答复口径（未登记发布部门和生效日期）"


def render_citation(c: dict) -> str:
    if entry := c.get("entry"):
        summary = f"[{c['number']}] {html.escape(cited_as(c['citation'], entry))}"
        return f"<details><summary>{summary}</summary>{entry_detail(entry)}</details>"
    version = f"（{html.escape(c['version_date'])} 版）" if c.get("version_date") else ""
    return f"<details><summary>[{c['number']}] {html.escape(c['citation'])}{version}</summary>{html.escape(c['text'])}</details>"


def render_downloads(links: dict[str, str], generated: dict) -> str:
    """A finished material's download links (by format), each with its pre-review result."""
    rows = [
        f'<a href="{html.escape(url)}" class="download" data-format="{kind}">下载 {kind.upper()}</a> · '
        f"{html.escape(verdict(generated.get('prereview', {}).get(kind)))}"
        for kind, url in links.items()
    ]
    return f"<b>《{html.escape(generated['name'])}》下载</b><br>" + "<br>".join(rows)


def render_turn(turn: dict, extra: str = "") -> str:
    """One stored turn as its chat bubble: the label first, then the text, the citations and `extra`
    (a generated material's download links)."""
    text = html.escape(turn["text"])
    if turn["role"] == "system":
        return f'<sub class="not-rated">{text}</sub>'
    if turn["role"] == "helper":
        return f'<span class="label not-rated">【人工帮办 {html.escape(turn["helper"] or "")}】</span>\n\n{text}'
    parts = [f'<span class="label">【{html.escape(turn["label"])}】</span>'] if turn["label"] else []
    parts.append(text)
    parts += [render_citation(c) for c in turn["citations"]]
    return "\n\n".join([*parts, extra] if extra else parts)


def bubbles(
    turns: list[dict], writing: str | None = None, progress: str = "", extras: dict[int, str] | None = None
) -> tuple[list[dict], list[int | None]]:
    """The chat's messages and, for each, the stored turn it shows (for ratings). `extras`: HTML
    added to a turn's bubble, by turn id."""
    messages, ids = [{"role": "assistant", "content": f'<span class="not-rated">{INTRO}</span>'}], [None]
    for turn in turns:
        content = render_turn(turn, (extras or {}).get(turn["turn_id"], ""))
        messages.append({"role": "user" if turn["role"] == "user" else "assistant", "content": content})
        ids.append(turn["turn_id"] if turn["role"] == "assistant" else None)
    if writing is not None:
        # the checked sentences so far, or until the first one what Xiaobao is doing (marked, so it is not read aloud)
        shown = f'<span class="not-rated">{html.escape(writing)}</span>' if writing else ""
        shown = shown or f'<span class="not-rated progress">{html.escape(progress or WRITING)}</span>'
        messages.append({"role": "assistant", "content": shown})
        ids.append(None)
    return messages, ids


def build_chat(services: Services, poll_seconds: float = 15.0, push_timeout: float = 15.0) -> gr.Blocks:
    engine, desk, live = services.engine, services.desk, services.live
    writing: dict[str, str] = {}  # session → the answer being streamed to it (shown, not yet stored)
    progress: dict[str, str] = {}  # session → what Xiaobao is doing before the first sentence (the sources it found)
    pages: dict[str, str] = {}  # open page (Gradio's session hash) → its chat session: its push loop follows it

    def downloads(session_id: str) -> dict[int, str]:
        """The download links of the session's finished materials, by the turn that showed them: for
        its verified user only, as the download route requires."""
        if engine.user_of(session_id) is None:
            return {}
        links = {}
        for turn_id, made in services.tools.finished_materials(session_id).items():
            signed = {kind: signed_download(services.session_keys, session_id, made["template"], kind) for kind in RENDER}
            links[turn_id] = render_downloads(signed, made)
        return links

    def view(session_id: str) -> tuple:
        """(chat messages, waiting notice, cancel button) as stored now."""
        messages, _ = bubbles(engine.history(session_id), writing.get(session_id), progress.get(session_id, ""), downloads(session_id))
        waiting = desk.waiting(session_id)
        queued = bool(waiting and waiting["status"] == "queued")
        return messages, gr.update(value=waiting["text"] if waiting else "", visible=bool(waiting)), gr.update(visible=queued)

    def new_session(user: str) -> tuple[str, dict]:
        session_id = engine.create_session(demo_ref=user or None)
        return session_id, {"id": session_id, "key": services.session_keys.issue(session_id)}

    with gr.Blocks(title="小宝 · 智慧好办") as page:
        gr.Markdown("## 小宝 · 宝山区“智慧好办”智能助手", elem_id="title")
        demo = services.settings.demo_mode
        gr.Markdown(DEMO_BANNER, visible=demo, elem_id="demo-mode")
        # the session id and key, kept in the browser's localStorage so that a reload finds the session
        saved = gr.BrowserState({}, storage_key="xiaobao-chat", secret=services.session_keys.issue("chat-page"))
        session = gr.State(None)
        chatbot = gr.Chatbot(
            value=bubbles([])[0],
            label="对话",
            show_label=False,
            elem_id="chat",
            group_consecutive_messages=False,  # one bubble per turn
            buttons=[],  # no copy button over the messages
            feedback_options=("Like", "Dislike"),
            placeholder=None,
        )
        # the dock: the hand-off notice and the input row, kept at the bottom of the screen on a phone
        with gr.Column(elem_id="dock"):
            with gr.Row(elem_id="waiting-row"):
                waiting = gr.Markdown(visible=False, elem_id="waiting")
                cancel = gr.Button("取消等待", visible=False, size="sm", scale=0, min_width=80, elem_id="cancel-wait")
            with gr.Row(elem_id="ask-row"):
                box = gr.Textbox(
                    label="问题",  # hidden, read by screen readers (Gradio says "Textbox" without one)
                    placeholder="请输入问题，如：高龄津贴怎么申请",
                    show_label=False,
                    scale=8,
                    min_width=120,
                    elem_id="question",
                )
                send = gr.Button("发送", variant="primary", scale=0, min_width=64, elem_id="send")
                human = gr.Button("转人工", scale=0, min_width=64, elem_id="human")
        with gr.Row():
            large = gr.Checkbox(label="大字模式（适老化）", value=False, elem_id="large-text", scale=1)
            # sample identities exist only in demo mode; elsewhere the portal's login decides who the user is
            identities = sample_identities(services.db_engine) if demo else []
            identity = gr.Dropdown(
                [("匿名访客", ""), *identities],
                value="",
                label="演示身份（示例数据；正式环境由“一网通办”登录提供）",
                visible=bool(identities),
                elem_id="identity",
                scale=3,
            )
        face = avatar.panel() if services.settings.voice else None  # 小宝 speaks and listens (ui/avatar.py)
        reviewable = [(f"{item.name}（{item.id}）", item.id) for item in services.directory.items() if item.materials]
        with gr.Accordion("材料预审：上传申请材料，提交前先检查一遍", open=False, visible=bool(reviewable)):
            with gr.Row():
                item_choice = gr.Dropdown(
                    reviewable, value=reviewable[0][1] if reviewable else None, label="办理事项", scale=2, elem_id="item"
                )
                uploads = gr.File(file_count="multiple", type="filepath", label="材料（PDF、图片、DOCX、TXT）", scale=3, elem_id="uploads")
            check = gr.Button("开始预审", elem_id="prereview")
        with gr.Accordion("“办不成事”反映：事情没办成，告诉我们", open=False):
            problem = gr.Textbox(label="没有办成的事情和经过", lines=3, elem_id="problem")
            contact = gr.Textbox(label="联系方式（选填，仅工作人员可见）", elem_id="contact")
            report = gr.Button("提交反映", elem_id="report")

        shown = [chatbot, waiting, cancel]

        def restore(stored: dict | None, request: gr.Request):
            """On load: the session this browser had (its key checked), else a new one."""
            if request.session_hash in pages:  # the citizen already chose an identity: that session stays
                return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            stored = stored or {}
            session_id = stored.get("id")
            try:
                if not (session_id and services.session_keys.valid(session_id, stored.get("key"))):
                    raise SessionNotFound(session_id)
                engine.status(session_id)
            except SessionNotFound:
                session_id, stored = new_session("")
            pages[request.session_hash] = session_id
            return session_id, stored, *view(session_id)

        def ask(message: str, session_id: str | None):
            if session_id is None:
                yield warn("页面还在加载，请稍候再发送。", 4)
                return
            if not message.strip():
                yield message, *view(session_id)
                return
            writing[session_id] = ""
            try:
                for kind, value in services.recitals.tee(session_id, engine.stream(session_id, message)):  # the avatar speaks it
                    if kind == "sources":  # before the model writes: which passages the answer will come from
                        progress[session_id] = "小宝正在依据这些资料作答：" + "；".join(s["citation"] for s in value)
                    elif kind == "sentence":  # checked sentences only: nothing shown is withdrawn
                        writing[session_id] += value
                    elif kind == "final":
                        writing.pop(session_id, None)
                    yield "", *view(session_id)
            except BadMessage as exc:
                gr.Warning(str(exc))
                yield message, *view(session_id)
            finally:
                writing.pop(session_id, None)
                progress.pop(session_id, None)

        def handoff(session_id: str | None):
            if session_id is None:
                return warn("页面还在加载，请稍候再试。", 3)
            engine.handoff(session_id, "用户点击转人工")
            return view(session_id)

        def stop_waiting(session_id: str):
            try:
                desk.cancel(session_id)
            except (Conflict, DeskError) as exc:
                gr.Warning(str(exc))
            return view(session_id)

        async def follow(session_id: str, request: gr.Request):
            """Push: the chat as stored, again whenever the session (or, while queued, the queue)
            changes — until the page closes or turns to another session. The stream that answers a
            question shows its own progress, so this waits while one runs."""
            last, keys = None, [session_key(session_id), DESK]
            while pages.get(request.session_hash) == session_id:
                version = live.version
                if session_id not in writing:
                    current = await run_in_threadpool(view, session_id)
                    if repr(current) != last:
                        last = repr(current)
                        yield current
                    queued = current[2]["visible"]  # a waiting citizen's place moves with the others' hand-offs
                    keys = [session_key(session_id), DESK] if queued else [session_key(session_id)]
                await live.wait(keys, version, push_timeout)

        def poll(session_id: str | None):
            """The fallback when a push was missed (another server process, a dropped connection)."""
            return view(session_id) if session_id else (gr.skip(), gr.skip(), gr.skip())

        def rate(session_id: str, data: gr.LikeData) -> None:
            index = data.index if isinstance(data.index, int) else data.index[0]
            _, ids = bubbles(engine.history(session_id))
            if 0 <= index < len(ids) and ids[index] is not None:
                engine.rate(ids[index], "good" if data.liked is True else "bad")

        def prereview(item_id: str | None, paths: list[str] | None, session_id: str):
            if not item_id or not paths:
                return warn("请选择事项并上传至少一份材料。", 4)
            try:
                services.reviewer.check([(Path(p).name, Path(p).stat().st_size) for p in paths])
                engine.prereview(session_id, item_id, [(Path(p).name, Path(p).read_bytes()) for p in paths])
            except (UploadRejected, ReviewBusy) as exc:
                return warn(str(exc), 4)
            return *view(session_id), None

        def file_report(text: str, reach: str, session_id: str):
            reply = engine.use_tool(session_id, "report_unresolved", {"text": text, "contact": reach}, f"“办不成事”反映：{text}")
            if not reply.data.get("tracking_no"):
                return warn(reply.text, 5)
            return *view(session_id), "", ""

        def switch(user: str, request: gr.Request):
            """Another identity is another user: a new session and a fresh chat."""
            session_id, stored = new_session(user)
            pages[request.session_hash] = session_id
            return session_id, stored, *view(session_id)

        def leave(request: gr.Request) -> None:
            pages.pop(request.session_hash, None)  # ends the page's push loop

        loaded = page.load(restore, [saved], [session, saved, *shown])
        loaded.then(follow, [session], shown, concurrency_limit=None, show_progress="hidden")
        box.submit(ask, [box, session], [box, *shown], show_progress="hidden")
        send.click(ask, [box, session], [box, *shown], show_progress="hidden")
        human.click(handoff, [session], shown)
        cancel.click(stop_waiting, [session], shown)
        check.click(prereview, [item_choice, uploads, session], [*shown, uploads])
        locked = identity.input(lambda: typing(False), None, [box, send], js=LOCK_JS, queue=False, show_progress="hidden")
        switched = locked.then(switch, [identity], [session, saved, *shown])
        switched.then(lambda: typing(True), None, [box, send], queue=False, show_progress="hidden")
        if face is not None:  # the avatar speaks for the page's session
            for event in (loaded, switched):
                event.then(avatar.credentials, [saved], [face], show_progress="hidden")
        switched.then(follow, [session], shown, concurrency_limit=None, show_progress="hidden")
        report.click(file_report, [problem, contact, session], [*shown, problem, contact])
        large.change(None, [large], [large], js=LARGE_TEXT_JS)
        chatbot.like(rate, [session], None)
        gr.Timer(poll_seconds).tick(poll, [session], shown, show_progress="hidden")
        page.unload(leave)
    return page
