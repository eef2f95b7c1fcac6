"""Answerability: P(this passage answers this question), from features of the retrieved candidates.

A dense cosine says two texts are about similar things; e5 cosines of unrelated Chinese text sit
between 0.8 and 0.92, so a threshold on it lets "similar topic" pass as "answer". The decision here
is a small logistic model over features that tell those apart: the candidate's dense and BM25 scores,
how far it is ahead of the next candidate on each, and whether the passage holds the question's
*topic terms* (what is asked about: 养犬, 人才, 小学), not just its generic words (办理, 宝山区, 窗口).

The coefficients are fitted by `xiaobao eval answerability` (xiaobao.eval.answerability) on FAQ
questions with leave-out negatives and shipped as `answerability.json` beside this module: plain
numbers, no pickle. A model is fitted for one embedder (dense cosines are not comparable across
models); with another embedder `load_model` returns None and the engine keeps its cosine fallback.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xiaobao.knowledge.index import DENSE
from xiaobao.knowledge.lexical import STOP_WORDS, Tokenizer
from xiaobao.knowledge.retriever import Hit

MODEL_FILE = Path(__file__).with_name("answerability.json")

# Generic words of a government-service question: they say *how* or *where* something is asked,
# not *what* it is about, so a passage that shares only these does not answer. Kept small and
# explicit on purpose (with the lexical stop words on top): every word here is one the decision
# never counts as topic.
GENERIC = frozenset(
    """
    办理 办 怎么 如何 哪里 哪儿 什么 需要 可以 宝山区 宝山 上海市 上海 本市 本区 申请 请问 咨询 相关 问题
    情况 规定 政策 要求 流程 手续 材料 地点 地址 时间 多久 多少 哪些 是否 能否 现在 目前 我们 我家 自己
    您好 你好 谢谢 北京市 北京 部门 窗口 进行 有关 一下 时候 怎样 为什么 具体 应该 应当 还是 以及
    根据 按照 依据 资料 提供 携带 前往 可领 领取 获得 享受 符合 条件
    办好 办完 几点 上班 下班 要交 能不能 不能 网上 线上 能领 参加 多长 几天
    """.split()
)
_DIGITS = re.compile(r"^[\d.%％]+$")
# What about an item a question asks — its materials, its time, its place, its fee, who qualifies. One
# official reply answers one of these: 居住证办理要交哪些材料 is not answered by 居住证办好要多久, however close
# the phrasings are. (The words are generic for topic coverage above, and decisive here.)
ASPECTS = {
    "材料": (
        "材料", "证件", "带什么", "带哪些", "要带", "带啥", "准备什么", "准备哪些", "准备啥", "提交什么", "什么东西", "啥东西", "哪几样",
    ),
    "时间": (
        "多久", "几天", "多少天", "多长时间", "时限", "工作日", "什么时候", "何时", "几点", "时间", "周末", "周六", "周日",
        "礼拜六", "礼拜天", "礼拜日", "星期六", "星期天", "星期日", "节假日", "开门",
    ),
    "地点": ("哪里", "在哪", "地点", "地址", "哪儿"),
    "费用": ("多少钱", "费用", "收费", "交多少", "缴费", "交钱", "免费"),
    "条件": ("条件", "资格", "哪些人", "谁可以", "满足"),
    "电话": ("电话", "热线", "联系方式"),  # a number to call is not 怎么转人工
    # how to do it: 高龄津贴怎么申请 is not answered by 高龄津贴每月发多少 (怎么办, what to do now, is not this)
    "办法": (
        "怎么申请", "如何申请", "怎样申请", "咋申请", "怎么申领", "如何申领", "怎么办理", "如何办理", "咋办理", "怎么领", "如何领",
        "咋领", "怎么弄", "咋弄", "怎么参保", "如何参保", "怎么参加", "如何参加", "怎么查", "如何查", "咋查", "怎么预约", "如何预约",
    ),
    # what it is: 什么是免申即享 is not answered by 小微企业免申即享有什么条件
    # (not 是什么时候, a time, nor 法定代表人, a person)
    "含义": ("是什么(?!时候)", "什么是", "什么意思", "啥意思", "是啥(?!时候)", "是个啥", "咋理解", "怎么理解", "指什么", "代表(?!人)"),
    "隐私": ("泄露", "隐私", "信息安全"),
}  # fmt: skip


# Which transaction on an item a question is about. Service catalogues split an item by it (设立 /
# 变更 / 注销 登记; 申领 / 补领 / 换领): 个体户注销要什么材料 is not answered by 开个体户需要什么材料, nor
# 居住证过期了还能续吗 by 居住证办好要多久, however close the phrasings are. Applying for the thing is the
# default and has no words here.
ACTIONS = {
    "注销": ("注销", "不想干", "不干了", "关掉", "歇业", "停业"),
    "变更": ("变更", "变了", "更改", "修改", "改名", "换法人", "迁址", "迁移"),
    "补办": ("补办", "补领", "丢了", "遗失", "挂失", "损坏", "补发"),
    "续期": ("续期", "续签", "延期", "过期", "到期", "签注", "能续", "换领"),
    "年检": ("年检", "年审", "年报"),
    "申诉": ("申诉", "驳回", "复议", "不服"),
    "撤回": ("撤回", "撤销申请", "取消"),
    "停发": ("停发", "停止发放", "暂停发放", "去世"),
}


# The thing a question is about, named by its kind (an allowance, a certificate, a card, a licence):
# 高龄老人护理补贴 is not 高龄老人津贴 and 养老金 is not 津贴, however close the phrasings are.
_KINDS = "补贴|津贴|补助|养老金|公积金|保险金|抚恤金|证明|许可证|执照|证|卡|户口"
_THING = re.compile(rf"[\u4e00-\u9fff]{{1,3}}?(?:{_KINDS})(?!件)")  # 证件 is any document: a material, not a thing
_KIND = re.compile(rf"(?:{_KINDS})$")


def things_held(tokenizer: Tokenizer, question: str, phrasings: str, reply: str) -> bool:
    """Every thing the question names (see _THING) is the entry's: its kind (津贴, 证明, 执照…) among
    the entry's phrasings, and each other 2+ character word of it in the phrasings or the reply, as
    written or character by character (老年津贴: 津贴 in 老人津贴去哪里办, 老年 in 年满65周岁的老人). A thing
    the reply only mentions is not what the entry is about (出生证明: the newborn-insurance reply names
    出生医学证明 among its materials)."""
    for span in _THING.findall(question):
        kind = _KIND.search(span).group()
        if not loosely_covered(tokenizer, kind, phrasings):
            return False
        for part in tokenizer.tokens(span.removesuffix(kind)):
            if len(part) >= 2 and part not in GENERIC and not loosely_covered(tokenizer, part, f"{phrasings} {reply}"):
                return False
    return True


# Who and where a question is about, when that is not everyone in this district: 嘉定区的高龄老人津贴 is not
# answered by Baoshan's, nor 港澳台居民居住证 by the ordinary 居住证 reply. A question naming one of these
# gets an entry's reply only when the entry names it too.
_DISTRICTS = "黄浦|徐汇|长宁|静安|普陀|虹口|杨浦|闵行|嘉定|浦东|金山|松江|青浦|奉贤|崇明"
# Provinces and nearby cities count only with their 省/市: 我是安徽来的 says where the citizen is from,
# 安徽省的… what the question is about.
_REGIONS = (
    "北京|天津|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|"
    "甘肃|青海|苏州|杭州|南京|无锡|宁波|嘉兴|南通|昆山|太仓|深圳|广州"
)
_PLACE = re.compile(rf"({_DISTRICTS})新?区?|({_REGIONS})[省市]|(?<=[在到去])({_REGIONS})")  # 在昆山开个体户: where it is done
GROUPS = (
    "港澳台", "香港", "澳门", "台湾", "外籍", "外国人", "华侨", "未成年", "残疾", "军人", "退役", "学生",
    "个体", "民办非企业", "社会组织", "事业单位",  # kinds of applicant: 个体户 is not 小微企业
)  # fmt: skip


_LONG_NUMBER = re.compile(r"\d{3,}")  # 799, 2025, 12345: a promise, a year, a line; 83岁 is the asker's


def qualifiers_held(question: str, phrasings: str, reply: str) -> bool:
    """Every place (another district, province or city), group of people (GROUPS) and number of three
    or more digits the question names is named by the entry (its phrasings or reply) too; and every
    group the entry's phrasings name, by the question: an entry about 个体户 does not answer
    开办企业需要哪些材料."""
    named = [next(g for g in m.groups() if g) for m in _PLACE.finditer(question)] + [g for g in GROUPS if g in question]
    named += _LONG_NUMBER.findall(question)
    entry = f"{phrasings} {reply}"
    return all(word in entry for word in named) and all(g in question for g in GROUPS if g in phrasings)


_ASPECT_PATTERNS = {name: re.compile("|".join(words)) for name, words in ASPECTS.items()}


def aspects(text: str) -> set[str]:
    """The aspects (see ASPECTS: words, a few with a lookahead) a text asks or speaks about."""
    return {name for name, pattern in _ASPECT_PATTERNS.items() if pattern.search(text)}


def actions(text: str) -> set[str]:
    """The transactions (see ACTIONS) a text names."""
    return {name for name, words in ACTIONS.items() if any(w in text for w in words)}


FEATURES = (
    "dense",  # the candidate's dense cosine (for a Q&A entry: with its closest phrasing)
    "dense_margin",  # dense minus the best dense among the candidates from other sources (see `rival`)
    "bm25",  # log(1 + BM25 score)
    "bm25_margin",  # bm25 minus the best bm25 among the candidates from other sources
    "topic_cover",  # share of the question's topic terms found in the passage
    "topic_all",  # 1 when every topic term is found
    "topic_missing",  # topic terms not found (capped at 3)
    "topic_none",  # 1 when the question has no topic terms at all (coverage says nothing then)
)


def topic_terms(tokenizer: Tokenizer, text: str) -> list[str]:
    """The content words that name what a text is about: jieba words (precise mode) of 2+ characters,
    minus stop words, generic words and numbers."""
    cutter = getattr(tokenizer, "_jieba", None)
    words = cutter.lcut(text.lower()) if cutter is not None else tokenizer.tokens(text)
    out: list[str] = []
    for word in words:
        word = word.strip()
        if len(word) < 2 or word in STOP_WORDS or word in GENERIC or _DIGITS.match(word) or not re.search(r"[\w\u4e00-\u9fff]", word):
            continue
        if word not in out:
            out.append(word)
    return out


def covered(tokenizer: Tokenizer, term: str, passage: str) -> bool:
    """A term is in a passage as written, or (a compound like 养犬登记) as all its 2+ character parts."""
    if term in passage:
        return True
    parts = [p for p in tokenizer.tokens(term) if len(p) >= 2 and p != term and p not in GENERIC]
    return bool(parts) and all(p in passage for p in parts)


def loosely_covered(tokenizer: Tokenizer, term: str, text: str) -> bool:
    """`covered`, or every character of the term somewhere in the text (老年 in 年满65周岁的老人): the
    looser test the citation check and the verbatim rule use (the fitted features use `covered`)."""
    return covered(tokenizer, term, text) or all(ch in text for ch in term)


def candidate_text(hit: Hit) -> str:
    """What a candidate says: a Q&A entry's phrasing, question and official reply; a passage's text."""
    p = hit.payload
    return " ".join(str(p.get(k) or "") for k in ("title", "question", "text", "answer")).lower()


@dataclass
class Candidate:
    """What the features need of one retrieved candidate (also what the trainer stores)."""

    key: str
    dense: float | None
    bm25: float | None
    text: str
    doc_type: str = ""
    source: str = ""  # the service item a guide section or Q&A entry belongs to; empty: the unit stands alone


def candidates(hits: Sequence[Hit], key=lambda h: h.group) -> list[Candidate]:
    return [
        Candidate(
            key(h),
            h.signals[DENSE][1] if DENSE in h.signals else None,
            h.signals["bm25"][1] if "bm25" in h.signals else None,
            candidate_text(h),
            h.payload.get("doc_type", ""),
            h.payload.get("item") or "",
        )
        for h in hits
    ]


def rivals(cands: Sequence[Candidate], i: int, on_topic: bool) -> list[int]:
    """The candidates that compete with candidate i. When i holds every topic term of the question,
    the other sections of its own service guide (受理条件, 办理地点, 法定时限…) and the Q&A entries of the
    same item are not rivals: a question about that item finds them all close together, and a margin
    over its own siblings says nothing about whether the item answers. Otherwise (居住证积分 asked, the
    居住证 guide found) every other candidate is a rival, siblings included."""
    mine = cands[i].source or cands[i].key
    return [j for j, c in enumerate(cands) if j != i and (not on_topic or (c.source or c.key) != mine)]


def features(tokenizer: Tokenizer, question: str, cands: Sequence[Candidate], terms: list[str] | None = None) -> list[list[float]]:
    """One feature row per candidate, in FEATURES order. A signal that did not return a candidate
    counts as a little below the lowest score that signal gave any candidate."""
    terms = topic_terms(tokenizer, question) if terms is None else terms
    seen_dense = [c.dense for c in cands if c.dense is not None]
    floor_dense = (min(seen_dense) - 0.02) if seen_dense else 0.0
    dense = [c.dense if c.dense is not None else floor_dense for c in cands]
    bm25 = [math.log1p(max(c.bm25 or 0.0, 0.0)) for c in cands]
    rows = []
    for i, c in enumerate(cands):
        found = sum(covered(tokenizer, t, c.text) for t in terms)
        missing = len(terms) - found
        others = rivals(cands, i, on_topic=bool(terms) and missing == 0)
        if others:
            other_dense, other_bm25 = max(dense[j] for j in others), max(bm25[j] for j in others)
        elif len(cands) > 1:  # every candidate is from this one source: the next source is below all of them
            other_dense, other_bm25 = floor_dense, 0.0
        else:
            other_dense, other_bm25 = dense[i], bm25[i]
        rows.append([
            dense[i],
            dense[i] - other_dense,
            bm25[i],
            bm25[i] - other_bm25,
            found / len(terms) if terms else 1.0,
            1.0 if missing == 0 else 0.0,
            float(min(missing, 3)),
            0.0 if terms else 1.0,
        ])  # fmt: skip
    return rows


@dataclass
class Model:
    """Standardised logistic regression: p = σ(intercept + Σ coef·(x − mean)/scale)."""

    embedder: str
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    answer_threshold: float  # P at or above which Xiaobao answers (chosen for the target false-answer rate)
    verbatim_threshold: float  # P an official reply must also reach to be given verbatim
    info: dict = field(default_factory=dict)  # how it was trained, and what it scored

    def probability(self, row: Sequence[float]) -> float:
        z = self.intercept + sum(c * (x - m) / s for c, x, m, s in zip(self.coef, row, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def score(self, tokenizer: Tokenizer, question: str, cands: Sequence[Candidate]) -> list[float]:
        return [self.probability(row) for row in features(tokenizer, question, cands)]

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "embedder": self.embedder,
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
            "answer_threshold": self.answer_threshold,
            "verbatim_threshold": self.verbatim_threshold,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"answerability model has features {data['features']}, this code computes {list(FEATURES)}")
        return cls(
            data["embedder"],
            list(data["mean"]),
            list(data["scale"]),
            list(data["coef"]),
            float(data["intercept"]),
            float(data["answer_threshold"]),
            float(data["verbatim_threshold"]),
            dict(data.get("info") or {}),
        )


def load_model(path: Path | None, embedder: str) -> Model | None:
    """The fitted model for this embedder (the packaged one unless a path is given); None when the
    file is missing or was fitted for another embedder."""
    path = path or MODEL_FILE
    if not path.exists():
        return None
    model = Model.from_dict(json.loads(path.read_text(encoding="utf-8")))
    return model if model.embedder == embedder else None


@dataclass
class Assessment:
    """Candidates re-ranked by P(answers), and whether the best one is good enough to answer from."""

    hits: list[Hit]
    probabilities: list[float]  # same order as hits
    answerable: bool


def assess(model: Model, tokenizer: Tokenizer, question: str, hits: Sequence[Hit], threshold: float | None = None) -> Assessment:
    probs = model.score(tokenizer, question, candidates(hits))
    order = sorted(range(len(hits)), key=lambda i: -probs[i])  # stable: ties keep the fused order
    ranked, ranked_p = [hits[i] for i in order], [probs[i] for i in order]
    limit = model.answer_threshold if threshold is None else threshold
    return Assessment(ranked, ranked_p, bool(ranked_p) and ranked_p[0] >= limit)
