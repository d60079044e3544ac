"""The web page in a real browser (Debian's Chromium, headless, driven by Playwright) against a real server."""
from __future__ import annotations

import pytest

from bench.screenshot import LAST_TURN, ask_on_page, launch
from bench.server_process import running_server
from tests.conftest import DOCUMENTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)  # fails, saying how to install Chromium, when it is missing
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_a_question_gets_a_streamed_answer_with_its_quote_marked_in_the_passage(engine, page, tmp_path):
    streamed = []
    page.on("response", lambda r: streamed.append(r.headers.get("content-type", "")) if r.url.endswith("/ask") else None)
    page.goto(str(engine.base_url))
    page.wait_for_selector("#documents li")
    assert page.inner_text("#documents-summary").startswith("3 documents")
    assert {p for p in page.locator("#documents .path").all_inner_texts()} == set(DOCUMENTS)

    ask_on_page(page, "Who built the lighthouse at Varnholm?")
    assert page.inner_text("#status") == "Answered.", page.inner_text("#status")
    assert streamed and streamed[0].startswith("text/event-stream")
    turn = page.locator(LAST_TURN)
    assert turn.locator(".question").inner_text() == "Who built the lighthouse at Varnholm?"
    assert turn.locator(".answer-text").inner_text().strip()
    assert turn.locator(".abstained").is_hidden() and turn.locator(".searched").is_hidden()
    quote = turn.locator(".quote blockquote").inner_text()
    assert quote and quote in DOCUMENTS["lighthouse.txt"]
    # The quote is marked inside its passage, and that passage is open on the page.
    mark = turn.locator(".sources details[open] .passage mark")
    assert mark.count() == 1 and mark.inner_text() == quote and mark.is_visible()
    first_source = turn.locator(".sources summary").first.inner_text()
    assert first_source.startswith("lighthouse.txt") and "score" in first_source
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)  # for looking at when this fails


def test_an_explanation_links_each_sentence_to_its_highlighted_span(engine, page, tmp_path):
    page.goto(str(engine.base_url))
    ask_on_page(page, "Describe the lighthouse at Varnholm.")  # `auto` gives this the explain shape
    assert page.inner_text("#status") == "Answered.", page.inner_text("#status")
    turn = page.locator(LAST_TURN)
    sentences = turn.locator(".answer-text .sentence").all_inner_texts()
    assert len(sentences) >= 2 and all(s in DOCUMENTS["lighthouse.txt"] for s in sentences)
    assert turn.locator(".quote").is_hidden()  # the sentences are the documents' own words
    link = turn.locator('.answer-text a.cite[data-sentence="1"]').first
    n = int(link.inner_text().strip("[]"))
    link.click()
    source = turn.locator(".sources > li").nth(n - 1)
    current = source.locator("details[open] mark.current")
    assert current.count() >= 1 and current.first.is_visible()
    assert current.first.inner_text() == sentences[1]  # the span that supports the second sentence
    assert page.locator("mark.current").count() == current.count()  # and no other
    page.screenshot(path=str(tmp_path / "explanation.png"), full_page=True)


def test_a_question_the_documents_cannot_answer_says_so_plainly(engine, page):
    page.goto(str(engine.base_url))
    ask_on_page(page, "What is the orbital period of Neptune's moon Triton?")
    turn = page.locator(LAST_TURN)
    assert turn.locator(".abstained").is_visible() and turn.locator(".answer").is_hidden()
    assert "The documents do not contain the answer" in turn.locator(".abstained").inner_text()
    assert page.locator("mark").count() == 0


def test_a_follow_up_is_answered_in_the_thread_which_survives_a_reload(engine, page):
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/ask") else None)
    page.goto(str(engine.base_url))
    ask_on_page(page, "Who built the lighthouse at Varnholm?")
    ask_on_page(page, "When was it converted to electricity?")
    turns = page.locator("#thread .turn")
    assert turns.count() == 2  # stacked: the first answer stays above the follow-up
    assert turns.nth(0).locator(".question").inner_text() == "Who built the lighthouse at Varnholm?"
    follow_up = turns.nth(1)
    # The follow-up went with the first exchange as its history, and was searched standing alone.
    first_answer = page.evaluate("JSON.parse(sessionStorage.getItem('ragqa-thread'))[0].response.answer")
    assert sent[0]["history"] == [] and sent[1]["history"] == [
        {"role": "user", "content": "Who built the lighthouse at Varnholm?"}, {"role": "assistant", "content": first_answer}]
    searched = follow_up.locator(".searched").inner_text()
    assert searched.startswith("Searched as: ") and "converted to electricity" in searched
    # Each answer keeps its own citations.
    assert follow_up.locator(".sources summary").first.inner_text().startswith("lighthouse.txt")
    assert turns.nth(0).locator(".sources li").count() >= 1

    page.reload()
    page.wait_for_selector("#thread .turn")
    assert page.locator("#thread .turn .question").all_inner_texts() == [
        "Who built the lighthouse at Varnholm?", "When was it converted to electricity?"]
    assert page.locator(LAST_TURN).locator(".searched").inner_text() == searched

    page.click("#new-conversation")
    assert page.locator("#thread .turn").count() == 0
    page.reload()
    assert page.locator("#thread .turn").count() == 0
    ask_on_page(page, "When was it converted to electricity?")  # a new conversation: nothing to refer back to
    assert sent[-1]["history"] == [] and page.locator(LAST_TURN).locator(".searched").is_hidden()


def test_documents_are_uploaded_and_deleted_from_the_page(engine, page, tmp_path):
    note, program = tmp_path / "tides.md", tmp_path / "setup.exe"
    note.write_text("# Tides\n\nThe harbour of Elmsport has two high tides a day.")
    program.write_bytes(b"MZ")
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete tides.md ...?"
    page.goto(str(engine.base_url))
    page.wait_for_selector("#documents li")
    try:
        page.set_input_files("#upload-files", [str(note), str(program)])
        page.click("#upload-button")
        page.wait_for_selector("#documents li:has-text('tides.md')")
        status = page.inner_text("#upload-status")
        assert "tides.md: added" in status and "setup.exe: rejected (unsupported format .exe" in status
        assert page.inner_text("#documents-summary").startswith("4 documents")

        page.click("button[aria-label='Delete tides.md']")
        page.wait_for_function("document.querySelector('#documents-summary').textContent.startsWith('3 documents')")
        assert page.inner_text("#upload-status") == "tides.md: deleted"
    finally:  # the engine is shared: leave it with the documents it had
        for document in engine.get("/documents").json()["documents"]:
            if document["path"] == "tides.md":
                engine.delete(f"/documents/{document['id']}")


def test_the_page_asks_for_an_api_key_and_sends_it(page, tmp_path):
    sent = []
    page.on("request", lambda r: sent.append(r.headers.get("authorization")) if r.url.endswith("/documents") else None)
    env = {"RAGQA_API_KEYS": "page-key", "RAGQA_INDEX_DIR": str(tmp_path / "no-index")}
    with running_server(env, tmp_path / "server.log", ready=False) as (client, _, _):
        page.goto(str(client.base_url))  # the page itself needs no key
        page.wait_for_selector("#key-dialog[open]")
        page.fill("#api-key", "page-key")
        page.click("#key-form button")
        # Accepted: the documents request now fails only because this server has no index yet.
        page.wait_for_function("document.querySelector('#documents-summary').textContent.includes('not ready')")
        assert sent == [None, "Bearer page-key"]
        assert page.evaluate("sessionStorage.getItem('ragqa-api-key')") == "page-key"
