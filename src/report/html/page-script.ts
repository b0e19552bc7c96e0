// The contact sheet's one script, inline and allowed by its hash. Plain browser JavaScript in a
// string: this project's TypeScript has no DOM types (test/report/page-script.test.ts parses it).
//
// Budget: at most MAX_PLAYERS <video> elements exist at once, whatever the sheet's size. Posters are
// grabbed by a few short-lived players (seek a little into the clip, draw the frame into the cell's
// canvas, release) for cells near the view, and dropped again far from it; a hover or focus preview
// is one more player; Space makes the focused pair's group (the reference and the visible cells).
//
// The group plays on one clock (performance.now), not on any one video: each member is steered to
// the clock's position, by a small change of playbackRate for a small drift and by a seek for a
// large one, so looping clips stay aligned and a member that stalls or fails holds up no one.
export const PAGE_SCRIPT = String.raw`(() => {
"use strict";
const data = JSON.parse(document.getElementById("sheet-data").textContent);
const live = data.live === true;
const MAX_PLAYERS = 24;
const POSTER_WORKERS = 4;
const GROUP_MAX = MAX_PLAYERS - POSTER_WORKERS;
const START_GRACE_MS = 1500;
const root = document.documentElement;
const statusLine = document.getElementById("status");
const say = (text, bad) => { statusLine.textContent = text; statusLine.classList.toggle("bad", bad === true); };
const header = document.querySelector("header");
const fitHeader = () => root.style.setProperty("--header", (header.offsetHeight + 8) + "px");
fitHeader();
window.addEventListener("resize", fitHeader);

let players = 0;
function makeVideo(src, className) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  video.className = className;
  video.src = src;
  players++;
  return video;
}
function releaseVideo(video) {
  if (!video || video.dataset.released) return;
  video.dataset.released = "1";
  video.pause();
  video.removeAttribute("src");
  video.load();
  video.remove();
  players--;
  pump();
}

// Posters.
const posterTime = (duration) => Number.isFinite(duration) && duration > 0 ? Math.min(0.5, duration / 4) : 0;
const queue = [];
const near = new Set();
let grabbing = 0;
function wantPoster(clip) {
  const state = clip.dataset.poster;
  if (state === "done" || state === "queued" || state === "busy" || state === "failed") return;
  clip.dataset.poster = "queued";
  queue.push(clip);
  pump();
}
function pump() {
  while (grabbing < POSTER_WORKERS && players < MAX_PLAYERS && queue.length > 0) {
    const clip = queue.shift();
    if (clip.dataset.poster !== "queued") continue;
    if (!near.has(clip)) { delete clip.dataset.poster; continue; }
    grab(clip);
  }
}
function grab(clip) {
  grabbing++;
  clip.dataset.poster = "busy";
  const video = makeVideo(clip.dataset.src, "grab");
  // Only what the seek needs is read: a render is tens of MB, a poster one frame.
  video.preload = "metadata";
  clip.append(video);
  let settled = false;
  const finish = (ok) => {
    if (settled) return;
    settled = true;
    grabbing--;
    if (ok) { drawPoster(clip, video); clip.dataset.poster = "done"; }
    else { clip.dataset.poster = "failed"; clip.classList.add("unplayable"); }
    releaseVideo(video);
  };
  video.addEventListener("loadedmetadata", () => { video.currentTime = posterTime(video.duration); }, { once: true });
  video.addEventListener("seeked", () => finish(video.videoWidth > 0), { once: true });
  video.addEventListener("error", () => finish(false), { once: true });
}
function drawPoster(clip, video) {
  const canvas = clip.querySelector("canvas.poster");
  if (!canvas) return;
  const scale = Math.min(window.devicePixelRatio || 1, 2);
  const box = clip.getBoundingClientRect().width || 320;
  const width = Math.max(1, Math.round(Math.min(box * scale, 960)));
  const height = Math.max(1, Math.round(width * video.videoHeight / video.videoWidth));
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(video, 0, 0, width, height);
  if (clip.classList.contains("ref-clip"))
    clip.closest(".reference").style.setProperty("--ar", video.videoWidth + "/" + video.videoHeight);
}
const clips = document.querySelectorAll(".clip[data-src]");
const nearObserver = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) { near.add(entry.target); wantPoster(entry.target); }
    else near.delete(entry.target);
  }
}, { rootMargin: "100% 0px" });
// Far from the view a poster's pixels are given back; it is grabbed again on the way back.
const keepObserver = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting || entry.target.dataset.poster !== "done") continue;
    const canvas = entry.target.querySelector("canvas.poster");
    canvas.width = 0;
    canvas.height = 0;
    delete entry.target.dataset.poster;
  }
}, { rootMargin: "300% 0px" });
clips.forEach((clip) => { nearObserver.observe(clip); keepObserver.observe(clip); });

// Cells, focus and the arrow keys.
const cells = Array.from(document.querySelectorAll(".cell"));
const cellByKey = new Map(cells.map((cell) => [cell.dataset.key, cell]));
const shown = (cell) => !cell.classList.contains("out");
const cellOf = (target) => target instanceof Element ? target.closest(".cell") : null;
function neighbour(cell, key) {
  const visible = cells.filter(shown);
  const index = visible.indexOf(cell);
  if (index < 0) return visible[0];
  if (key === "ArrowRight") return visible[index + 1];
  if (key === "ArrowLeft") return visible[index - 1];
  const down = key === "ArrowDown";
  const here = cell.getBoundingClientRect();
  const middle = here.left + here.width / 2;
  const range = down ? visible.slice(index + 1, index + 300) : visible.slice(Math.max(0, index - 300), index).reverse();
  let rowTop = null;
  let best = null;
  let bestDistance = Infinity;
  for (const other of range) {
    const box = other.getBoundingClientRect();
    if (box.width === 0) continue;
    const beyond = down ? box.top >= here.top + here.height / 2 : box.top + box.height / 2 <= here.top;
    if (!beyond) continue;
    if (rowTop === null) rowTop = box.top;
    if (Math.abs(box.top - rowTop) > 8) break;
    const distance = Math.abs(box.left + box.width / 2 - middle);
    if (distance < bestDistance) { best = other; bestDistance = distance; }
  }
  return best;
}

// Hover and focus previews: one clip, never counted as the group playing.
let preview = null;
function startPreview(cell) {
  if (preview && preview.cell === cell) return;
  stopPreview();
  const clip = cell.querySelector(".clip[data-src]");
  if (!clip || cell.classList.contains("in-group") || players >= MAX_PLAYERS) return;
  const video = makeVideo(clip.dataset.src, "live");
  video.loop = true;
  clip.append(video);
  video.play().catch(() => {});
  preview = { cell, video };
}
function stopPreview(cell) {
  if (!preview || (cell && preview.cell !== cell)) return;
  releaseVideo(preview.video);
  preview = null;
}
document.addEventListener("mouseover", (event) => { const cell = cellOf(event.target); if (cell) startPreview(cell); });
document.addEventListener("mouseout", (event) => {
  const cell = cellOf(event.target);
  if (cell && !cell.contains(event.relatedTarget) && document.activeElement !== cell) stopPreview(cell);
});
document.addEventListener("focusin", (event) => { const cell = cellOf(event.target); if (cell) { startPreview(cell); if (!details.hidden) showDetails(cell); } });
document.addEventListener("focusout", (event) => { const cell = cellOf(event.target); if (cell && !cell.matches(":hover")) stopPreview(cell); });

// Lockstep groups: a pair (its reference and visible cells), or before and after in the compare view.
let group = null;
const now = () => performance.now() / 1000;
function uiOf(owner) {
  return { button: owner.querySelector(".play"), scrub: owner.querySelector(".scrub"), time: owner.querySelector(".time"), state: owner.querySelector(".ref-state") };
}
function startGroup(owner, specs, play) {
  stopGroup();
  stopPreview();
  const g = { owner, ui: uiOf(owner), members: [], playing: false, wantPlay: play, started: false, pos: 0, t0: 0, duration: 0, scrubbing: false };
  group = g;
  for (const spec of specs) {
    const video = makeVideo(spec.src, "live");
    video.loop = true;
    spec.clip.append(video);
    const member = { spec, video, ready: false, gone: false, duration: NaN };
    video.addEventListener("loadedmetadata", () => { member.duration = video.duration; fitTimeline(g); });
    video.addEventListener("canplay", () => { member.ready = true; if (g.started && !g.playing) video.currentTime = clampTo(member, g.pos); maybeBegin(g); }, { once: true });
    video.addEventListener("error", () => leave(g, member));
    if (spec.cell) spec.cell.classList.add("in-group");
    g.members.push(member);
  }
  if (g.ui.state) g.ui.state.textContent = "";
  g.grace = setTimeout(() => begin(g), START_GRACE_MS);
  g.timer = setInterval(() => tick(g), 40);
  maybeBegin(g);
  showState(g);
  return g;
}
function stopGroup() {
  const g = group;
  if (!g) return;
  group = null;
  clearInterval(g.timer);
  clearTimeout(g.grace);
  for (const member of g.members) {
    releaseVideo(member.video);
    if (member.spec.cell) member.spec.cell.classList.remove("in-group", "left-out");
  }
  for (const cell of document.querySelectorAll(".cell.left-out")) cell.classList.remove("left-out");
  g.playing = false;
  showState(g);
}
function maybeBegin(g) { if (!g.started && g.members.every((member) => member.ready || member.gone)) begin(g); }
function begin(g) {
  if (g !== group || g.started) return;
  g.started = true;
  clearTimeout(g.grace);
  if (g.wantPlay) playGroup(g); else seekGroup(g, g.pos);
}
function fitTimeline(g) {
  let duration = 0;
  for (const member of g.members) if (!member.gone && Number.isFinite(member.duration)) duration = Math.max(duration, member.duration);
  g.duration = duration;
  // A clip shorter than the timeline holds its last frame until the timeline loops.
  for (const member of g.members) member.video.loop = !(member.duration < duration - 0.1);
  if (g.ui.scrub) g.ui.scrub.max = String(duration || 1);
}
function leave(g, member) {
  if (member.gone) return;
  member.gone = true;
  releaseVideo(member.video);
  if (member.spec.cell) { member.spec.cell.classList.remove("in-group"); member.spec.cell.classList.add("left-out"); }
  if (member.spec.kind === "ref" && g.ui.state) g.ui.state.textContent = "the reference could not load: left out";
  fitTimeline(g);
  maybeBegin(g);
}
const clampTo = (member, t) => Number.isFinite(member.duration) ? Math.min(t, Math.max(0, member.duration - 0.04)) : t;
function position(g) {
  if (!g.playing || !(g.duration > 0)) return g.pos;
  const t = (now() - g.t0) % g.duration;
  return t < 0 ? t + g.duration : t;
}
function playGroup(g) {
  if (!g.started) { g.wantPlay = true; showState(g); return; }
  g.t0 = now() - g.pos;
  g.playing = true;
  for (const member of g.members) {
    if (member.gone || !member.ready) continue;
    member.video.currentTime = clampTo(member, g.pos);
    member.video.play().catch(() => {});
  }
  showState(g);
}
function pauseGroup(g) {
  g.wantPlay = false;
  if (!g.playing) { showState(g); return; }
  g.pos = position(g);
  g.playing = false;
  for (const member of g.members) {
    if (member.gone) continue;
    member.video.pause();
    member.video.currentTime = clampTo(member, g.pos);
  }
  showState(g);
}
function seekGroup(g, t) {
  g.pos = t;
  if (g.playing) g.t0 = now() - t;
  for (const member of g.members) if (!member.gone && member.ready) member.video.currentTime = clampTo(member, t);
  showState(g);
}
function tick(g) {
  if (g !== group) return;
  const d = g.duration;
  if (g.playing && d > 0) {
    const t = position(g);
    for (const member of g.members) {
      if (member.gone || !member.ready) continue;
      const video = member.video;
      if (Number.isFinite(member.duration) && t > member.duration - 0.04) { if (!video.paused) video.pause(); continue; }
      if (video.paused) { video.currentTime = t; video.play().catch(() => {}); continue; }
      let drift = video.currentTime - t;
      if (drift > d / 2) drift -= d;
      else if (drift < -d / 2) drift += d;
      if (Math.abs(drift) > 0.06) { video.currentTime = t; video.playbackRate = 1; }
      else if (Math.abs(drift) > 0.01) video.playbackRate = Math.min(1.25, Math.max(0.75, 1 - drift * 5));
      else video.playbackRate = 1;
    }
  }
  showTime(g);
}
function showTime(g) {
  const t = position(g);
  if (g.ui.scrub && !g.scrubbing) g.ui.scrub.value = String(t);
  if (g.ui.time) g.ui.time.textContent = t.toFixed(2);
}
function showState(g) {
  const playing = g === group && (g.playing || g.wantPlay);
  if (g.ui.button) { g.ui.button.textContent = playing ? "❚❚" : "▶"; g.ui.button.setAttribute("aria-pressed", String(playing)); }
  g.owner.classList.toggle("playing", playing);
  showTime(g);
}
function pairMembers(pair) {
  const focused = cellOf(document.activeElement);
  const height = window.innerHeight;
  const width = window.innerWidth;
  const visible = [];
  for (const cell of pair.querySelectorAll(".cell")) {
    if (!shown(cell)) continue;
    const clip = cell.querySelector(".clip[data-src]");
    if (!clip || clip.classList.contains("unplayable")) continue;
    const box = clip.getBoundingClientRect();
    if (box.bottom <= 0 || box.top >= height || box.right <= 0 || box.left >= width || box.width === 0) continue;
    visible.push({ cell, clip, box });
  }
  if (focused && pair.contains(focused)) {
    const here = focused.getBoundingClientRect();
    visible.sort((a, b) => Math.hypot(a.box.left - here.left, a.box.top - here.top) - Math.hypot(b.box.left - here.left, b.box.top - here.top));
  }
  const specs = [];
  const ref = pair.querySelector(".reference .ref-clip");
  const refSrc = ref ? (ref.dataset.src || (live ? ref.dataset.remote : "")) : "";
  if (refSrc) specs.push({ clip: ref, src: refSrc, kind: "ref" });
  const room = GROUP_MAX - specs.length;
  for (const entry of visible.slice(0, room)) specs.push({ clip: entry.clip, src: entry.clip.dataset.src, kind: "cell", cell: entry.cell });
  const beyond = visible.slice(room);
  for (const entry of beyond) entry.cell.classList.add("left-out");
  if (beyond.length > 0) say(beyond.length + " visible clips beyond " + GROUP_MAX + " players keep their poster");
  return specs;
}
function togglePair(pair) {
  if (group && group.owner === pair) {
    if (group.playing || group.wantPlay) pauseGroup(group); else playGroup(group);
    return;
  }
  const specs = pairMembers(pair);
  if (specs.length === 0) { say("nothing in this pair can play", true); return; }
  startGroup(pair, specs, true);
}
function pairInView() {
  for (const pair of document.querySelectorAll("section.pair:not([hidden])")) {
    const box = pair.getBoundingClientRect();
    if (box.bottom > header.offsetHeight && box.top < window.innerHeight) return pair;
  }
  return null;
}
for (const pair of document.querySelectorAll("section.pair")) {
  const ui = uiOf(pair);
  ui.button.addEventListener("click", () => togglePair(pair));
  ui.scrub.addEventListener("pointerdown", () => { if (group && group.owner === pair) group.scrubbing = true; });
  ui.scrub.addEventListener("change", () => { if (group) group.scrubbing = false; });
  ui.scrub.addEventListener("input", () => {
    let g = group && group.owner === pair ? group : null;
    if (!g) { const specs = pairMembers(pair); if (specs.length === 0) return; g = startGroup(pair, specs, false); }
    seekGroup(g, Number(ui.scrub.value));
  });
}

// Filters.
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
for (const button of filterButtons) button.addEventListener("click", () => applyFilter(button.dataset.filter));

// Decisions.
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
}

// Details on demand.
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
});

// Before and after (--against).
const compare = document.getElementById("compare");
let compared = null;
function openCompare(cell) {
  const task = data.tasks[cell.dataset.key];
  const after = task && task.outputs[0] ? task.outputs[0].url : null;
  if (!compare || !task || !task.before || !after) { say("no earlier output of this task to compare with", true); return; }
  compared = cell;
  compare.hidden = false;
  compare.querySelector(".cmp-title").textContent = task.pair + " · " + task.values;
  const ratio = cell.style.getPropertyValue("--ar") || "16/9";
  const parts = ratio.split("/").map(Number);
  compare.style.setProperty("--ar", ratio);
  compare.style.setProperty("--ar-n", String(parts[0] / parts[1] || 16 / 9));
  const boxes = compare.querySelectorAll(".clip");
  startGroup(compare, [{ clip: boxes[0], src: task.before, kind: "before" }, { clip: boxes[1], src: after, kind: "after" }], true);
}
function closeCompare() {
  if (!compare || compare.hidden) return;
  if (group && group.owner === compare) stopGroup();
  compare.hidden = true;
  if (compared) compared.focus();
}
if (compare) {
  const ui = uiOf(compare);
  ui.button.addEventListener("click", () => { if (group && group.owner === compare) { if (group.playing || group.wantPlay) pauseGroup(group); else playGroup(group); } });
  ui.scrub.addEventListener("input", () => { if (group && group.owner === compare) seekGroup(group, Number(ui.scrub.value)); });
  compare.querySelector(".close").addEventListener("click", closeCompare);
  for (const button of compare.querySelectorAll(".cmp-mode"))
    button.addEventListener("click", () => compare.classList.toggle("wipe", button.dataset.mode === "wipe"));
  compare.querySelector(".wipe").addEventListener("input", (event) => compare.style.setProperty("--wipe", event.target.value + "%"));
}

// Keys.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof Element && target.closest("dialog")) return;
  if (event.key === "Escape") {
    if (compare && !compare.hidden) closeCompare();
    else { details.hidden = true; stopGroup(); }
    return;
  }
  if (target instanceof Element && target.matches("input, textarea, select")) return;
  // A button keeps Space and Enter (they press it); every other key still works from it.
  if (target instanceof Element && target.matches("button") && (event.key === " " || event.key === "Enter")) return;
  const cell = cellOf(target);
  const key = event.key;
  if (compare && !compare.hidden) {
    if (key === " ") { event.preventDefault(); compare.querySelector(".play").click(); }
    else if (key === "c") closeCompare();
    else if (key === "w") compare.classList.toggle("wipe");
    return;
  }
  if (key.startsWith("Arrow")) {
    const next = cell ? neighbour(cell, key) : cells.find(shown);
    if (next) { event.preventDefault(); next.focus(); }
    return;
  }
  switch (key) {
    case " ": {
      const pair = cell ? cell.closest("section.pair") : pairInView();
      if (pair) { event.preventDefault(); togglePair(pair); }
      return;
    }
    case "f": { const ids = filterButtons.map((b) => b.dataset.filter); applyFilter(ids[(ids.indexOf(filter) + 1) % ids.length]); return; }
    case "i": if (cell) { if (details.hidden) showDetails(cell); else details.hidden = true; } return;
    case "c": if (cell) openCompare(cell); return;
    case "p": if (cell) decide(cell, { decision: "pick" }); return;
    case "x": if (cell) decide(cell, { decision: "reject" }); return;
    case "u": if (cell) decide(cell, { decision: null }); return;
    case "n": if (cell) { event.preventDefault(); editNote(cell); } return;
  }
});
})();`;
