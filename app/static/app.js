// ragqa's page: a conversation with the documents. Asks POST /ask with streaming (follow-ups with the
// thread's history), shows each answer as it is written under its question, the quote highlighted inside its
// cited passage (an explanation: each sentence's [n] links to its own highlighted span), the sources, and the documents (GET /documents), which it can upload and
// delete (POST /documents, DELETE /documents/{id}). Text goes in with
// textContent only, never as HTML. An API key, when the server wants one, lives in sessionStorage.
"use strict";

const KEY_STORAGE = "ragqa-api-key";
const $ = (id) => document.getElementById(id);

function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// Ask for a key in the dialog; resolves once one is stored. Requests refused together share one dialog.
let keyWanted = null;
function askForKey() {
  keyWanted = keyWanted || new Promise((resolve) => {
    $("key-form").onsubmit = () => {
      sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
      keyWanted = null;
      resolve();
    };
    $("key-dialog").showModal();
  });
  return keyWanted;
}

// fetch with the key; on 401 ask for a key once and try again.
async function apiFetch(path, options = {}) {
  let response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORAGE);
    await askForKey();
    response = await fetch(path, { ...options, headers: headers(options.headers) });
  }
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.message || (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  } catch {
    return response.statusText;
  }
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- the conversation ----------------------------------------------------------------------------
// The thread lives in sessionStorage (this tab, across reloads; closed with the tab, so passages of the
// documents are not left on disk). Follow-ups are sent with the history: each earlier question as it was
// searched (its standalone form) and its answer, the latest that fit HISTORY_TURNS and HISTORY_CHARS.
const THREAD_STORAGE = "ragqa-thread";
const HISTORY_TURNS = 12;
const HISTORY_CHARS = 4000;

function loadThread() {
  try {
    return JSON.parse(sessionStorage.getItem(THREAD_STORAGE)) || [];
  } catch {
    return [];
  }
}

let thread = [];

function saveThread() {
  sessionStorage.setItem(THREAD_STORAGE, JSON.stringify(thread));
}

function history() {
  const messages = [];
  for (const turn of thread) {
    if (!turn.response) continue; // an error: nothing to follow up on
    messages.push({ role: "user", content: turn.response.standalone_question || turn.question });
    messages.push({ role: "assistant", content: turn.response.answer });
  }
  const kept = [];
  let used = 0;
  for (let n = messages.length - 2; n >= 0 && kept.length < HISTORY_TURNS; n -= 2) {
    const size = messages[n].content.length + messages[n + 1].content.length;
    if (used + size > HISTORY_CHARS) break;
    kept.unshift(messages[n], messages[n + 1]);
    used += size;
  }
  return kept;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function where(citation) {
  return citation.page ? `page ${citation.page}` : `characters ${citation.start}–${citation.end}`;
}

// The passage's text with its support spans marked. Offsets are the document's, in code points
// (Python's str indices): a span sits at span.start - citation.start inside the passage. Each mark
// carries the number of the answer sentence it supports, so a [n] link can light up its own spans.
function passageWithMarks(citation, spans) {
  const passage = el("div", "passage");
  const points = Array.from(citation.text);
  const inside = spans
    .filter((s) => s.chunk_id === citation.chunk_id && s.source === citation.source)
    .map((s) => ({ ...s, from: s.start - citation.start, to: s.end - citation.start }))
    .filter((s) => s.from >= 0 && s.to <= points.length && points.slice(s.from, s.to).join("") === s.text)
    .sort((a, b) => a.from - b.from);
  let at = 0;
  for (const span of inside) {
    if (span.from < at) continue; // overlapping spans: the first one is marked
    const mark = el("mark", "", span.text);
    mark.dataset.sentence = String(span.sentence);
    passage.append(points.slice(at, span.from).join(""), mark);
    at = span.to;
  }
  passage.append(points.slice(at).join(""));
  return passage;
}

// Every support span of an answer, with the index of its sentence (a short answer: its quote).
function supportSpans(body) {
  if (body.sentences && body.sentences.length) {
    return body.sentences.flatMap((s, i) => s.support.map((span) => ({ ...span, sentence: i })));
  }
  return body.quote ? [{ ...body.quote, sentence: 0 }] : [];
}

// [n] after a sentence: opens source n of this turn and lights up the span that supports the sentence.
function showSupport(node, sentence, n) {
  node.querySelectorAll(".sources mark.current").forEach((m) => m.classList.remove("current"));
  const item = node.querySelectorAll(".sources > li")[n - 1];
  if (!item) return;
  item.querySelector("details").open = true;
  const marks = item.querySelectorAll(`mark[data-sentence="${sentence}"]`);
  marks.forEach((m) => m.classList.add("current"));
  (marks[0] || item).scrollIntoView({ block: "nearest" });
}

// An explanation: its sentences, each followed by [n] links to the sources holding its support.
function showSentences(node, sentences) {
  const answer = node.querySelector(".answer-text");
  answer.replaceChildren();
  sentences.forEach((sentence, i) => {
    if (i) answer.append(" ");
    answer.append(el("span", "sentence", sentence.text));
    for (const n of sentence.citations) {
      const link = el("a", "cite", `[${n}]`);
      link.href = "#";
      link.dataset.sentence = String(i);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        showSupport(node, i, n);
      });
      answer.append(" ", link);
    }
  });
}

// A new turn of the thread on the page: the question, and room for its answer.
function addTurn(question) {
  const node = $("turn-template").content.firstElementChild.cloneNode(true);
  node.querySelector(".question").textContent = question;
  $("thread").append(node);
  return node;
}

function showResponse(node, body) {
  const part = (selector) => node.querySelector(selector);
  const explained = body.shape === "explain" && !body.abstained && body.sentences && body.sentences.length;
  if (explained) showSentences(node, body.sentences);
  else part(".answer-text").textContent = body.answer; // authoritative: replaces the streamed text
  part(".answer").hidden = body.abstained;
  part(".abstained").hidden = !body.abstained;
  const searched = body.standalone_question;
  if (searched && searched !== part(".question").textContent) {
    part(".searched").textContent = `Searched as: ${searched}`;
    part(".searched").hidden = false;
  }
  if (body.quote && !explained) { // an explanation's sentences are their own quotes
    part(".quote blockquote").textContent = body.quote.text;
    const cited = body.citations.find((c) => c.chunk_id === body.quote.chunk_id);
    part(".quote figcaption").textContent = `— ${body.quote.source}${cited && cited.page ? `, page ${cited.page}` : ""}`;
    part(".quote").hidden = false;
  }
  const list = part(".sources");
  list.replaceChildren();
  const spans = supportSpans(body);
  body.citations.forEach((citation, n) => {
    const details = el("details");
    const summary = el("summary");
    summary.append(el("span", "file", citation.source), el("span", "where", where(citation)),
                   el("span", "score", `score ${citation.score.toFixed(4)} · similarity ${citation.similarity.toFixed(2)}`));
    details.append(summary, passageWithMarks(citation, spans));
    // The passage holding the quote (an explanation: its first sentence) opens by itself, so the highlight is in view.
    details.open = Boolean(spans.length && citation.chunk_id === spans[0].chunk_id) || (n === 0 && !spans.length);
    const item = el("li");
    item.append(details);
    list.append(item);
  });
  part(".sources-box").hidden = body.citations.length === 0;
  const t = body.timings_ms || {};
  part(".timing").textContent = `${body.model} · ${Math.round(t.total || 0)} ms` +
    (t.generation ? ` (generation ${Math.round(t.generation)} ms)` : "") +
    (t.rewrite ? ` · follow-up rewritten in ${Math.round(t.rewrite)} ms` : "");
  node.dataset.state = body.abstained ? "abstained" : "answered";
}

function showError(node, text) {
  node.querySelector(".answer").hidden = true;
  const error = el("p", "status error", text);
  node.querySelector(".timing").before(error);
  node.dataset.state = "error";
  setStatus(text, true);
}

function renderThread() {
  $("thread").replaceChildren();
  for (const turn of thread) {
    const node = addTurn(turn.question);
    if (turn.response) showResponse(node, turn.response);
    else showError(node, turn.error || "No answer.");
  }
}

function newConversation() {
  thread = [];
  saveThread();
  renderThread();
  setStatus("");
  $("question").focus();
}

// Reads Server-Sent Events from a fetch body: calls onEvent(name, data) for each complete event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    if (done) return;
  }
}

// Asks one question of the thread; the turn is stored once it is settled (answered or failed).
async function ask(question) {
  const previous = history();
  const node = addTurn(question);
  node.scrollIntoView({ block: "nearest" });
  const settle = (turn) => {
    thread.push({ question, ...turn });
    saveThread();
  };
  setStatus("Searching the documents…");
  const response = await apiFetch("/ask", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ question, history: previous, stream: true }),
  });
  if (!response.ok) {
    const text = `Error ${response.status}: ${await errorText(response)}`;
    showError(node, text);
    settle({ error: text });
    return;
  }
  const finish = (body) => {
    showResponse(node, body);
    setStatus(body.abstained ? "" : "Answered.");
    settle({ response: body });
  };
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    finish(await response.json()); // a server without streaming
    return;
  }
  let finished = false;
  await readEvents(response, (name, data) => {
    if (name === "token") {
      setStatus("Writing the answer…");
      node.querySelector(".answer-text").textContent += data.text;
    } else if (name === "done") {
      finished = true;
      finish(data);
    } else if (name === "error") {
      finished = true;
      const text = `Error ${data.status}: ${data.detail}`;
      showError(node, text);
      settle({ error: text });
    }
  });
  if (!finished) {
    const text = "The connection closed before the answer was complete.";
    showError(node, text);
    settle({ error: text });
  }
}

// --- the documents -----------------------------------------------------------------------------
function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function loadDocuments() {
  const response = await apiFetch("/documents");
  if (!response.ok) {
    $("documents-summary").textContent = `Documents unavailable: ${await errorText(response)}`;
    return;
  }
  const body = await response.json();
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  $("documents-summary").textContent = `${plural(body.count, "document")}, ${plural(body.chunks, "passage")}`;
  $("documents").replaceChildren(...body.documents.map((d) => {
    const item = el("li");
    item.title = `${formatSize(d.size)}, ingested ${d.ingested_at}`;
    const remove = el("button", "delete", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete ${d.path}`);
    remove.addEventListener("click", () => deleteDocument(d));
    item.append(el("span", "path", d.path), el("span", "count", plural(d.chunks, "passage")), remove);
    return item;
  }));
}

// Uploads go into the documents folder and are ingested at once; the reply says what became of each file.
async function upload(files) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  $("upload-status").textContent = "Uploading and ingesting…";
  const response = await apiFetch("/documents", { method: "POST", body: form });
  if (![200, 207, 422].includes(response.status)) {
    $("upload-status").textContent = `Upload failed: ${await errorText(response)}`;
    return;
  }
  const body = await response.json();
  $("upload-status").textContent = body.results
    .map((r) => (r.status === "rejected" ? `${r.file}: rejected (${r.reason})` : `${r.path}: ${r.status}`)).join("; ");
  await loadDocuments();
}

async function deleteDocument(d) {
  if (!window.confirm(`Delete ${d.path} from the index and from the documents folder?`)) return;
  const response = await apiFetch(`/documents/${d.id}`, { method: "DELETE" });
  $("upload-status").textContent = response.ok ? `${d.path}: deleted` : `Delete failed: ${await errorText(response)}`;
  await loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  thread = loadThread();
  renderThread();
  $("new-conversation").addEventListener("click", newConversation);
  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    $("ask-button").disabled = true;
    $("new-conversation").disabled = true;
    try {
      await ask(question);
      $("question").value = "";
    } catch (error) {
      const last = $("thread").lastElementChild;
      const text = `Could not reach the server: ${error.message}`;
      if (last && !last.dataset.state) showError(last, text);
      else setStatus(text, true);
    } finally {
      $("ask-button").disabled = false;
      $("new-conversation").disabled = false;
    }
  });
  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("upload-button").disabled = true;
    try {
      await upload($("upload-files").files);
      $("upload-form").reset();
    } catch (error) {
      $("upload-status").textContent = `Could not reach the server: ${error.message}`;
    } finally {
      $("upload-button").disabled = false;
    }
  });
  loadDocuments().catch((error) => { $("documents-summary").textContent = `Documents unavailable: ${error.message}`; });
});
