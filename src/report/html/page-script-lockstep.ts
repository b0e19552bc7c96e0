// Playback in lockstep: a pair's group, and before and after in the compare view. Plain browser
// JavaScript, in one scope with the page script's other parts (page-script.ts joins them).
//
// The group plays on one clock (performance.now), not on any one video: each member is steered to
// the clock's position, by a small change of playbackRate for a small drift and by a seek for a
// large one, so looping clips stay aligned and a member that stalls or fails holds up no one.

/** A group's members, its clock and controls, and which of a pair's cells join it. */
export const GROUPS = String.raw`// Lockstep groups: a pair (its reference and visible cells), or before and after in the compare view.
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
}`;

/** The compare view (--against): the earlier output and this one as a group of two. */
export const COMPARE = String.raw`// Before and after (--against).
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
}`;
