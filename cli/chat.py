"""`ragqa chat`: a conversation with the documents in the terminal, each question answered in the context of the
ones before it (the thread is kept here and sent as `history`, as the page does)."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from cli.main import EXIT_ANSWERED, EXIT_ERROR, EXIT_USAGE, CliError, _settings, _validation_message, format_answer, post_ask

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
