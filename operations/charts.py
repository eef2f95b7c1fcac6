"""The dashboard's charts, drawn on the server with matplotlib (the service runs offline: no chart
library is fetched by the browser)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from xiaobao.operations.cockpit import TARGETS  # noqa: E402

# Chinese labels need a CJK font. matplotlib does not index the .ttc collections Debian ships them
# in, so known ones are added by path; without any, labels show as boxes (the numbers still read).
CJK_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
for _path in CJK_FONTS:
    if Path(_path).exists():
        font_manager.fontManager.addfont(_path)
plt.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "DejaVu Sans"]
plt.rcParams["axes.unicode_minus"] = False
SIZE = (7.5, 3.4)  # every chart the same size: they sit in a grid

PATH_NAMES = {"verbatim": "官方口径", "generated": "AI 生成", "quoted": "原文摘录", "refused": "未回答", "tool": "办事工具",
              "handoff": "转人工", "greeting": "寒暄", "error": "出错"}  # fmt: skip
BLUE, GREEN, RED, GREY, ORANGE = "#2563eb", "#16a34a", "#dc2626", "#9ca3af", "#f59e0b"


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=110)
    plt.close(fig)
    return out.getvalue()


def trend(report: dict):
    days = report["daily"]
    fig, ax = plt.subplots(figsize=SIZE)
    labels = [d["date"][5:] for d in days]
    ax.plot(labels, [d["answers"] for d in days], color=BLUE, marker="o", label="回答")
    ax.plot(labels, [d["sessions"] for d in days], color=GREEN, marker="o", label="会话")
    ax.plot(labels, [d["refused"] for d in days], color=RED, marker="o", label="未回答")
    ax.plot(labels, [d["handoff"] for d in days], color=ORANGE, marker="o", label="转人工")
    ax.set_title("每日服务量")
    ax.legend(loc="upper left", fontsize=8)
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    step = max(1, len(labels) // 15)
    ax.set_xticks(range(0, len(labels), step), labels[::step])
    return fig


def paths(report: dict):
    items = [(PATH_NAMES.get(k, k), v) for k, v in report["paths"].items() if v]
    fig, ax = plt.subplots(figsize=SIZE)
    if items:
        bars = ax.bar([k for k, _ in items], [v for _, v in items], color=BLUE)
        ax.bar_label(bars, fontsize=8)
    ax.set_title("回答路径")
    ax.set_ylim(bottom=0)
    return fig


def first_response(report: dict):
    buckets = report["handoffs"]["buckets"]
    fig, ax = plt.subplots(figsize=SIZE)
    colors = [GREEN, GREEN, GREEN, RED, RED]
    bars = ax.bar(list(buckets), list(buckets.values()), color=colors[: len(buckets)])
    ax.bar_label(bars, fontsize=8)
    ax.set_ylim(bottom=0)
    share = report["handoffs"]["within_60s"]
    ax.set_title("转人工首次响应" + (f"（{share:.0%} 在 60 秒内）" if share is not None else ""))
    return fig


def departments(report: dict):
    rows = report["by_department"][:12][::-1]
    fig, ax = plt.subplots(figsize=SIZE)
    left = [0] * len(rows)
    for key, color in (("verbatim", GREEN), ("generated", BLUE), ("tool", GREY), ("refused", RED)):
        values = [r[key] for r in rows]
        ax.barh([r["department"] for r in rows], values, left=left, color=color, label=PATH_NAMES[key])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_title("各部门回答量")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def evals(runs: list[dict]):
    fig, ax = plt.subplots(figsize=SIZE)
    series: dict[str, list[tuple[int, float]]] = {}
    for i, run in enumerate(runs):
        for label, value in run["headline"].items():
            if value is not None:
                series.setdefault(f"{run['kind']} · {label}", []).append((i, value))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_xticks(range(len(runs)), [r["version"][-7:] for r in runs], rotation=45, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title("评测指标随版本变化")
    if series:
        ax.legend(fontsize=7, loc="lower left")
    else:
        ax.text(0.5, 0.5, "暂无评测记录（运行 xiaobao eval …）", ha="center", va="center", transform=ax.transAxes, color=GREY)
    return fig


def cockpit_targets(report: dict):
    """The district's shares against their promises: a bar per figure, the promise as a tick; a figure
    without data is named as such, not drawn as zero."""
    figures = report["district"]["indicators"] | report["district"]["knowledge"]["indicators"]
    keys = [k for k in figures if TARGETS[k].unit == "%"]
    fig, ax = plt.subplots(figsize=SIZE)
    labels = [TARGETS[k].label for k in keys]
    values = [(figures[k]["value"] or 0) * 100 for k in keys]
    colors = [GREY if figures[k]["met"] is None else GREEN if figures[k]["met"] else RED for k in keys]
    bars = ax.bar(labels, values, color=colors)
    ax.bar_label(bars, [("无数据" if figures[k]["value"] is None else f"{v:.1f}%") for k, v in zip(keys, values, strict=True)], fontsize=8)
    ax.scatter(labels, [TARGETS[k].target * 100 for k in keys], marker="_", s=900, color="#111827", zorder=3)
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    ax.tick_params(axis="x", labelsize=7, labelrotation=20)
    ax.set_title("全区指标与承诺（横线：承诺；绿：达标，红：未达标，灰：无数据）")
    return fig


def cockpit_index(report: dict):
    rows = [r for r in report["departments"] if r["index"] is not None][:15][::-1]
    fig, ax = plt.subplots(figsize=SIZE)
    if rows:
        bars = ax.barh(
            [r["department"] for r in rows],
            [r["index"] for r in rows],
            color=[GREEN if r["index"] >= 90 else ORANGE if r["index"] >= 75 else RED for r in rows],
        )
        ax.bar_label(bars, [f"{r['index']:.1f}（{r['index_basis']}）" for r in rows], fontsize=8)
    else:
        ax.text(0.5, 0.5, "本期无数据", ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xlim(0, 110)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("各部门政务服务指数（括号内：有数据的指标数）")
    return fig


DRAWINGS = {
    "trend": trend,
    "paths": paths,
    "first_response": first_response,
    "departments": departments,
    "evals": evals,
    "cockpit_targets": cockpit_targets,
    "cockpit_index": cockpit_index,
}


def draw(name: str, data) -> bytes:
    return _png(DRAWINGS[name](data))
