"""How often the injection screen flags official text: every file under the given folders is loaded and
chunked as ingestion does, screened as ingestion does, and counted — chunks and sentences flagged, the
flags' words, examples, and chunks whose text the screening changed (must be 0: official text is kept
as published).

    python -m xiaobao.eval.screening ../shared/data/corpus/laws ../shared/data/corpus/service-guides
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from xiaobao.ingest.loaders import LoadFailed, LoadOptions, load_file
from xiaobao.ingest.pipeline import discover, flag

_SENTENCES = re.compile(r"(?<=[。！？!?；;\n])")


def measure(folder: Path, examples: int = 10) -> dict:
    files = chunks = sentences = flagged_chunks = flagged_sentences = changed = 0
    words: Counter[str] = Counter()
    shown: list[dict] = []
    for path, root in discover([folder]):
        try:
            loaded = load_file(path, str(path), root, LoadOptions())
        except LoadFailed:
            continue
        files += 1
        before = [(c.text, c.meta.get("answer")) for c in loaded.chunks]
        flag(loaded, path)
        for chunk, (text, answer) in zip(loaded.chunks, before, strict=True):
            chunks += 1
            sentences += sum(1 for s in _SENTENCES.split(text) if s.strip())
            changed += chunk.text != text or chunk.meta.get("answer") != answer
            found = chunk.meta.get("flags", [])
            flagged_chunks += bool(found)
            flagged_sentences += len(found)
            words.update(f["span"] for f in found)
            for f in found[: max(0, examples - len(shown))]:
                shown.append({"citation": chunk.citation, "span": f["span"], "sentence": f["sentence"][:120]})
    return {
        "corpus": str(folder),
        "files": files,
        "chunks": chunks,
        "sentences": sentences,
        "flagged_chunks": flagged_chunks,
        "flagged_sentences": flagged_sentences,
        "flagged_chunk_rate": round(flagged_chunks / chunks, 6) if chunks else None,
        "changed_chunks": changed,
        "words": dict(words.most_common(20)),
        "examples": shown,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="False positives of the injection screen on official text.")
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--examples", type=int, default=10, help="examples shown per corpus")
    args = parser.parse_args()
    print(json.dumps([measure(folder, args.examples) for folder in args.folders], ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
