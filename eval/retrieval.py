"""`xiaobao eval retrieval`: several retrieval configurations side by side on real questions."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xiaobao.eval.metrics import mrr_at, ndcg_at, recall_at
from xiaobao.eval.questions import Question, load_questions
from xiaobao.knowledge.index import SearchFilter
from xiaobao.knowledge.retriever import unit_key
from xiaobao.operations.metrics import percentile
from xiaobao.services import Services
from xiaobao.settings import Settings

METRICS = ("recall@1", "recall@5", "recall@10", "recall@100", "mrr@10", "ndcg@10")


@dataclass(frozen=True)
class Config:
    weights: dict[str, float]
    fusion: str = "rrf"

    def describe(self) -> str:
        return f"{self.fusion} {json.dumps(self.weights)}" if len(self.weights) > 1 else next(iter(self.weights))


def configurations(signals: Sequence[str], default: Config) -> dict[str, Config]:
    """Each signal alone, then fusions to choose the default from: reciprocal rank fusion and
    normalised score fusion, with more or less weight on the dense signal; last the configured default."""
    configs = {name: Config({name: 1.0}) for name in signals}
    for fusion in ("rrf", "score"):
        for weight in (1.0, 1.5, 2.0, 3.0):
            configs[f"{fusion}_dense{weight:g}"] = Config({"dense": weight, "bm25": 1.0}, fusion)
    if "e5_sparse" in signals:
        configs["rrf_all"] = Config({name: 1.0 for name in signals})
    configs["default"] = default
    return configs


@dataclass
class RetrievalEval:
    queries_file: str
    corpus: list[str]
    default: str
    configs: dict[str, dict] = field(default_factory=dict)
    config_details: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return {"default": self.default, "configs": self.configs}

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.summary(), ensure_ascii=False, indent=2), encoding="utf-8")

    def table_rows(self, subset: str | None = None) -> list[list[str]]:
        rows = []
        for name, result in self.configs.items():
            r = result[subset] if subset else result
            rows.append([name, str(r["n"]), *(f"{r[m]:.3f}" for m in METRICS), f"{r['latency_p50_ms']:.1f}", f"{r['latency_p95_ms']:.1f}"])
        return rows

    def print(self, console) -> None:
        from rich.table import Table

        for subset in (None, "gov"):
            if subset and not any(r["gov"]["n"] for r in self.configs.values()):
                continue
            table = Table(title=f"检索评测：{Path(self.queries_file).name}" + ("（gov 子集）" if subset else ""))
            for col in ("config", "n", *METRICS, "p50 ms", "p95 ms"):
                table.add_column(col, justify="left" if col == "config" else "right")
            for row in self.table_rows(subset):
                table.add_row(*row)
            console.print(table)

    def write_markdown(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        chart = path.with_suffix(".png")
        self.plot(chart)
        header = "| config | fusion and weights | n | " + " | ".join(METRICS) + " | p50 ms | p95 ms |"
        lines = [
            f"# Retrieval evaluation — {Path(self.queries_file).name}",
            "",
            f"Corpus: {', '.join(self.corpus)}. Default configuration: `{self.default}`.",
            "",
            f"Settings: `{json.dumps(self.settings, ensure_ascii=False)}`",
            "",
            f"![chart]({chart.name})",
            "",
        ]
        for subset in (None, "gov"):
            if subset and not any(r["gov"]["n"] for r in self.configs.values()):
                continue
            lines += [f"## {'gov subset' if subset else 'All questions'}", "", header, "|" + "---|" * (len(METRICS) + 5)]
            for row in self.table_rows(subset):
                lines.append(f"| {row[0]} | {self.config_details[row[0]]} | " + " | ".join(row[1:]) + " |")
            lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")

    def plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = list(self.configs)
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 4))
        width = 0.27
        for i, metric in enumerate(("recall@10", "mrr@10", "ndcg@10")):
            values = [self.configs[n][metric] for n in names]
            bars = ax.bar([x + (i - 1) * width for x in range(len(names))], values, width, label=metric)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_ylim(0, 1)
        ax.set_title(f"Retrieval — {Path(self.queries_file).stem} (n={self.configs[names[0]]['n']})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def _score(runs: list[tuple[Question, list[str], float]]) -> dict:
    out: dict = {"n": len(runs)}
    for metric in METRICS:
        kind, k = metric.split("@")
        fn = {"recall": recall_at, "mrr": mrr_at, "ndcg": ndcg_at}[kind]
        out[metric] = sum(fn(ranked, q.relevant, int(k)) for q, ranked, _ in runs) / len(runs) if runs else 0.0
    latencies = [ms for _, _, ms in runs]
    out["latency_p50_ms"] = percentile(latencies, 50)
    out["latency_p95_ms"] = percentile(latencies, 95)
    return out


def corpus_collection(corpus: Sequence[Path]) -> str:
    """Each corpus gets its own collection, so evaluations never mix with the live knowledge base."""
    key = "\n".join(sorted(str(p.resolve()) for p in corpus))
    return "eval_" + hashlib.sha1(key.encode()).hexdigest()[:10]


def ingest_quietly(services: Services, paths: list[Path]):
    """Ingest without a progress display (the CLI passes its own, with bars)."""
    return services.ingestor.ingest(paths)


def run_retrieval_eval(
    settings: Settings,
    queries_file: Path,
    corpus: Sequence[Path],
    limit: int | None = None,
    config_names: Sequence[str] | None = None,
    ingest: Callable | None = None,
    console=None,
) -> RetrievalEval:
    queries = load_questions(queries_file, limit, require_gold=True)
    with Services(settings, collection=corpus_collection(corpus)) as services:
        kb = services.kb
        (ingest or ingest_quietly)(services, list(corpus))
        configs = configurations(["dense", *kb.sparse], Config(dict(settings.fusion_weights), settings.fusion))
        unknown = set(config_names or []) - set(configs)
        if unknown:
            raise ValueError(f"未知的配置 {sorted(unknown)}；可选：{sorted(configs)}")
        chosen = {n: c for n, c in configs.items() if not config_names or n in config_names}
        result = RetrievalEval(
            str(queries_file),
            [str(p) for p in corpus],
            "default",
            config_details={n: c.describe() for n, c in chosen.items()},
            settings={
                "embedder": kb.embedder.model_id,
                "embed_chars": settings.embed_chars,
                "statute_embed_chars": settings.statute_embed_chars,
                "rrf_k": settings.rrf_k,
                "candidates": settings.candidates,
            },
        )
        kb.retriever.search(queries[0].text, 1)  # warm-up: the first call loads jieba's dictionary
        for name, config in chosen.items():
            runs = []
            for q in queries:
                started = time.perf_counter()
                hits = kb.retriever.search(q.text, 100, SearchFilter(), config.weights, config.fusion)
                elapsed = (time.perf_counter() - started) * 1000
                ranked = list(dict.fromkeys(unit_key(h.payload) for h in hits))
                runs.append((q, ranked, elapsed))
            scores = _score(runs)
            scores["gov"] = _score([r for r in runs if r[0].gov])
            result.configs[name] = scores
            if console:
                console.print(f"{name}: recall@10 {scores['recall@10']:.3f}  mrr@10 {scores['mrr@10']:.3f}")
    return result
