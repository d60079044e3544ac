# ragqa: answers questions from a mounted document folder, offline, on the CPU.
#   docker build -t ragqa .
#   docker run -v ./docs:/data/docs -p 8000:8000 -e RAGQA_API_KEYS=change-me ragqa
FROM python:3.11-slim

# The install step is scripts/setup.sh, the same script `make run`, `make test` and CI use.
# torch comes from the CPU wheel index here (PyPI's default build carries CUDA, several GB).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    RAGQA_CACHE_DIR=/opt/ragqa-cache \
    RAGQA_DOCS_DIR=/data/docs \
    RAGQA_INDEX_DIR=/data/index \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
COPY . /app
# Installs the packages and bakes the converted generator weights, their int8 copy and the ONNX
# embedder into the image (runs offline; the default 1.5B model needs ~12 GB of disk while building).
RUN bash scripts/setup.sh \
    && useradd --system --uid 10001 --home-dir /app ragqa \
    && mkdir -p /data/docs /data/index \
    && chown -R ragqa /data /opt/ragqa-cache

USER ragqa
VOLUME ["/data/docs", "/data/index"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
CMD ["bash", "scripts/serve.sh"]
