// The reviewer's side of the page script: filters, pick, reject and notes (saved through the review
// server, put back if it refuses), and the details panel that shows them. Plain browser JavaScript,
// in one scope with the page script's other parts (page-script.ts joins them).

/** The filter buttons and their counts. */
export const FILTERS = String.raw`// Filters.
const filterButtons = Array.from(document.querySelectorAll(".filters button"));
const matches = {
  all: () => true,
  picked: (cell) => cell.dataset.review === "pick",
  rejected: (cell) => cell.dataset.review === "reject",
  undecided: (cell) => !cell.dataset.review,
  failed: (cell) => cell.dataset.status === "FAILED",
  checks: (cell) => cell.dataset.checks === "failed",
  changed: (cell) => cell.hasAttribute("data-changed"),
};
let filter = "all";
function applyFilter(id) {
  filter = id;
  const test = matches[id];
  document.body.classList.toggle("filtered", id !== "all");
  document.body.dataset.filter = id;
  for (const cell of cells) cell.classList.toggle("out", !test(cell));
  for (const section of document.querySelectorAll(".section")) section.hidden = id !== "all" && !section.querySelector(".cell:not(.out)");
  for (const pair of document.querySelectorAll("section.pair")) pair.hidden = id !== "all" && !pair.querySelector(".cell:not(.out)");
  for (const button of filterButtons) button.setAttribute("aria-pressed", String(button.dataset.filter === id));
  say("showing " + (id === "all" ? "all tasks" : filterButtons.find((b) => b.dataset.filter === id).firstChild.textContent) + ": " + cells.filter(test).length);
}
function countFilters() {
  for (const button of filterButtons) button.querySelector(".n").textContent = String(cells.filter(matches[button.dataset.filter]).length);
}
for (const button of filterButtons) button.addEventListener("click", () => applyFilter(button.dataset.filter));`;

/** Decisions and notes: shown at once, then posted one after another, undone if not saved. */
export const DECISIONS = String.raw`// Decisions.
const decisions = data.decisions || {};
function showDecision(key) {
  const cell = cellByKey.get(key);
  const entry = Object.prototype.hasOwnProperty.call(decisions, key) ? decisions[key] : null;
  if (!cell) return;
  if (entry && entry.decision) cell.dataset.review = entry.decision; else delete cell.dataset.review;
  if (entry && entry.note) cell.dataset.note = ""; else delete cell.dataset.note;
  if (!details.hidden && cellOf(document.activeElement) === cell) showDetails(cell);
}
function setDecision(key, entry) {
  if (entry) decisions[key] = entry; else delete decisions[key];
  showDecision(key);
  countFilters();
}
let saving = Promise.resolve();
function decide(cell, change) {
  if (!live) { say("read-only: decisions are made with actbatch review on this folder", true); return; }
  const key = cell.dataset.key;
  const before = Object.prototype.hasOwnProperty.call(decisions, key) ? Object.assign({}, decisions[key]) : null;
  const next = { decision: before ? before.decision : null, note: before ? before.note : "", at: "" };
  if ("decision" in change) next.decision = change.decision;
  if ("note" in change) next.note = change.note.trim();
  setDecision(key, next.decision || next.note ? next : null);
  const body = JSON.stringify(Object.assign({ key }, change));
  saving = saving.then(() => fetch(data.post, { method: "POST", headers: { "content-type": "application/json" }, body })
    .then((response) => response.ok ? response.json() : response.text().then((text) => { throw new Error(text || response.statusText); }))
    .then((saved) => { setDecision(key, saved.entry); say(saved.message); })
    .catch((error) => { setDecision(key, before); say("not saved: " + error.message, true); }));
}
const editor = document.getElementById("note-editor");
let editing = null;
function editNote(cell) {
  if (!live || !editor) { say("read-only: notes are written with actbatch review on this folder", true); return; }
  const key = cell.dataset.key;
  const task = data.tasks[key];
  const entry = Object.prototype.hasOwnProperty.call(decisions, key) ? decisions[key] : null;
  editing = cell;
  editor.querySelector(".who").textContent = "Note on " + (task ? task.pair + " · " + task.values : key);
  const area = editor.querySelector("textarea");
  area.value = entry ? entry.note : "";
  editor.showModal();
  area.focus();
}
function closeNote(save) {
  if (!editor || !editing) return;
  const cell = editing;
  editing = null;
  if (save) decide(cell, { note: editor.querySelector("textarea").value });
  editor.close();
  cell.focus();
}
if (editor) {
  editor.querySelector('button[value="save"]').addEventListener("click", () => closeNote(true));
  editor.querySelector('button[value="cancel"]').addEventListener("click", () => closeNote(false));
  editor.addEventListener("cancel", (event) => { event.preventDefault(); closeNote(false); });
  editor.querySelector("textarea").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); closeNote(true); }
  });
}`;

/** The details panel of a cell (the i key, or the cell's .more button). */
export const DETAILS = String.raw`// Details on demand.
const details = document.getElementById("details");
function showDetails(cell) {
  const key = cell.dataset.key;
  const task = data.tasks[key];
  if (!task) return;
  details.hidden = false;
  details.querySelector("h2").textContent = task.pair + (task.values ? " · " + task.values : "");
  const list = details.querySelector("dl");
  list.textContent = "";
  const add = (label, value, href) => {
    if (value === null || value === undefined || value === "") return;
    const term = document.createElement("dt");
    term.textContent = label;
    const description = document.createElement("dd");
    if (href) { const link = document.createElement("a"); link.href = href; link.textContent = String(value); description.append(link); }
    else description.textContent = String(value);
    list.append(term, description);
  };
  add("key", key);
  add("task id", task.taskId || "none");
  add("status", task.status);
  add("attempts", task.attempts);
  if (task.possiblyChargedTwice) add("billing", "possibly charged twice");
  if (task.error) add("error", task.error.code + ": " + task.error.message);
  for (const output of task.outputs) {
    add("file", output.file + " (" + output.bytes + " bytes)", output.url);
    add("sha256", output.sha256);
    for (const check of output.checks) add("check " + check.name, (check.ok ? "ok" : "FAILED") + (check.expected ? ", expected " + check.expected : "") + (check.actual ? ", got " + check.actual : "") + (check.message ? ": " + check.message : ""));
  }
  if (task.before) add("before", "an earlier output differs (c compares)", task.before);
  for (const attempt of task.history) add("attempt " + attempt.attempt, attempt.status + (attempt.taskId ? " " + attempt.taskId : "") + (attempt.error ? " " + attempt.error.code : ""));
  const entry = Object.prototype.hasOwnProperty.call(decisions, key) ? decisions[key] : null;
  if (entry) { add("decision", entry.decision || "none"); add("note", entry.note); add("decided", entry.at); }
  details.querySelector("pre").textContent = JSON.stringify(task.request, null, 2);
}
details.querySelector(".close").addEventListener("click", () => { details.hidden = true; });
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest(".more") : null;
  const cell = cellOf(button);
  if (cell) { cell.focus(); showDetails(cell); }
});`;
