"""Score material pre-review on a labelled case set (see eval/prereview_cases.py for the format):
case accuracy (every scored point right), point accuracy, and per defect type the precision and
recall of the reviewer reporting it. Two sets: the project's own (eval/data/prereview, made with
the reviewer's label layout) and an independent one in real documents' layouts, generated on first
use (eval/prereview_field_cases.py; evaluation only, never tuned on)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from xiaobao.govdata.records import Directory
from xiaobao.prereview.review import PointResult, Reviewer


def reported_defects(points: list[PointResult]) -> set[str]:
    """The defect types a review reports, from the points it failed."""
    found = set()
    for p in points:
        if p.result != "fail":
            continue
        if p.check == "present":
            found.add("missing_material")
        elif p.check == "legible":
            found.add("blurred_scan" if "模糊" in p.evidence else "rotated_scan")
        elif p.check == "credit_code":
            found.add("bad_code")
        elif p.check == "id_number":
            found.add("bad_id_number")
        elif p.check == "matches_record":
            found.add("bad_code" if "信用代码" in p.evidence else "bad_id_number" if "身份证号" in p.evidence else "name_mismatch")
        elif p.check == "same_name":
            found.add("name_mismatch")
        elif p.check == "unexpired":
            found.add("expired")
        elif p.check == "has_fields":
            found.add("missing_field")
    return found


SETS = {"original": Path("eval/data/prereview"), "independent": Path("var/prereview_field")}


def independent_set(folder: Path) -> Path:
    """The independent case set in `folder`, generated there first (seeded, 120 cases) if it holds none."""
    from xiaobao.eval.prereview_field_cases import generate

    if not folder.is_dir() or not any((p / "case.json").is_file() for p in folder.iterdir()):
        generate(folder, 120)
    return folder


def write_case(folder: Path, files, item_id: str, applicant_ref: str, defect: str, on: dt.date, expected: dict) -> None:
    """One labelled case as `load_case` reads it: the files, and case.json with what the review should say
    (points expected None are left out: not scored)."""
    folder.mkdir(parents=True)
    for name, data in files:
        (folder / name).write_bytes(data)
    case = {"item_id": item_id, "applicant_ref": applicant_ref, "defect": defect, "on": on.isoformat(),
            "expected": {k: v for k, v in expected.items() if v is not None}}  # fmt: skip
    (folder / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")


def cpu_seconds() -> float:
    """CPU time of this process and its live children (the review's reading workers), on Linux;
    children read from /proc, as they outlive each case."""
    import multiprocessing
    import os

    total = time.process_time()
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def load_case(folder: Path) -> tuple[dict, list[tuple[str, bytes]]]:
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    files = [(f.name, f.read_bytes()) for f in sorted(folder.iterdir()) if f.name != "case.json"]
    return case, files


def evaluate(cases_dir: Path, directory: Directory, reviewer: Reviewer, on_case: Callable[[], None] | None = None) -> dict:
    folders = sorted(p for p in cases_dir.iterdir() if (p / "case.json").is_file())
    if not folders:
        raise FileNotFoundError(f"{cases_dir} 下没有案例（每个案例是一个含 case.json 的文件夹）")
    right_cases = points = right_points = false_fails = 0
    tp: Counter = Counter()
    fp: Counter = Counter()
    fn: Counter = Counter()
    misses: list[dict] = []
    seconds: list[float] = []
    cpu_started = cpu_seconds()
    for folder in folders:
        case, files = load_case(folder)
        item = directory.item(case["item_id"])
        if item is None:
            raise ValueError(f"{folder}: 未知事项 {case['item_id']}")
        started = time.perf_counter()
        review = reviewer.review(
            item,
            files,
            directory.person(case["applicant_ref"]),
            directory.enterprise(case["applicant_ref"]),
            dt.date.fromisoformat(case["on"]),
        )
        seconds.append(time.perf_counter() - started)
        wrong = {
            key: (want, review.result(*key.split("/"))) for key, want in case["expected"].items() if review.result(*key.split("/")) != want
        }
        points += len(case["expected"])
        right_points += len(case["expected"]) - len(wrong)
        right_cases += not wrong
        if case["defect"] == "clean":  # a correct material told it is wrong: the error that costs a citizen a trip
            false_fails += sum(got == "fail" for _, got in wrong.values())
        if wrong:
            misses.append(
                {"case": folder.name, "defect": case["defect"], "wrong": {k: {"expected": w, "got": g} for k, (w, g) in wrong.items()}}
            )
        reported = reported_defects(review.points)
        truth = case["defect"]
        for defect in reported:
            (tp if defect == truth else fp)[defect] += 1
        if truth != "clean" and truth not in reported:
            fn[truth] += 1
        if on_case:
            on_case()
    defects = sorted(set(tp) | set(fp) | set(fn))
    return {
        "n": len(folders),
        "accuracy": round(right_cases / len(folders), 4),
        "point_accuracy": round(right_points / points, 4),
        "points": points,
        "per_defect": {
            d: {
                "precision": round(tp[d] / (tp[d] + fp[d]), 4) if tp[d] + fp[d] else None,
                "recall": round(tp[d] / (tp[d] + fn[d]), 4) if tp[d] + fn[d] else None,
                "cases": tp[d] + fn[d],
            }
            for d in defects
        },
        "defect_counts": dict(Counter(json.loads((f / "case.json").read_text(encoding="utf-8"))["defect"] for f in folders)),
        "clean_false_fails": false_fails,
        "seconds_per_case": round(sum(seconds) / len(seconds), 2),
        "cpu_seconds_per_case": round((cpu_seconds() - cpu_started) / len(folders), 2),
        "misses": misses,
    }
