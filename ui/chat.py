"""The citizens' chat page (Gradio): streamed answers, citations that open to show the cited text,
the AI / official label, 👍/👎 ratings, a 转人工 button, and the human helper's replies, which a
timer fetches every two seconds while the session is with the helpers."""

from __future__ import annotations

import html
import os
from pathlib import Path

# The service runs offline: no usage analytics calls home, and the theme uses local fonts rather
# than Google Fonts.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402

from xiaobao.assistant.engine import Reply
from xiaobao.assistant.guard import BadMessage
from xiaobao.govdata.records import sample_identities
from xiaobao.prereview.review import ReviewBusy, UploadRejected
from xiaobao.services import Services

THEME = gr.themes.Default(font=["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"], font_mono=["monospace"])
INTRO = "您好，我是宝山区“智慧好办”智能助手小宝，可以问我办事指南、政策法规和办件进度。"
DEMO_BANNER = "**演示模式**：本页使用示例数据，可选择示例身份；正式环境的身份只来自“一网通办”统一身份认证登录。"


def render(reply: Reply) -> str:
    """The reply as chat markdown: text, then each citation as a collapsible block with its text."""
    parts = [html.escape(reply.text)]
    for c in reply.citations:
        parts.append(f"<details><summary>[{c['number']}] {html.escape(c['citation'])}</summary>{html.escape(c['text'])}</details>")
    if reply.label:
        parts.append(f"<sub>{html.escape(reply.label)}</sub>")
    if reply.offer_human and reply.path != "handoff":
        parts.append("<sub>可点击下方“转人工”按钮联系线上人工帮办。</sub>")
    return "\n\n".join(parts)


def render_turn(turn: dict) -> str:
    """A helper's reply or a system notice, as it appears in the citizen's chat."""
    if turn["role"] == "helper":
        return f"**人工帮办 {html.escape(turn['helper'] or '')}**：{html.escape(turn['text'])}"
    return f"<sub>{html.escape(turn['text'])}</sub>"


def build_chat(services: Services, poll_seconds: float = 2.0) -> gr.Blocks:
    engine = services.engine
    with gr.Blocks(title="小宝 · 智慧好办") as page:
        gr.Markdown("## 小宝 · 宝山区“智慧好办”智能助手")
        demo = services.settings.demo_mode
        gr.Markdown(DEMO_BANNER, visible=demo, elem_id="demo-mode")
        session = gr.State(None)
        turn_of_message = gr.State({})  # chat message index -> stored turn id, for ratings
        seen = gr.State(0)  # the last stored turn shown in this chat
        # sample identities exist only in demo mode; elsewhere the portal's login decides who the user is
        identities = sample_identities(services.db_engine) if demo else []
        identity = gr.Dropdown(
            [("匿名访客", ""), *identities],
            value="",
            label="演示身份（示例数据；正式环境由“一网通办”登录提供）",
            visible=bool(identities),
            elem_id="identity",
        )
        chatbot = gr.Chatbot(value=[{"role": "assistant", "content": INTRO}], height=520, label="对话", elem_id="chat")
        with gr.Row():
            box = gr.Textbox(placeholder="请输入您的问题，例如：高龄津贴怎么申请？", show_label=False, scale=8, elem_id="question")
            send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
            human = gr.Button("转人工", scale=1, elem_id="human")
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

        def start(session_id: str | None, user: str) -> str:
            return session_id or engine.create_session(demo_ref=user or None)

        def ask(message: str, history: list, session_id: str | None, turns: dict, last: int, user: str):
            session_id = start(session_id, user)
            history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
            shown = ""
            try:
                for kind, value in engine.stream(session_id, message):
                    if kind == "status":  # at once: the citizen sees Xiaobao is looking
                        history[-1]["content"] = f"<sub>{value}</sub>"
                    elif kind == "sources":  # which passages the answer will come from, before the model writes
                        found = "；".join(f"[{s['number']}] {s['citation']}" for s in value)
                        history[-1]["content"] = f"<sub>小宝正在依据以下资料作答：{found}</sub>"
                    elif kind == "sentence":  # checked sentences only: nothing shown is withdrawn
                        shown += value
                        history[-1]["content"] = shown
                    elif value.path == "human":  # a helper holds the session: the message went to them
                        history[-1]["content"] = "<sub>已发送给人工帮办</sub>"
                    else:
                        history[-1]["content"] = render(value)
                        turns = {**turns, len(history) - 1: value.turn_id}
                        last = max(last, value.turn_id)
                    yield "", history, session_id, turns, last
            except BadMessage as exc:
                history[-1]["content"] = str(exc)
                yield message, history, session_id, turns, last

        def handoff(history: list, session_id: str | None, turns: dict, last: int, user: str):
            session_id = start(session_id, user)
            reply = engine.handoff(session_id, "用户点击转人工")
            history = [*history, {"role": "assistant", "content": render(reply)}]
            return history, session_id, {**turns, len(history) - 1: reply.turn_id}, max(last, reply.turn_id)

        def poll(history: list, session_id: str | None, last: int):
            """New helper replies and notices (Xiaobao's own answers arrive through ask)."""
            if session_id is None:
                return gr.skip(), gr.skip()
            new = [t for t in engine.history(session_id, after=last) if t["role"] in ("helper", "system")]
            if not new:
                return gr.skip(), gr.skip()
            history = [*history, *({"role": "assistant", "content": render_turn(t)} for t in new)]
            return history, max(t["turn_id"] for t in new)

        def rate(turns: dict, data: gr.LikeData) -> None:
            index = data.index if isinstance(data.index, int) else data.index[0]
            if index in turns:
                engine.rate(turns[index], "good" if data.liked is True else "bad")

        def prereview(
            item_id: str | None, paths: list[str] | None, history: list, session_id: str | None, turns: dict, last: int, user: str
        ):
            if not item_id or not paths:
                raise gr.Error("请选择事项并上传至少一份材料。")
            try:
                services.reviewer.check([(Path(p).name, Path(p).stat().st_size) for p in paths])
                session_id = start(session_id, user)
                files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
                reply = engine.prereview(session_id, item_id, files)
            except (UploadRejected, ReviewBusy) as exc:
                raise gr.Error(str(exc)) from None
            history = [
                *history,
                {"role": "user", "content": html.escape(f"请预审我的材料：{'、'.join(name for name, _ in files)}")},
                {"role": "assistant", "content": render(reply)},
            ]
            return history, session_id, {**turns, len(history) - 1: reply.turn_id}, max(last, reply.turn_id), None

        def file_report(text: str, reach: str, history: list, session_id: str | None, user: str):
            session_id = start(session_id, user)
            reply = engine.use_tool(session_id, "report_unresolved", {"text": text, "contact": reach}, f"“办不成事”反映：{text}")
            if not reply.data.get("tracking_no"):
                raise gr.Error(reply.text)
            return [*history, {"role": "assistant", "content": html.escape(reply.text)}], session_id, "", ""

        def switch(user: str):
            """Another identity is another user: a new session and a fresh chat."""
            return None, [{"role": "assistant", "content": INTRO}], {}, 0

        outputs = [box, chatbot, session, turn_of_message, seen]
        box.submit(ask, [box, chatbot, session, turn_of_message, seen, identity], outputs)
        send.click(ask, [box, chatbot, session, turn_of_message, seen, identity], outputs)
        human.click(handoff, [chatbot, session, turn_of_message, seen, identity], [chatbot, session, turn_of_message, seen])
        check.click(
            prereview,
            [item_choice, uploads, chatbot, session, turn_of_message, seen, identity],
            [chatbot, session, turn_of_message, seen, uploads],
        )
        identity.input(switch, [identity], [session, chatbot, turn_of_message, seen])
        report.click(file_report, [problem, contact, chatbot, session, identity], [chatbot, session, problem, contact])
        chatbot.like(rate, [turn_of_message], None)
        gr.Timer(poll_seconds).tick(poll, [chatbot, session, seen], [chatbot, seen], show_progress="hidden")
    return page
