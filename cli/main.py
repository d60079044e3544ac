"""The `ragqa` command: ingest a folder, serve it, ask a question (locally or of a server), chat, measure quality.

`ragqa ingest` and `ragqa eval` are `python -m ingest` and `python -m bench.quality` under one name;
`ragqa serve` is what `make run` and the Docker image run; `ragqa ask` prints an answer with its quote
(or, for an explanation, each sentence with where it stands in its document) and sources, or the
`/ask` response JSON with `--json`; `ragqa chat` keeps a conversation going in the terminal.

Exit codes of `ragqa ask`: 0 answered, 3 the documents do not contain the answer (abstained),
2 usage or configuration error (bad question, no index, a key is needed), 1 anything else
(server unreachable, server not ready, server error).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from core.environment import use_offline_models
from core.logs import UVICORN_LOG_CONFIG, log_line

EXIT_ANSWERED, EXIT_ERROR, EXIT_USAGE, EXIT_ABSTAINED = 0, 1, 2, 3
EXIT_TERMINATED = 128 + 15  # `ragqa serve` stopped by SIGTERM during its start-up ingest
_INGEST_STOPPED = 130  # `python -m ingest` stopped by SIGTERM or Ctrl-C (ingest.__main__.EXIT_STOPPED)

_DESCRIPTION = "Answers questions from a folder of documents and shows where each answer came from."
_EPILOG = """\
commands:
  ragqa ingest [FOLDER] [--index DIR]   bring an index in line with a folder (incremental)
  ragqa serve [--host H] [--port P]     ingest RAGQA_DOCS_DIR, then serve the API and the web page
  ragqa ask "QUESTION" [--url URL]      answer from the local index, or ask a running server
  ragqa chat [--url URL]                a conversation in the terminal: follow-ups answered in context
  ragqa eval QUESTIONS ARTICLES         measure answer quality on a SQuAD-format question set

Run `ragqa COMMAND --help` for a command's options. Settings come from RAGQA_* environment
variables (docs/configuration.md). `ragqa ask` exits 0 when it answered, 3 when the documents
do not contain the answer, 2 on a usage or configuration error, 1 on any other error.
"""


class CliError(Exception):
    """A failure to report in one line, with the exit code it means."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# --- ragqa ask ------------------------------------------------------------------------------------
def ask_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Answer a question from the documents, with the quote that supports it and the sources.",
        epilog="Without --url the local index (RAGQA_INDEX_DIR) is read and the models are loaded in this "
               "process, which takes a few seconds. Exit codes: 0 answered, 3 the documents do not contain "
               "the answer, 2 usage or configuration error, 1 other error (e.g. server unreachable).",
    )
    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument("--url", help="ask the ragqa server at this address (e.g. http://127.0.0.1:8000) "
                                      "instead of loading the index here")
    parser.add_argument("--api-key", help="API key sent as a Bearer token with --url (default: RAGQA_API_KEY)")
    parser.add_argument("--index", type=Path, help="index directory to read without --url (default: RAGQA_INDEX_DIR)")
    parser.add_argument("--top-k", type=int, default=4, help="passages to retrieve and give the model (default 4)")
    parser.add_argument("--style", choices=("auto", "short", "explain"), default="auto",
                        help="answer shape: a short phrase, an explanation of 1-4 sentences, or auto (default: "
                             "decided from the question)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server (default 300)")
    parser.add_argument("--json", action="store_true", help="print the /ask response as JSON")
    return parser


def ask_server(url: str, question: str, top_k: int, api_key: str | None, timeout: float,
               style: str = "auto") -> dict:
    return post_ask(url, {"question": question, "top_k": top_k, "style": style}, api_key, timeout)


def post_ask(url: str, request: dict, api_key: str | None, timeout: float) -> dict:
    """`POST /ask` of the server at `url`; its errors as a `CliError` with the exit code they mean."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(f"{url.rstrip('/')}/ask", json=request, headers=headers, timeout=timeout)
    except httpx.InvalidURL as exc:
        raise CliError(f"invalid --url {url!r}: {exc}", EXIT_USAGE) from exc
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the server at {url}: {exc}") from exc
    detail = _detail(response)
    if response.status_code == 401:
        raise CliError(f"the server needs an API key (--api-key or RAGQA_API_KEY): {detail}", EXIT_USAGE)
    if response.status_code in (400, 413, 422):
        raise CliError(f"the server refused the question: {detail}", EXIT_USAGE)
    if response.status_code != 200:
        raise CliError(f"the server answered HTTP {response.status_code}: {detail}")
    return response.json()


def _detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") or body.get("detail") or body) if isinstance(body, dict) else str(body)


def ask_locally(question: str, top_k: int, index_dir: Path | None, style: str = "auto") -> dict:
    """The same Answerer as `POST /ask`, over the local index, in this process."""
    import asyncio

    from pydantic import ValidationError

    from app.answering.answerer import Answerer
    from app.generation.factory import generator_from_settings
    from app.generation.remote import GeneratorUnavailableError
    from app.schemas import AskRequest
    from index.directory import IndexDirectory
    from index.embedder import Embedder
    from index.errors import IndexMismatchError, IndexNotFoundError
    from index.retrieval import Retriever
    from index.vectors import VectorOptions

    try:
        request = AskRequest(question=question, top_k=top_k, style=style)
    except ValidationError as exc:
        raise CliError(_validation_message(exc), EXIT_USAGE) from exc
    settings = _settings()
    try:  # before loading any model: a missing index is the commonest mistake
        index = IndexDirectory.open(index_dir or settings.index_dir, settings.embedding_model,
                                     vectors=VectorOptions.from_settings(settings))
    except (IndexNotFoundError, IndexMismatchError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    try:
        embedder = Embedder.from_settings(settings)
        generator = generator_from_settings(settings)  # RAGQA_GENERATOR_URL: a remote server generates
        retriever = Retriever.from_settings(index, embedder, settings)
        response = asyncio.run(Answerer(retriever, generator, settings).ask(request.question, request.top_k,
                                                                             style=request.style))
    except GeneratorUnavailableError as exc:
        raise CliError(str(exc)) from exc
    finally:
        index.close()
    return response.model_dump(mode="json")


def _settings():
    from pydantic import ValidationError

    from core.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise CliError(f"invalid settings: {_validation_message(exc)}", EXIT_USAGE) from exc


def _validation_message(exc) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


def format_answer(body: dict) -> str:
    """A response as a person reads it: the answer, the supporting quote (for an explanation, each sentence
    with where its support stands), then the sources its [n] markers point at."""
    explained = body.get("shape") == "explain" and not body.get("abstained")
    lines = [] if explained else [body["answer"]]
    if body.get("abstained"):
        lines.append("(abstained: no passage of the documents answers this question)")
    for sentence in body.get("sentences", []) if explained else []:
        marks = "".join(f" [{n}]" for n in sentence["citations"])
        lines.append(" ".join(sentence["text"].split()) + marks)
        lines += [f"    — {s['source']}, characters {s['start']}-{s['end']}" for s in sentence["support"]]
    quote = body.get("quote")
    if quote and not explained:
        lines += ["", f"Quote ({quote['source']}, characters {quote['start']}-{quote['end']}):",
                  textwrap.indent(textwrap.fill(" ".join(quote["text"].split()), 96), "  ")]
    if body.get("citations"):
        lines += ["", "Sources:"]
        for n, c in enumerate(body["citations"], start=1):
            where = f"page {c['page']}" if c.get("page") else f"characters {c['start']}-{c['end']}"
            lines.append(f"  [{n}] {c['source']} ({where})  score {c['score']:.4f}  similarity {c['similarity']:.2f}")
    return "\n".join(lines)


def run_ask(argv: list[str], prog: str) -> int:
    args = ask_parser(prog).parse_args(argv)
    if not 1 <= args.top_k <= 20:
        raise CliError("--top-k must be between 1 and 20", EXIT_USAGE)
    if args.url:
        body = ask_server(args.url, args.question, args.top_k, args.api_key or _settings().api_key.get_secret_value(),
                          args.timeout, args.style)
    else:
        body = ask_locally(args.question, args.top_k, args.index, args.style)
    print(json.dumps(body, indent=2, ensure_ascii=False) if args.json else format_answer(body))
    return EXIT_ABSTAINED if body.get("abstained") else EXIT_ANSWERED


# --- ragqa chat: a conversation, each question answered in the context of the ones before it (sent as history) ---
_HELP = "Type a question and press Enter; /new starts a new conversation; /quit or Ctrl-D leaves."


def chat_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A conversation with the documents in the terminal: each question is answered in the context of "
                    "the ones before it (a follow-up like \"When was it built?\" is searched as the question it stands "
                    "for, shown as \"searched as: ...\"). " + _HELP,
        epilog="Without --url the local index (RAGQA_INDEX_DIR) is read and the models are loaded once in this process. "
               "Questions are read from standard input, one a line, so a file of questions can be piped in. Exit codes: "
               "0 at the end of the conversation, 2 usage or configuration error, 1 other error (e.g. server unreachable).",
    )
    parser.add_argument("--url", help="talk to the ragqa server at this address instead of loading the index here")
    parser.add_argument("--api-key", help="API key sent as a Bearer token with --url (default: RAGQA_API_KEY)")
    parser.add_argument("--index", type=Path, help="index directory to read without --url (default: RAGQA_INDEX_DIR)")
    parser.add_argument("--top-k", type=int, default=4, help="passages to retrieve and give the model (default 4)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server (default 300)")
    return parser


class LocalAnswerer:
    """The same Answerer as `POST /ask`, over the local index, loaded once for the whole conversation."""

    def __init__(self, index_dir: Path | None, settings) -> None:
        from app.answering.answerer import Answerer
        from app.generation.factory import generator_from_settings
        from index.directory import IndexDirectory
        from index.embedder import Embedder
        from index.errors import IndexMismatchError, IndexNotFoundError
        from index.retrieval import Retriever
        from index.vectors import VectorOptions

        try:  # before loading any model: a missing index is the commonest mistake
            self.index = IndexDirectory.open(index_dir or settings.index_dir, settings.embedding_model,
                                             vectors=VectorOptions.from_settings(settings))
        except (IndexNotFoundError, IndexMismatchError) as exc:
            raise CliError(str(exc), EXIT_USAGE) from exc
        retriever = Retriever.from_settings(self.index, Embedder.from_settings(settings), settings)
        self.answerer = Answerer(retriever, generator_from_settings(settings), settings)
        import asyncio

        self.runner = asyncio.Runner()

    def ask(self, request) -> dict:
        from app.generation.remote import GeneratorUnavailableError

        try:
            response = self.runner.run(self.answerer.ask(request.question, request.top_k, history=request.history))
        except GeneratorUnavailableError as exc:
            raise CliError(str(exc)) from exc
        return response.model_dump(mode="json")

    def close(self) -> None:
        self.runner.close()
        self.index.close()


def latest_within(history: list[dict], max_turns: int, max_chars: int) -> list[dict]:
    """The latest whole exchanges (question and answer) within the history limits; the oldest go first."""
    while history and (len(history) > max_turns or sum(len(t["content"]) for t in history) > max_chars):
        history = history[2:]
    return history


def run_chat(argv: list[str], prog: str) -> int:
    from pydantic import ValidationError

    from app.schemas import AskRequest

    args = chat_parser(prog).parse_args(argv)
    if not 1 <= args.top_k <= 20:
        raise CliError("--top-k must be between 1 and 20", EXIT_USAGE)
    settings = _settings()
    api_key = args.api_key or settings.api_key.get_secret_value()
    local = None if args.url else LocalAnswerer(args.index, settings)
    interactive = sys.stdin.isatty()
    if interactive:
        print(_HELP, file=sys.stderr)
    history: list[dict] = []
    try:
        while True:
            try:
                question = input("> " if interactive else "").strip()
            except EOFError:
                return EXIT_ANSWERED
            if not question:
                continue
            if question in ("/quit", "/exit"):
                return EXIT_ANSWERED
            if question == "/new":
                history = []
                print("(new conversation)\n", flush=True)
                continue
            history = latest_within(history, settings.history_max_turns, settings.history_max_chars)
            try:
                request = AskRequest(question=question, top_k=args.top_k, history=history)
            except ValidationError as exc:  # a question too long: say so, and go on with the conversation
                print(f"error: {_validation_message(exc)}", file=sys.stderr)
                continue
            if local is not None:
                body = local.ask(request)
            else:
                body = post_ask(args.url, request.model_dump(mode="json", exclude={"stream"}), api_key, args.timeout)
            if not interactive:
                print(f"> {question}")
            searched = body.get("standalone_question") or question
            if searched != question:
                print(f"(searched as: {searched})")
            print(format_answer(body) + "\n", flush=True)
            history += [{"role": "user", "content": searched}, {"role": "assistant", "content": body["answer"]}]
    except KeyboardInterrupt:
        return EXIT_ANSWERED if interactive else EXIT_ERROR
    finally:
        if local is not None:
            local.close()


# --- ragqa serve ----------------------------------------------------------------------------------
def run_serve(argv: list[str], prog: str) -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Bring the index up to date with RAGQA_DOCS_DIR (as `ragqa ingest`), then serve the HTTP API "
                    "and the web page. The server starts even when ingest reports a problem, serving the index as it is.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--no-ingest", action="store_true", help="serve the index as it is, without ingesting first")
    args = parser.parse_args(argv)
    settings = _settings()  # a bad RAGQA_* value stops here with one line, not in the server's start-up
    stop = _StopRequest()  # until the server takes SIGTERM over (as PID 1 in a container it is otherwise ignored)
    ingest_finished = threading.Event()
    if args.no_ingest:
        ingest_finished.set()
    else:
        # A child process, side by side with the server: the models load while it checks (or embeds) the folder,
        # and the server opens the index once it has finished. Its report is JSON log lines on stdout, as the
        # server's log is: one stream.
        ingest = subprocess.Popen([sys.executable, "-m", "ingest", "--log-json"])
        threading.Thread(target=_watch_ingest, args=(ingest, stop, ingest_finished), name="ragqa-ingest",
                         daemon=True).start()
        stop.child = ingest
    import uvicorn

    from app.main import create_app

    class Server(uvicorn.Server):
        """uvicorn's server, which passes SIGTERM on to an ingest still running as the signal comes, not once the
        server has closed (closing can take seconds, in which the ingest would go on)."""

        def handle_exit(self, sig, frame) -> None:
            if sig == signal.SIGTERM:
                stop.pass_on()
            super().handle_exit(sig, frame)

    # uvicorn takes SIGTERM and Ctrl-C over: it waits at most 5 s for answers being generated, then closes,
    # and raises the signal again for `stop`.
    app = create_app(settings, ingest_finished)
    server = Server(uvicorn.Config(app, host=args.host, port=args.port, timeout_graceful_shutdown=5,
                                   log_config=UVICORN_LOG_CONFIG))
    code = EXIT_ANSWERED
    try:
        server.run()
    except KeyboardInterrupt:  # Ctrl-C raised again after the server closed
        stop.requested = True
    except SystemExit:  # the server could not start (e.g. the port is taken), and uvicorn logged why
        code = EXIT_ERROR
        stop.pass_on()  # an ingest left running would write to the index with nobody to see it
    if stop.requested and stop.child is not None and stop.wait_for(stop.child) == _INGEST_STOPPED and not code:
        code = EXIT_TERMINATED  # stopped during ingest: what it wrote is committed, the next start goes on from there
    loader = getattr(app.state, "loader", None)
    if loader is not None and loader.running:
        # Stopped while the models load or warm up: their thread may be inside torch, and ending the interpreter under
        # it aborts the process ("terminate called without an active exception"; the loading had ended 0.8 s after
        # the server, and its warm-up was running). The index is closed already: leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _watch_ingest(ingest: subprocess.Popen, stop: "_StopRequest", finished: threading.Event) -> None:
    if ingest.wait() != 0 and not stop.requested:
        log_line("ragqa.serve", "warning", "ingest reported a problem (above); serving the index as it is")
    finished.set()


class _StopRequest:
    """Records SIGTERM and passes it on to the ingest child, which stops cleanly between two files.
    (Ctrl-C reaches the child from the terminal by itself.)"""

    def __init__(self) -> None:
        self.requested = False
        self.child: subprocess.Popen | None = None
        self._passed_on = False
        signal.signal(signal.SIGTERM, lambda *_: self.pass_on())

    def pass_on(self) -> None:
        """Record the stop and send SIGTERM to the child once: a second one would break its clean stop."""
        self.requested = True
        if self.child is not None and not self._passed_on and self.child.poll() is None:
            self._passed_on = True
            self.child.send_signal(signal.SIGTERM)

    def wait_for(self, child: subprocess.Popen) -> int:
        self.child = child
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # Ctrl-C: the child got it too; wait for it to stop cleanly
                self.requested = True


# --- dispatch -------------------------------------------------------------------------------------
def _ingest(argv: list[str], prog: str) -> int:
    from ingest.__main__ import main as ingest_main

    return ingest_main(argv, prog=prog)


def _eval(argv: list[str], prog: str) -> int:
    try:
        from bench.quality import main as quality_main
    except ImportError as exc:  # the Docker image carries no benchmarks
        raise CliError(f"`ragqa eval` needs the benchmarks (bench/), which this installation lacks: run it from "
                       f"a clone of the repository ({exc})", EXIT_USAGE) from exc

    _settings()  # a bad RAGQA_* value: one line and exit 2, before any model loads
    return quality_main(argv, prog=prog)


COMMANDS = {"ingest": _ingest, "serve": run_serve, "ask": run_ask, "chat": run_chat, "eval": _eval}


def main(argv: list[str] | None = None) -> int:
    use_offline_models()
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="ragqa", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND", help="ingest, serve, ask, chat or eval")
    parser.add_argument("--version", action="version", version="ragqa 0.1.0")
    if not argv:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if argv[0] not in COMMANDS:
        parser.parse_args(argv[:1])  # prints the help, the version or the usage error, and exits
    try:
        return COMMANDS[argv[0]](argv[1:], f"ragqa {argv[0]}")
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`ragqa ask ... | head`): no traceback, nothing more to print
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
