// The contact sheet's style sheet, inline in the page (the page loads nothing else). Cells take their
// clip's ratio (--ar); a pair's cells and its reference share one width (--cell) that fills the
// window's width with its widest grid, never taller than most of a screen (--cell-max) and never
// narrower than a readable tile (--cell-min), where the grid scrolls sideways instead.
export const STYLE = `
:root { color-scheme: light dark; font: 14px/1.35 system-ui, sans-serif; --pick: #1f9d55; --reject: #d33; --accent: #2f6fdf; --tile: #6b6f76; }
* { box-sizing: border-box; }
body { margin: 0 1rem 3rem; }
header { position: sticky; top: 0; background: Canvas; padding: .4rem 0; border-bottom: 1px solid GrayText; z-index: 3; }
.title { display: flex; flex-wrap: wrap; align-items: baseline; gap: .3rem 1.2rem; }
h1 { margin: 0; font-size: 1.3rem; }
dl.totals { display: flex; flex-wrap: wrap; gap: .1rem 1.1rem; margin: 0; }
dl.totals div { display: flex; gap: .35rem; }
dt { color: GrayText; } dd { margin: 0; font-weight: 600; }
code { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: .3rem 1rem; margin-top: .3rem; }
.filters { display: flex; flex-wrap: wrap; gap: .25rem; }
.filters button { font: inherit; font-size: .85rem; padding: .1rem .5rem; border: 1px solid GrayText; border-radius: 1rem; background: Canvas; color: CanvasText; cursor: pointer; }
.filters button[aria-pressed="true"] { background: var(--accent); border-color: var(--accent); color: #fff; }
.filters .n { opacity: .75; margin-left: .25rem; }
nav { font-size: .85rem; } nav a { margin-right: .8rem; }
.keys { font-size: .8rem; color: GrayText; }
kbd { font: .75rem ui-monospace, monospace; border: 1px solid GrayText; border-radius: 3px; padding: 0 .25rem; }
#status { min-height: 1.2em; font-size: .85rem; color: var(--accent); }
#status.bad { color: var(--reject); }
.notice { color: var(--reject); }
section.pair { margin-top: 1.2rem; content-visibility: auto; contain-intrinsic-size: auto 900px;
  --cell: clamp(var(--cell-min, 150px), calc((100vw - 11rem) / (var(--pair-cols, 3) + 1)), var(--cell-max, 640px)); }
section.pair[hidden] { display: none; }
.pair-head { display: flex; align-items: baseline; gap: 1rem; }
h2 { margin: .2rem 0 .4rem; font-size: 1.15rem; overflow-wrap: anywhere; }
h3 { margin: .5rem 0 .3rem; font-size: .95rem; font-weight: 600; }
.pair-body { display: flex; gap: 1rem; align-items: flex-start; }
aside.reference { position: sticky; top: var(--header, 7rem); flex: 0 0 var(--cell); font-size: .8rem; }
.ref-title { font-weight: 600; }
.ref-name { color: GrayText; overflow-wrap: anywhere; }
.ref-state { color: var(--reject); }
.transport { display: flex; align-items: center; gap: .4rem; margin-top: .3rem; }
.transport button { font: inherit; min-width: 2rem; cursor: pointer; }
.transport input[type=range] { flex: 1; min-width: 4rem; }
.time { font: .75rem ui-monospace, monospace; min-width: 3.5em; text-align: right; }
.sections { flex: 1; min-width: 0; overflow-x: auto; }
.grid { display: grid; gap: .35rem; align-items: start; justify-content: start;
  grid-template-columns: 4.5rem repeat(var(--cols), var(--cell)); }
.grid.flow { grid-template-columns: repeat(auto-fill, var(--cell)); }
.corner, .ch, .rh { font-size: .8rem; font-weight: 600; color: GrayText; overflow-wrap: anywhere; }
.corner { align-self: end; }
.ch { text-align: center; align-self: end; }
.rh { align-self: center; text-align: right; padding-right: .2rem; }
.slot { display: grid; gap: .35rem; }
.empty { color: GrayText; text-align: center; align-self: center; }
.cell { scroll-margin: var(--header, 7rem) 0 1rem; position: relative; border: 2px solid transparent; border-radius: 5px; padding: 2px; min-width: 0; outline: none; }
.cell:focus-visible, .cell:focus { border-color: var(--accent); box-shadow: 0 0 0 2px var(--accent); }
.clip { position: relative; width: 100%; aspect-ratio: var(--ar, 16 / 9); overflow: hidden; border-radius: 3px;
  background: repeating-linear-gradient(45deg, var(--tile), var(--tile) 10px, #7b7f86 10px, #7b7f86 20px); }
.clip canvas, .clip video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; display: block; }
.clip canvas { background: #202226; }
.clip canvas[width="0"] { display: none; }
.clip video.grab { opacity: 0; pointer-events: none; }
.clip video.live { background: #202226; }
.clip.none { display: flex; flex-direction: column; justify-content: center; padding: .4rem; gap: .2rem; font-size: .8rem;
  background: color-mix(in srgb, var(--tile) 25%, Canvas); }
.clip.unplayable::after { content: "cannot play this file"; position: absolute; inset: auto 0 0; font-size: .75rem; padding: .15rem .3rem; background: #000a; color: #fff; }
.cap { display: flex; align-items: center; gap: .3rem; font-size: .78rem; margin-top: .15rem; }
.vals { flex: 1; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.flags { white-space: nowrap; font-weight: 700; }
.more { font: 600 .7rem ui-monospace, monospace; border: 1px solid GrayText; border-radius: 50%; width: 1.3rem; height: 1.3rem; padding: 0; background: Canvas; color: CanvasText; cursor: pointer; }
.cell[data-status="FAILED"] .clip { outline: 2px solid var(--reject); }
.cell.pending .clip { outline: 2px dashed GrayText; }
.error-code { font-weight: 700; color: var(--reject); }
.error-message { overflow: hidden; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow-wrap: anywhere; }
.cell[data-review="pick"] { border-color: var(--pick); background: color-mix(in srgb, var(--pick) 15%, Canvas); }
.cell[data-review="reject"] .clip { opacity: .4; }
.cell[data-review="reject"] .vals { text-decoration: line-through; }
.cell[data-review="pick"] .flags::before { content: "✓ "; color: var(--pick); }
.cell[data-review="reject"] .flags::before { content: "✗ "; color: var(--reject); }
.cell[data-note] .flags::after { content: " ✎"; }
.cell[data-checks="failed"] .flags::after { content: " ⚠"; color: var(--reject); }
.cell[data-changed] .clip::before { content: "changed"; position: absolute; z-index: 1; top: 2px; left: 2px; font-size: .7rem; padding: 0 .3rem; border-radius: 3px; background: var(--accent); color: #fff; }
.cell.in-group .clip { box-shadow: 0 0 0 2px var(--pick); }
.cell.left-out .clip { box-shadow: 0 0 0 2px GrayText; }
body.filtered .grid { display: flex; flex-wrap: wrap; }
body.filtered .grid > :not(.cell):not(.slot) { display: none; }
body.filtered .cell, body.filtered .slot { width: var(--cell); }
.cell.out { display: none; }
body.filtered .slot:not(:has(.cell:not(.out))) { display: none; }
.section[hidden] { display: none; }
#details { position: fixed; top: 0; right: 0; bottom: 0; width: min(30rem, 92vw); overflow: auto; background: Canvas; border-left: 1px solid GrayText; padding: .8rem 1rem; z-index: 5; font-size: .85rem; box-shadow: -4px 0 16px #0004; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem .8rem; }
#details dd { font-weight: 400; overflow-wrap: anywhere; }
#details pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .78rem; background: color-mix(in srgb, GrayText 12%, Canvas); padding: .4rem; }
.close { float: right; font: inherit; cursor: pointer; }
dialog { max-width: 32rem; width: 90vw; }
dialog textarea { width: 100%; min-height: 6rem; font: inherit; }
dialog menu { display: flex; justify-content: flex-end; gap: .5rem; padding: 0; }
#compare { position: fixed; inset: 2rem; z-index: 6; background: Canvas; border: 1px solid GrayText; border-radius: 6px; padding: .8rem; display: flex; flex-direction: column; gap: .5rem; box-shadow: 0 8px 32px #0006; }
#compare[hidden] { display: none; }
.cmp-body { flex: 1; min-height: 0; display: flex; gap: .8rem; justify-content: center; align-items: center; }
.cmp-body figure { margin: 0; flex: 0 1 auto; width: min(calc(50% - .4rem), calc((100vh - 12rem) * var(--ar-n, 1.78))); }
.cmp-body figcaption { font-weight: 600; font-size: .85rem; }
#compare.wipe .cmp-body { display: grid; grid-template-columns: min(100%, calc((100vh - 12rem) * var(--ar-n, 1.78))); justify-content: center; align-content: center; }
#compare.wipe .cmp-body figure { grid-area: 1 / 1; width: 100%; }
#compare.wipe figure.before { z-index: 1; clip-path: inset(0 calc(100% - var(--wipe, 50%)) 0 0); }
#compare.wipe figure.before figcaption { visibility: hidden; }
#compare.wipe figure.after figcaption::before { content: "before ◀ wipe ▶ "; font-weight: 400; }
#compare:not(.wipe) .wipe-only { display: none; }
section.orphans table, section.decided-orphans table { border-collapse: collapse; font-size: .85rem; }
section.orphans td, section.orphans th, section.decided-orphans td, section.decided-orphans th { border-bottom: 1px solid color-mix(in srgb, GrayText 40%, Canvas); padding: .2rem .5rem; text-align: left; }
@media (max-width: 700px) { .pair-body { flex-direction: column; } aside.reference { position: static; width: 60vw; flex: none; } }
`;
