// The contact sheet's one script, inline and allowed by its hash. Plain browser JavaScript in strings:
// this project's TypeScript has no DOM types (test/report/review-file.test.ts parses it).
//
// Its parts share one scope, joined in the order below: what a part runs on load (adding listeners,
// the first layout) may read the constants of the parts before it, not of those after.
import { DECISIONS, DETAILS, FILTERS } from "./page-script-decisions.js";
import { COMPARE, GROUPS } from "./page-script-lockstep.js";
import { PLAYERS, PREVIEWS } from "./page-script-players.js";
import { CELLS, PRELUDE } from "./page-script-shared.js";

/** The keys: one listener that reaches into every part. */
const KEYS = String.raw`// Keys.
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
});`;

export const PAGE_SCRIPT = `(() => {
${[PRELUDE, PLAYERS, CELLS, PREVIEWS, GROUPS, FILTERS, DECISIONS, DETAILS, COMPARE, KEYS].join("\n\n")}
})();`;
