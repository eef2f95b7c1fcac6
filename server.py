"""The HTTP app: built from the services, nothing else. REST + server-sent events for the web page and
mini-programs, and an OpenAI-compatible /v1/chat/completions facade for existing clients; the routes
themselves are in api/, by resource."""

from __future__ import annotations

from fastapi import FastAPI

from xiaobao.api import (
    admin,
    bundles,
    editor,
    errors,
    helpdesk,
    library,
    materials,
    middleware,
    monitoring,
    openai,
    operations,
    pages,
    reports,
    sessions,
    staff,
    templates,
    tools,
)
from xiaobao.api import voice as voice_api
from xiaobao.services import Services

ROUTERS = (
    monitoring.router,
    tools.router,
    materials.router,
    bundles.router,
    library.router,
    sessions.router,
    voice_api.router,
    openai.router,
    staff.router,
    helpdesk.router,
    editor.router,
    templates.router,
    admin.router,
    operations.router,
    reports.router,
    pages.router,
)
# built with the app rather than by its first requests: a broken setup (the index held by another
# process, an unreachable database) fails at start; `live` hears (and with Redis, tells the other
# workers) every commit from the start, not from its first waiter
SERVED = ("engine", "session_keys", "accounts", "desk", "editorial", "metrics", "reports", "db_engine", "live")


def create_app(services: Services, with_ui: bool = True) -> FastAPI:
    for name in SERVED:
        getattr(services, name)
    app = FastAPI(
        title="小宝 Xiaobao API",
        description="宝山区“智慧好办”智能助手的接口：会话、提问（JSON 或 SSE 流）、历史、评价、转人工、OpenAI 兼容接口，"
        "以及工作人员（线上帮办、知识编辑、管理员）的接口。",
        version="0.2.0",
    )
    app.state.services = services
    errors.install(app)
    middleware.install(app, services.settings.trusted_proxies)
    for router in ROUTERS:
        app.include_router(router)
    if with_ui:
        import gradio as gr

        from xiaobao.ui.avatar import HEAD
        from xiaobao.ui.chat import CHINESE_JS, CSS, GRADIO_WORDS, MEMORY_STORAGE_HEAD, THEME, build_chat

        app.include_router(pages.chat_entry)
        # the page's CSS goes in the head, not css=: Gradio scopes css= rules under its container, so rules
        # on body (large text, waiting) or the container itself (room below the phone's dock) never matched
        head = f"<style>{CSS}</style>" + MEMORY_STORAGE_HEAD + (HEAD if services.settings.voice else "")
        app = gr.mount_gradio_app(
            app, build_chat(services), path="/chat", footer_links=[], theme=THEME, js=CHINESE_JS, head=head, i18n=GRADIO_WORDS
        )
    return app
