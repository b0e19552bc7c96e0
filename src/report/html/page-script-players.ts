// The player budget's small users: posters and hover previews. Plain browser JavaScript, in one
// scope with the page script's other parts (page-script.ts joins them).
//
// Budget: at most MAX_PLAYERS <video> elements exist at once, whatever the sheet's size. Posters are
// grabbed by a few short-lived players (seek a little into the clip, draw the frame into the cell's
// canvas, release) for cells near the view, and dropped again far from it; a hover or focus preview
// is one more player; Space makes the focused pair's group (the reference and the visible cells).

/** Making and releasing a <video> (every player is counted), and the posters they grab. */
export const PLAYERS = String.raw`let players = 0;
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
// A seeked clip whose frame cannot be copied for 2 s is shown as one that cannot play.
const FRAME_TRIES = 40;
const FRAME_RETRY_MS = 50;
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
  const finish = (frame) => {
    if (settled) return;
    settled = true;
    grabbing--;
    if (frame) { drawPoster(clip, frame); frame.close(); clip.dataset.poster = "done"; }
    else { clip.dataset.poster = "failed"; clip.classList.add("unplayable"); }
    releaseVideo(video);
  };
  // Drawing the video itself at "seeked" left about one poster in 700 blank in Chromium under load
  // (the frame had not reached the element's paint path, or was gone once the player was released).
  // An ImageBitmap is a copy of the frame, made only once there is one: it refuses until then.
  let tries = 0;
  const takeFrame = () => {
    createImageBitmap(video).then((frame) => settled ? frame.close() : finish(frame), () => {
      if (settled) return;
      if (++tries > FRAME_TRIES) finish(null);
      else setTimeout(takeFrame, FRAME_RETRY_MS);
    });
  };
  video.addEventListener("loadedmetadata", () => { video.currentTime = posterTime(video.duration); }, { once: true });
  video.addEventListener("seeked", () => video.videoWidth > 0 ? takeFrame() : finish(null), { once: true });
  video.addEventListener("error", () => finish(null), { once: true });
}
function drawPoster(clip, frame) {
  const canvas = clip.querySelector("canvas.poster");
  if (!canvas) return;
  const scale = Math.min(window.devicePixelRatio || 1, 2);
  const box = clip.getBoundingClientRect().width || 320;
  const width = Math.max(1, Math.round(Math.min(box * scale, 960)));
  const height = Math.max(1, Math.round(width * frame.height / frame.width));
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(frame, 0, 0, width, height);
  if (clip.classList.contains("ref-clip"))
    clip.closest(".reference").style.setProperty("--ar", frame.width + "/" + frame.height);
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
clips.forEach((clip) => { nearObserver.observe(clip); keepObserver.observe(clip); });`;

/** The one hover or focus preview. */
export const PREVIEWS = String.raw`// Hover and focus previews: one clip, never counted as the group playing.
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
document.addEventListener("focusout", (event) => { const cell = cellOf(event.target); if (cell && !cell.matches(":hover")) stopPreview(cell); });`;
