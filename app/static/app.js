// ragqa's page: a conversation with the documents. Asks POST /ask with streaming (follow-ups with the
// thread's history), shows each answer as it is written under its question, the quote highlighted inside its
// cited passage, the sources, and the documents (GET /documents), which it can upload and
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

// The passage's text with the quote marked. Offsets are the document's, in code points (Python's
// str indices): the quote sits at quote.start - citation.start inside the passage.
function passageWithQuote(citation, quote) {
  const passage = el("div", "passage");
  const points = Array.from(citation.text);
  const inside = quote && quote.chunk_id === citation.chunk_id && quote.source === citation.source;
  const from = inside ? quote.start - citation.start : -1;
  const to = inside ? quote.end - citation.start : -1;
  if (inside && from >= 0 && to <= points.length && points.slice(from, to).join("") === quote.text) {
    passage.append(points.slice(0, from).join(""), el("mark", "", quote.text), points.slice(to).join(""));
  } else {
    passage.textContent = citation.text;
  }
  return passage;
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
  part(".answer-text").textContent = body.answer; // authoritative: replaces the streamed text
  part(".answer").hidden = body.abstained;
  part(".abstained").hidden = !body.abstained;
  const searched = body.standalone_question;
  if (searched && searched !== part(".question").textContent) {
    part(".searched").textContent = `Searched as: ${searched}`;
    part(".searched").hidden = false;
  }
  if (body.quote) {
    part(".quote blockquote").textContent = body.quote.text;
    const cited = body.citations.find((c) => c.chunk_id === body.quote.chunk_id);
    part(".quote figcaption").textContent = `— ${body.quote.source}${cited && cited.page ? `, page ${cited.page}` : ""}`;
    part(".quote").hidden = false;
  }
  const list = part(".sources");
  list.replaceChildren();
  body.citations.forEach((citation, n) => {
    const details = el("details");
    const summary = el("summary");
    summary.append(el("span", "file", citation.source), el("span", "where", where(citation)),
                   el("span", "score", `score ${citation.score.toFixed(4)} · similarity ${citation.similarity.toFixed(2)}`));
    details.append(summary, passageWithQuote(citation, body.quote));
    // The passage holding the quote opens by itself, so the highlight is in view.
    details.open = Boolean(body.quote && citation.chunk_id === body.quote.chunk_id) || (n === 0 && !body.quote);
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
