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
# what citizens call checking, a document they bring, and a form they fill in (the tools' objects)
_CHECK = r"(检查|核对|核一?下|审(?![批查])|查一?下|查查|看一?看|看一?下|瞧一?瞧|瞅一?瞅|过一?下目|把把?关|check)"
_DOCUMENT = r"(材料|文件|复印件|证件|合同|营业执照|申请表|身份证|户口本)"
_FORM = r"(表格?|表单|申请表|申报表|登记表)"
_RULES: list[tuple[Intent, re.Pattern]] = [
    (
        "handoff",
        re.compile(
            r"转人工|人工(客服|服务|帮办|坐席)|找(个)?人工|跟人工|接(个)?人工|(找|要|跟|和|换|让)(个)?真人|真人(客服|服务|回答|来)"
            r"|工作人员(说话|来|联系)|(找|换|叫)个人(来|帮|跟|过来|吧|[，。！,.!]|$)|让人来|机器人(听不懂|不行)|不想跟机器人|客服人员联系"
            r"|(要|转|叫|给我转)(个|一下)?人工(?!智能)|^人工[!！。.？?\s]*$|(找|叫|要)(一下|个)?(工作人员|帮办)"
            r"|找个(懂|明白|专业|会)[^，。,]{0,3}人|有没有(真|活)?人(帮|来|能|管|在)|有没有(真|活)人|活人"
            r"|(让|叫|请)(人|工作人员|客服).{0,4}(联系|回电|打给)|回个?电话"
            r"|ren\s?gong|human|real person|talk to (a |an )?(person|agent|staff)",  # pinyin and English
            re.IGNORECASE,
        ),
    ),
    (
        "progress",
        re.compile(
            r"进度(?!款)|办到哪|到哪一步|审到哪|到哪(儿)?了|到那了|哪个环节|审批(状态|结果)|办结了吗|办好了吗|受理了吗|我的(办件|申请|业务)"
            r"|名下.{0,4}(办件|业务|申请)|本人的?(办件|业务)|我办过|办件在办"
            r"|我(提交|申请|交|办)的.{0,12}(了吗|没|吗|怎么样|结果|消息|进展|状态|处理|拿到)"
            # one's own application and how it stands: 我的营业执照批下来了吗, 俺的申请咋样了
            r"|(我|俺).{0,16}(批了|批下来|通过了|过了吗|好了没|好没|到账|怎么样了|咋样了|处理了没|受理了没|驳回|什么情况|办得怎么样|状[态太])"
            r"|办好没|批下来了吗|(办好|批下来)我的|申请了.{0,24}(什么情况|怎么样了|没消息|没收到)"
            r"|jin\s?du|ban\s?jian|application status|my application",  # pinyin and English
            re.IGNORECASE,
        ),
    ),
    (
        "report",
        re.compile(
            r"办不成|办不了|没办成|办不下来|没办下来|跑了(好)?[几\d一二三四五六七八九十]{1,2}(趟|次)|推来推去|互相推|踢皮球|不归他们管|不给办"
            r"|跑断了?腿|办事(太|很|真)?难|没人理|(谁都|谁也|没人)不?管|开不出来|卡住|卡在(那|这)|我要反映|ban\s?bu\s?cheng",
            re.IGNORECASE,
        ),
    ),
    (
        "prereview",
        re.compile(
            r"预审|预先审核|审(核|查)(一下)?(我的)?材料|材料(齐不齐|对不对|有没有问题|够不够|能用吗)"
            rf"|{_CHECK}(一下|下)?.{{0,8}}{_DOCUMENT}|{_DOCUMENT}.{{0,12}}(帮|给|你).{{0,4}}{_CHECK}"
            rf"|{_DOCUMENT}.{{0,8}}(能不能用|行不行|对不对|合不合格|有没有问题)|上传.{{0,6}}(看|检查)|cai\s?liao|yu\s?shen",
            re.IGNORECASE,
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
        re.compile(
            r"预填|帮我填|填表|填写表单|再来一单|(帮|给)(我|忙)?.{0,12}(填|写|生成).{0,4}(表|申请)|填进.{0,4}表|照着再|再申请一份"
            rf"|(帮|给|替)(我|忙)?.{{0,14}}(填|写|生成|弄|准备).{{0,10}}{_FORM}|(把|将).{{0,14}}{_FORM}.{{0,4}}(填|写)"
            rf"|{_FORM}.{{0,10}}(帮|给|替)我?.{{0,6}}(填|写)|不会填|再(办|来|申请|填)一(单|份|次|张)|(跟|和|照|同)上(次|回).{{0,4}}一样"
            r"|yu\s?tian|tian\s?biao|fill (in |out )?(the |a |my )?form|auto\s?fill",  # pinyin and English
            re.IGNORECASE,
        ),
    ),
    (
        "policy",
        re.compile(
            r"免申即享|政策匹配|匹配.{0,4}政策|(我们|我司|本企业|我的公司|我家企业).{0,20}(政策|补贴|优惠|扶持|减税|补助|减免|钱|红利|奖励)"
            r"|政策.{0,4}适合我们"  # 老年人可以享受哪些政策 is a question: the tool matches one's own enterprise
            r"|(帮|给)(我|企业|我们)?.{0,4}(看|查|匹配).{0,8}政策|政策.{0,4}帮我?(看|查|匹配)|mian\s?shen|policy match",
            re.IGNORECASE,
        ),
    ),
    (  # 一件事: several items done together, guided by the applicant's situation
        "bundle",
        re.compile(
            r"一件事|((开|办|注册|成立)[一个家间]{0,2}(饭店|餐馆|餐厅|饭馆|小吃店|奶茶店|公司|企业|个体户|小店|店)|生了?孩子|宝宝出生|孩子出生"
            r"|新生儿|退休).{0,10}(哪些事|哪些手续|办哪些|都要办|要办什么|需要办什么)"  # the whole set, not one step (退休手续怎么办)
            # or only the intention, asking nothing in particular: 我想开个公司 (…需要什么材料 asks one step)
            r"|^(我|俺)?(想|要|打算|准备)(自己)?(开|注册|成立)[一个家间]{0,2}(饭店|餐馆|餐厅|饭馆|小吃店|奶茶店|公司|企业|个体户|小店|店)[。！!~～\s]*$"
        ),
    ),
]
# a question *about* a service (how long it takes, what it is, where to look, what it costs, whether it
# is reliable, what to do when it fails) is a knowledge question even when it names the service (进度,
# 预审, 填表, 免申即享); unless the citizen speaks of their own case
_ABOUT = re.compile(
    r"一般|通常|多久|多长时间|几天|几个工作日|是什么|什么是|什么意思|啥意思|怎么(兑现|改|用|查|反映)|怎样才能|有什么条件"
    r"|(哪些|反映)渠道|去哪里?反映|网站|要登录|说明|一定能|填错|有误|不对怎么办|能改吗|出结果|能查.{0,3}吗|窗口在哪"
    r"|怎么办|咋办|如何|是怎么|怎么(在|匹配|算|判断)|在(手机|网上|线上|app)|(去|在|到)哪(里|儿)?(看|查|找|办|申请|下载)|从哪(里|儿)?来|哪来的|来源"
    r"|收费|费用|要钱|免费|准不准|准确|靠谱|可靠|清单|目录|名单|(哪些|什么|哪类|哪种)(样的)?(企业|公司|单位|人|对象)"
    r"|(需|要)不需?要|是否(需要|要)|(需要|要|得)自己|(要|得|必须)用.{0,4}吗"
    r"|收不收|是啥|(什么|啥子?)服务|会怎么样|什么条件|what('s| is)|区别|安全|泄露|支持哪些|包括哪些|一共有|打到哪|确认吗"
    r"|(干啥|干什么|什么)用|才算|算是|别人的",
    re.IGNORECASE,
)
# …and the person service too, asked about rather than asked for: 人工帮办几点下班, 人工帮办收费吗
_ABOUT_PEOPLE = re.compile(r"几点|上班|下班|周末|收费|要钱|免费|真人吗|(是|还是)机器|区别|等多久")
_OWN = re.compile(r"我|俺|本人|本企业|本公司")
# A question that asks nothing of 小宝 — no request (帮我, 查一下, 你能) and no case of the asker's own (我…,
# 这些材料) — is about a service, not a use of it: 免申即享是自动到账吗, 预审通过了是不是就肯定能批下来
_QUESTION = re.compile(r"吗|嘛|是不是|会不会|是否|能否|有没有|怎么|咋|如何|什么|啥|哪|多久|几(天|点|号|种)|[?？]")
_ASKS_OF_US = re.compile(
    r"这些|这份|这几|你能|你可以|帮|给我|替我|请你|麻烦|查一?下|看一?下|看看|瞅|我(?!想问|想了解|想知道|想咨询)|俺|阿拉|本人|我司|本公司"
    r"|本企业|咱|\d{6,}|bcs",
    re.IGNORECASE,
)
_SERVICE_TOOLS = ("policy", "prereview", "prefill", "report")  # the tools a service's name alone can call
# what has to be brought or prepared is asked about, whoever asks (我想看看办居住证需要哪些材料)
_NEEDED = re.compile(r"(需要|要|得)(带|准备|交|提供)?(哪些|什么|啥)")
# topics a person should handle: complaints, petitions, emergencies and distress
SENSITIVE = re.compile(
    r"投诉|举报|信访|上访|自杀|轻生|不想活|活不下去|活着没(意思|意义)|想死|家暴|被打|报警|紧急求助"
    r"|(老公|丈夫|老婆|妻子|男朋友|男友|家里人|爸|妈|儿子|女儿|他|她)(又|总|经常|天天|老)?打我(?!电话|手机)"
)
# hello, thanks, bye — said alone, perhaps twice (谢谢谢谢) and with 小宝's name
_GREETING_WORD = (
    r"(你好|您好|哈喽|哈啰|嗨|hi|hello|hey|在吗|在么|在不在|有人吗|有人在吗|谢谢|多谢|谢啦|谢了|感谢|thx|thanks|thank you"
    r"|再见|再会|拜拜|bye|早|早安|晚安|早上好|上午好|下午好|晚上好|nihao|3q|打扰一下)"
)
# …with the particles, 小宝's name and emoji people add (哈喽哈喽👋, 早上好啊小宝☀️)
_GREETING = re.compile(
    rf"^(好的|明白了|那先这样吧)?[,，\s]*({_GREETING_WORD}(你|您)?[呀啊哈啦,，\s]*)+(小宝)?(了)?[呀啊哈啦\W_]*$",
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


def asks_about(text: str, person: bool = False) -> bool:
    """A question about a service or what it needs, not a request to use it (see _ABOUT, _NEEDED); with
    `person`, about the person service (_ABOUT_PEOPLE)."""
    if person:
        return bool(_ABOUT_PEOPLE.search(text)) and not _OWN.search(text)
    return (bool(_ABOUT.search(text)) and not _OWN.search(text)) or bool(_NEEDED.search(text))


def only_asks(text: str) -> bool:
    """A question with no request and no case of the asker's own in it (see _QUESTION, _ASKS_OF_US)."""
    return bool(_QUESTION.search(text)) and not _ASKS_OF_US.search(text)


def rules(text: str) -> Route:
    """The rules alone: greetings, numbers, sensitive topics, and the phrasings each tool is asked with."""
    if _GREETING.match(text.strip()):
        return Route("greeting")
    if tracking := TRACKING_NO.search(text.upper()):
        return Route("report", {"tracking_no": tracking.group(0)})
    if topic := SENSITIVE.search(text):
        return Route("handoff", {"reason": f"敏感话题：{topic.group(0)}"})
    about, only = asks_about(text), only_asks(text)
    for intent, pattern in _RULES:
        if intent in _SERVICE_TOOLS and only:
            continue
        # asking for a person is never a question, unless it asks about the service (人工帮办几点下班)
        if pattern.search(text) and not (asks_about(text, person=True) if intent == "handoff" else about):
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
    veto: float = 1.0  # P(knowledge) at which a tool the rules chose is overruled (1.0: never)
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
            "veto": self.veto,
            "intercept": self.intercept,
            "info": self.info,
            "weights": self.weights,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Classifier:
        if data["ngrams"] != [1, 2, 3]:
            raise ValueError(f"routing model uses n-grams {data['ngrams']}, this code computes [1, 2, 3]")
        return cls(
            list(data["intents"]),
            dict(data["weights"]),
            list(data["intercept"]),
            float(data["threshold"]),
            float(data["veto"]),
            dict(data.get("info") or {}),
        )


@functools.cache
def packaged() -> Classifier | None:
    """The shipped classifier; None when there is none (the rules alone route)."""
    return Classifier.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8"))) if MODEL_FILE.exists() else None


def route(text: str, classifier: Classifier | None = None) -> Route:
    """The rules; where they find only a knowledge question, the classifier's intent if it is confident;
    where they chose a tool on a service's words alone, knowledge if the classifier is sure it is a
    question (转人工会不会被记录下来, 进度有变化的时候会短信通知我吗). `classifier` defaults to the packaged one."""
    found = rules(text)
    model = classifier or packaged()
    if model is None:
        return found
    if found.intent != "knowledge":
        # never overruled: a greeting, a person asked for in distress, a case number the citizen gave, or an
        # intent the classifier was not trained on (一件事, a material to draft, an address)
        upper = text.upper()
        held = found.intent == "greeting" or found.intent not in model.intents or "reason" in found.arguments
        held = held or bool(APPLICATION_ID.search(upper) or TRACKING_NO.search(upper))
        if not held and model.probabilities(text)["knowledge"] >= model.veto:
            return Route("knowledge")
        return found
    if asks_about(text) or asks_about(text, person=True):  # a question about a service stays one
        return found
    intent, p = model.guess(text)
    if intent != "knowledge" and p >= model.threshold and not (intent in _SERVICE_TOOLS and only_asks(text)):
        return Route(intent, arguments(intent, text))
    return found


_ANAPHORA = re.compile(r"它|这个|那个|这项|那项|该事项|该政策|这件事|上述|刚才")


def rewrite(text: str, previous_question: str | None) -> str:
    """Resolve 它 / 这个 / 那个 from the conversation: a short follow-up that points back gets the
    previous question prepended, so retrieval sees the topic."""
    if previous_question and len(text) <= 30 and _ANAPHORA.search(text):
        return f"{previous_question} {text}"
    return text
