"""Intent routing: rules first, then a small classifier for the phrasings the rules miss.

Rules are exact and take arguments (an application number, a 办不成事 tracking number) only from the
citizen's own words, never invented. What the rules leave as a knowledge question goes to a
character n-gram logistic regression (`routing.json` beside this module: plain coefficients fitted by
`xiaobao eval routing --write-model` on eval/data/routing-training.jsonl, no pickle), which may move
it to a tool only when it is confident: a citizen's real question sent to a tool is worse than a
request that reaches retrieval, so its threshold is chosen for very few knowledge→tool routes.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Intent = Literal[
    "greeting", "handoff", "progress", "prefill", "policy", "prereview", "report", "bundle", "material", "address", "knowledge"
]
INTENTS: tuple[Intent, ...] = (
    "greeting", "handoff", "progress", "prefill", "policy", "prereview", "report", "bundle", "material", "address", "knowledge",
)  # fmt: skip
MODEL_FILE = Path(__file__).with_name("routing.json")

# a 办不成事 report: BCS, the date, 12 random characters (4 in the first format), as a citizen may
# type it (upper-cased first), with spaces or hyphens in between; reports.lookup normalises it
TRACKING_NO = re.compile(r"BCS[\s-]*\d{8}(?:[\s-]*[0-9A-Z]){4}(?:(?:[\s-]*[0-9A-Z]){8})?(?![0-9A-Z])")
APPLICATION_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,4}\d{6,12})(?![A-Za-z0-9])")
_RULES: list[tuple[Intent, re.Pattern]] = [
    (
        "handoff",
        re.compile(
            r"转人工|人工(客服|服务|帮办|坐席)|找(个)?人工|跟人工|接(个)?人工|(找|要|跟|和|换|让)(个)?真人|真人(客服|服务|回答|来)"
            r"|工作人员(说话|来|联系)|(找|换|叫)个人(来|帮|跟|过来|吧|[，。！,.!]|$)|让人来|机器人(听不懂|不行)|不想跟机器人|客服人员联系"
        ),
    ),
    (
        "progress",
        re.compile(
            r"进度|办到哪|到哪一步|审到哪|到哪了|审批(状态|结果)|办结了吗|办好了吗|受理了吗|我的(办件|申请|业务)|名下.{0,4}办件|我办过"
            r"|我(提交|申请|交|办)的.{0,12}(了吗|没|吗|怎么样|结果|消息|进展|状态|处理|拿到)"
        ),
    ),
    ("report", re.compile(r"办不成|办不了|没办成|办不下来|跑了(好)?几(趟|次)|推来推去|不归他们管|不给办|跑断了?腿|办事难|没人理")),
    (
        "prereview",
        re.compile(
            r"预审|审(核|查)(一下)?(我的)?材料|材料(齐不齐|对不对|有没有问题|够不够|能用吗)|(检查|核对|审一下|审下|看看|看下)(一下|下)?.{0,6}(材料|文件)"
            r"|(材料|文件|复印件|营业执照|申请表).{0,10}帮我?(检查|核对|看|查)|(材料|复印件).{0,8}能不能用|上传.{0,6}(看|检查)"
        ),
    ),
    (  # a document written for the applicant (申请书, 股东决定, 章程…); a form to fill in is prefill
        "material",
        re.compile(r"(生成|起草|拟写|拟定|写|做|出)(一份|一个|份|个|下|一下)?.{0,12}(申请书|股东决定|股东会决议|章程|承诺书|审查申请表)"),
    ),
    (  # the registered-address library (企业住所地址库)
        "address",
        re.compile(
            r"(地址|住所|这里|这儿).{0,8}(能|可以|可否|能否|能不能|是否)(用来|拿来)?(注册|登记)|地址库|无忧快注|集中登记地"
            r"|(路|街|巷)\d+[号弄].{0,16}((能|可以|可否|能否|能不能|是否)(用来|拿来)?(注册|登记)|(注册|登记).{0,4}(可以|行)(吗|不))"
        ),
    ),
    (
        "prefill",
        re.compile(r"预填|帮我填|填表|填写表单|再来一单|(帮|给)(我|忙)?.{0,12}(填|写|生成).{0,4}(表|申请)|填进.{0,4}表|照着再|再申请一份"),
    ),
    (
        "policy",
        re.compile(
            r"免申即享|政策匹配|匹配.{0,4}政策|(我们|我司|本企业|我的公司|我家企业).{0,14}(政策|补贴|优惠|扶持|减税|补助)"
            r"|政策.{0,4}适合我们"  # 老年人可以享受哪些政策 is a question: the tool matches one's own enterprise
        ),
    ),
    (  # 一件事: several items done together, guided by the applicant's situation
        "bundle",
        re.compile(
            r"一件事|((开|办|注册|成立)[一个家间]{0,2}(饭店|餐馆|餐厅|饭馆|小吃店|奶茶店|公司|企业|个体户|小店|店)|生了?孩子|宝宝出生|孩子出生"
            r"|新生儿|退休).{0,10}(哪些事|哪些手续|办哪些|都要办|要办什么|需要办什么)"  # the whole set, not one step (退休手续怎么办)
        ),
    ),
]
# a question *about* a service (how long it takes, what it is, where to look) is a knowledge question
# even when it names the service (进度, 预审, 填表, 免申即享); unless the citizen speaks of their own case
_ABOUT = re.compile(
    r"一般|通常|多久|多长时间|几天|几个工作日|是什么|什么是|什么意思|啥意思|怎么(兑现|改|用|查|反映)|怎样才能|有什么条件"
    r"|(哪些|反映)渠道|去哪里?反映|网站|要登录|说明|一定能|填错|有误|不对怎么办|能改吗|出结果|能查.{0,3}吗|窗口在哪"
)
_OWN = re.compile(r"我|俺|本人|本企业|本公司")
# what has to be brought or prepared is asked about, whoever asks (我想看看办居住证需要哪些材料)
_NEEDED = re.compile(r"(需要|要|得)(带|准备|交|提供)?(哪些|什么|啥)")
# topics a person should handle: complaints, petitions, emergencies and distress
SENSITIVE = re.compile(r"投诉|举报|信访|上访|自杀|轻生|不想活|家暴|被打|报警|紧急求助")
_GREETING = re.compile(
    r"^(好的)?[,，\s]*(你好|您好|hi|hello|嗨|在吗|在不在|谢谢|多谢|再见|拜拜|早上好|上午好|下午好|晚上好)(你|您)?(小宝)?(了)?[呀啊哈啦!！。.?？~～\s]*$",
    re.IGNORECASE,
)


@dataclass
class Route:
    intent: Intent
    arguments: dict = field(default_factory=dict)


def arguments(intent: Intent, text: str) -> dict:
    """What a tool takes from the citizen's words for an intent (the same whoever chose the intent)."""
    if intent == "progress":
        application = APPLICATION_ID.search(text.upper())
        return {"application_id": application.group(1)} if application else {}
    if intent == "prefill":  # the tool finds the item named in the words
        return {"item": text, "again": "再来一单" in text}
    if intent in ("report", "bundle"):
        return {"text": text}
    if intent == "material":  # the tool finds the material named in the words
        return {"material": text}
    if intent == "address":
        return {"address": text}
    return {}


def rules(text: str) -> Route:
    """The rules alone: greetings, numbers, sensitive topics, and the phrasings each tool is asked with."""
    if _GREETING.match(text.strip()):
        return Route("greeting")
    if tracking := TRACKING_NO.search(text.upper()):
        return Route("report", {"tracking_no": tracking.group(0)})
    if topic := SENSITIVE.search(text):
        return Route("handoff", {"reason": f"敏感话题：{topic.group(0)}"})
    about = (bool(_ABOUT.search(text)) and not _OWN.search(text)) or bool(_NEEDED.search(text))
    for intent, pattern in _RULES:
        if pattern.search(text) and not (about and intent != "handoff"):  # asking for a person is never a question
            return Route(intent, arguments(intent, text))
    if APPLICATION_ID.search(text.upper()) and len(text) <= 30:  # a bare case number is a progress question
        return Route("progress", arguments("progress", text))
    return Route("knowledge")


# ---- the classifier -------------------------------------------------------------------------------

_NUMBER = re.compile(r"[a-z]{2,4}\d{6,12}|bcs[\d a-z-]{12,}")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, case numbers as one symbol, digits as 0, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _NUMBER.sub("#", text)
    text = re.sub(r"\d+", "0", text)
    return re.sub(r"\s+", " ", text).strip()


def ngrams(text: str, sizes: tuple[int, ...] = (1, 2, 3)) -> set[str]:
    """The character n-grams of a text, with ^ and $ marking its start and end."""
    padded = f"^{normalise(text)}$"
    return {padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1)}


@dataclass
class Classifier:
    """Multinomial logistic regression over binary character n-grams scaled by 1/√(count):
    P(intent) = softmax(intercept + Σ weights[ngram])."""

    intents: list[str]
    weights: dict[str, list[float]]  # n-gram → one weight per intent
    intercept: list[float]
    threshold: float  # P an intent other than knowledge must reach to override the rules' "knowledge"
    info: dict = field(default_factory=dict)

    def probabilities(self, text: str) -> dict[str, float]:
        grams = ngrams(text)
        scale = 1.0 / math.sqrt(max(len(grams), 1))
        z = list(self.intercept)
        for gram in grams:
            for i, w in enumerate(self.weights.get(gram, ())):
                z[i] += w * scale
        top = max(z)
        exp = [math.exp(v - top) for v in z]
        total = sum(exp)
        return {intent: e / total for intent, e in zip(self.intents, exp, strict=True)}

    def guess(self, text: str) -> tuple[str, float]:
        probs = self.probabilities(text)
        intent = max(probs, key=probs.__getitem__)
        return intent, probs[intent]

    def to_dict(self) -> dict:
        return {
            "intents": self.intents,
            "ngrams": [1, 2, 3],
            "threshold": self.threshold,
            "intercept": self.intercept,
            "info": self.info,
            "weights": self.weights,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Classifier:
        if data["ngrams"] != [1, 2, 3]:
            raise ValueError(f"routing model uses n-grams {data['ngrams']}, this code computes [1, 2, 3]")
        return cls(
            list(data["intents"]), dict(data["weights"]), list(data["intercept"]), float(data["threshold"]), dict(data.get("info") or {})
        )


@functools.cache
def packaged() -> Classifier | None:
    """The shipped classifier; None when there is none (the rules alone route)."""
    return Classifier.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8"))) if MODEL_FILE.exists() else None


def route(text: str, classifier: Classifier | None = None) -> Route:
    """The rules; where they find only a knowledge question, the classifier's intent if it is confident.
    `classifier` defaults to the packaged one."""
    found = rules(text)
    model = classifier or packaged()
    if found.intent != "knowledge" or model is None:
        return found
    intent, p = model.guess(text)
    if intent != "knowledge" and p >= model.threshold:
        return Route(intent, arguments(intent, text))
    return found


_ANAPHORA = re.compile(r"它|这个|那个|这项|那项|该事项|该政策|这件事|上述|刚才")


def rewrite(text: str, previous_question: str | None) -> str:
    """Resolve 它 / 这个 / 那个 from the conversation: a short follow-up that points back gets the
    previous question prepended, so retrieval sees the topic."""
    if previous_question and len(text) <= 30 and _ANAPHORA.search(text):
        return f"{previous_question} {text}"
    return text
