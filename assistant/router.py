"""Intent routing by rules: a small model guesses, rules do not. Arguments (an application number)
are taken only from the citizen's own words, never invented."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Intent = Literal["greeting", "handoff", "progress", "prefill", "policy", "prereview", "report", "knowledge"]

# a 办不成事 report: BCS, the date, 12 random characters (4 in the first format), as a citizen may
# type it (upper-cased first), with spaces or hyphens in between; reports.lookup normalises it
TRACKING_NO = re.compile(r"BCS[\s-]*\d{8}(?:[\s-]*[0-9A-Z]){4}(?:(?:[\s-]*[0-9A-Z]){8})?(?![0-9A-Z])")
APPLICATION_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,4}\d{6,12})(?![A-Za-z0-9])")
_RULES: list[tuple[Intent, re.Pattern]] = [
    ("handoff", re.compile(r"转人工|人工(客服|服务|帮办|坐席)|找(个)?人工|真人|找人工")),
    ("progress", re.compile(r"进度|办到哪|到哪一步|审批(状态|结果)|办结了吗|办好了吗|受理了吗")),
    ("report", re.compile(r"办不成|办不了|没办成|办不下来|跑了(好)?几(趟|次)")),
    ("prereview", re.compile(r"预审|审(核|查)(一下)?(我的)?材料|材料(齐不齐|对不对|有没有问题)")),
    ("prefill", re.compile(r"预填|帮我填|填表|填写表单|再来一单")),
    ("policy", re.compile(r"免申即享|(能|可以|可)享受(哪些|什么)?(的)?政策|符合(哪些|什么)政策|政策匹配")),
]
# topics a person should handle: complaints, petitions, emergencies and distress
SENSITIVE = re.compile(r"投诉|举报|信访|上访|自杀|轻生|不想活|家暴|被打|报警|紧急求助")
_GREETING = re.compile(r"^(你好|您好|hi|hello|嗨|在吗|在不在|谢谢|多谢|再见|拜拜)[呀啊哈!！。.?？~～\s]*$", re.IGNORECASE)


@dataclass
class Route:
    intent: Intent
    arguments: dict = field(default_factory=dict)


def route(text: str) -> Route:
    if _GREETING.match(text.strip()):
        return Route("greeting")
    if tracking := TRACKING_NO.search(text.upper()):
        return Route("report", {"tracking_no": tracking.group(0)})
    if topic := SENSITIVE.search(text):
        return Route("handoff", {"reason": f"敏感话题：{topic.group(0)}"})
    application = APPLICATION_ID.search(text.upper())
    for intent, pattern in _RULES:
        if pattern.search(text):
            if intent == "progress":
                return Route("progress", {"application_id": application.group(1)} if application else {})
            if intent == "prefill":  # the tool finds the item named in the words
                return Route("prefill", {"item": text, "again": "再来一单" in text})
            if intent == "report":
                return Route("report", {"text": text})
            return Route(intent)
    if application and len(text) <= 30:  # a bare case number is a progress question
        return Route("progress", {"application_id": application.group(1)})
    return Route("knowledge")


_ANAPHORA = re.compile(r"它|这个|那个|这项|那项|该事项|该政策|这件事|上述|刚才")


def rewrite(text: str, previous_questions: list[str]) -> str:
    """Resolve 它 / 这个 / 那个 from the conversation: a short follow-up that points back gets the
    previous question prepended, so retrieval sees the topic."""
    if previous_questions and len(text) <= 30 and _ANAPHORA.search(text):
        return f"{previous_questions[-1]} {text}"
    return text
