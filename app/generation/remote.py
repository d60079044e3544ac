"""A generator that is a client of an OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama, or ragqa's own /v1).

With `RAGQA_GENERATOR_URL` set, the service loads no language model: retrieval, evidence and
grounding stay local, and each prompt is sent to `{url}/chat/completions` (greedy: temperature
0). Several service replicas can so share one engine, which batches their requests itself; a
batch from the local queue is sent as concurrent requests. Streaming uses the server's SSE.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from app.generation.base import Generation, GenerationRequest


class GeneratorUnavailableError(Exception):
    """The OpenAI-compatible server could not be reached or answered with an error (HTTP 503 to our client)."""


class RemoteGenerator:
    """Generates through an OpenAI-compatible `/chat/completions` endpoint; satisfies the `Generator` protocol."""

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None, timeout_s: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)
        self.name = model or self._first_model()

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation:
        return self._complete(GenerationRequest(messages, max_new_tokens))

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if len(requests) == 1:
            return [self._complete(requests[0])]
        with ThreadPoolExecutor(max_workers=len(requests), thread_name_prefix="ragqa-remote") as pool:
            return list(pool.map(self._complete, requests))

    def close(self) -> None:
        self._client.close()

    def _first_model(self) -> str:
        """The model the server lists first (a single-model server such as llama.cpp's needs no name)."""
        body = self._call(lambda: self._client.get("/models")).json()
        models = body.get("data") or []
        if not models:
            raise GeneratorUnavailableError(f"{self.base_url}/models lists no model; set RAGQA_GENERATOR_MODEL")
        return models[0]["id"]

    def _complete(self, request: GenerationRequest) -> Generation:
        body = {"model": self.name, "messages": request.messages, "max_tokens": request.max_new_tokens,
                "temperature": 0, "stream": request.on_text is not None}
        if request.on_text is None:
            reply = self._call(lambda: self._client.post("/chat/completions", json=body)).json()
            text = reply["choices"][0]["message"].get("content") or ""
            return self._generation(text, reply.get("usage"))
        body["stream_options"] = {"include_usage": True}
        pieces, usage = [], None

        def stream() -> None:
            nonlocal usage
            with self._client.stream("POST", "/chat/completions", json=body) as response:
                _raise_for_status(response, self.base_url)
                for chunk in _sse_data(response.iter_lines()):
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            pieces.append(piece)
                            request.on_text(piece)

        self._call(stream)
        return self._generation("".join(pieces), usage)

    def _call(self, action):
        try:
            response = action()
        except httpx.HTTPError as exc:
            raise GeneratorUnavailableError(f"generator at {self.base_url} unreachable: {exc}") from exc
        if isinstance(response, httpx.Response):
            _raise_for_status(response, self.base_url)
        return response

    @staticmethod
    def _generation(text: str, usage: dict | None) -> Generation:
        usage = usage or {}
        return Generation(text.strip(), int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))


def _raise_for_status(response: httpx.Response, base_url: str) -> None:
    if response.status_code >= 400:
        response.read()
        raise GeneratorUnavailableError(f"generator at {base_url} answered {response.status_code}: {response.text[:300]}")


def _sse_data(lines: Iterator[str]) -> Iterator[dict]:
    """The JSON payloads of an OpenAI-style event stream, up to `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)
