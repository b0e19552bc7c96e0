// What every part of the page script reads: the sheet's data, the player budget, the status line,
// and the cells with their arrow-key neighbours. Plain browser JavaScript, like its other parts.

/** The sheet's data, the budget's numbers, the status line and the sticky header's height. */
export const PRELUDE = String.raw`"use strict";
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
window.addEventListener("resize", fitHeader);`;

/** The cells, which are shown (the filter), and the arrow keys' neighbour of a cell. */
export const CELLS = String.raw`// Cells, focus and the arrow keys.
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
}`;
