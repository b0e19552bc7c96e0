// The contact sheet as one self-contained HTML string: inline style and script, no request to
// anywhere else (a Content-Security-Policy says so to the browser). The same page is report.html
// (static: relative links, decisions shown read-only) and the page `actbatch review` serves (live:
// its own routes, decisions written back). Everything from the job file or the service is escaped
// here or set as text by the script.
import { createHash } from "node:crypto";
import type { ManifestTask } from "../../manifest/types.js";
import { formatCost } from "./cost.js";
import { escapeHtml } from "./escape.js";
import { layoutPairs, type PairGrid } from "./grid.js";
import { PAGE_SCRIPT } from "./page-script.js";
import { pageData, scriptJson } from "./page-data.js";
import { countFilters, FILTERS, renderPair, type CellContext } from "./render-pair.js";
import type { RenderInput } from "./sheet-types.js";
import { STYLE } from "./style.js";

export type { ReferenceMedia, RenderInput } from "./sheet-types.js";

/** The route the live page posts decisions to. */
export const DECISIONS_ROUTE = "/api/decisions";

export function scriptHash(): string {
  return createHash("sha256").update(PAGE_SCRIPT).digest("base64");
}

/** The page's Content-Security-Policy: its own script only; media from itself (and, live, https). */
export function contentSecurityPolicy(live: boolean): string {
  return [
    "default-src 'none'",
    live ? "media-src 'self' data: https:" : "media-src 'self' file: data:",
    "img-src 'self' data:",
    "style-src 'unsafe-inline'",
    `script-src 'sha256-${scriptHash()}'`,
    live ? "connect-src 'self'" : "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

export function renderReport(input: RenderInput): string {
  const { manifest } = input;
  const grids = layoutPairs(manifest.tasks, input.axes);
  const context: CellContext = {
    review: input.review,
    outputUrl: input.outputUrl,
    changed: input.changed ?? new Map(),
  };
  const parts: string[] = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(input.live))}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    // An empty icon: otherwise the browser asks the review server for /favicon.ico.
    '<link rel="icon" href="data:,">',
    `<title>${escapeHtml(manifest.job)} · actbatch ${input.live ? "review" : "contact sheet"}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    `<body data-mode="${input.live ? "live" : "static"}">`,
    renderHeader(input, grids),
    "<main>",
  ];
  grids.forEach((grid, index) =>
    parts.push(renderPair(grid, index, input.references.get(grid.pair), context, input.live)),
  );
  parts.push("</main>");
  const orphanedDecisions = renderOrphanedDecisions(input);
  if (orphanedDecisions) parts.push(orphanedDecisions);
  if (manifest.orphans.length > 0) parts.push(renderOrphans(manifest.orphans));
  parts.push(
    renderPanels(input),
    `<script type="application/json" id="sheet-data">${scriptJson(pageData(input, grids, DECISIONS_ROUTE))}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  );
  return parts.join("\n");
}

function headerItem(label: string, value: string, id: string): string {
  return `<div><dt>${label}</dt><dd id="${id}">${value}</dd></div>`;
}

function renderHeader(input: RenderInput, grids: readonly PairGrid[]): string {
  const { manifest } = input;
  const s = manifest.summary;
  const counts = countFilters(manifest.tasks, input.review, input.changed ?? new Map());
  const items = [
    headerItem("tasks", String(s.total), "total"),
    headerItem("succeeded", String(s.succeeded), "succeeded"),
    headerItem("failed", String(s.failed), "failed"),
    headerItem("pending", String(s.pending), "pending"),
  ];
  if (s.possiblyChargedTwice > 0)
    items.push(headerItem("possibly charged twice", String(s.possiblyChargedTwice), "charged-twice"));
  if (manifest.orphans.length > 0)
    items.push(headerItem("orphaned", String(manifest.orphans.length), "orphans"));
  items.push(headerItem("estimated cost", escapeHtml(formatCost(input.cost)), "cost"));
  if (input.against !== undefined)
    items.push(headerItem("compared with", `<code>${escapeHtml(input.against)}</code>`, "against"));
  items.push(
    headerItem(
      "spec",
      `<code title="sha256 ${escapeHtml(manifest.spec.sha256)}">${escapeHtml(manifest.spec.file)}</code>`,
      "spec-file",
    ),
  );
  const filters = FILTERS.filter((filter) => filter.id !== "changed" || input.changed !== undefined).map(
    (filter) =>
      `<button type="button" data-filter="${filter.id}" aria-pressed="${filter.id === "all"}">${filter.label}<span class="n">${counts[filter.id]}</span></button>`,
  );
  const nav = grids
    .map((grid, index) => `<a href="#pair-${index}">${escapeHtml(grid.pair)}</a> (${grid.tasks.length})`)
    .join(" ");
  const keys = input.live
    ? "<kbd>←↑→↓</kbd> move · <kbd>Space</kbd> play pair · <kbd>p</kbd> pick · <kbd>x</kbd> reject · <kbd>n</kbd> note · <kbd>u</kbd> clear · <kbd>f</kbd> filter · <kbd>i</kbd> details"
    : "<kbd>←↑→↓</kbd> move · <kbd>Space</kbd> play pair · <kbd>f</kbd> filter · <kbd>i</kbd> details · decisions are read-only here: <code>actbatch review</code> makes them";
  const problem = input.reviewProblem
    ? `<div class="notice" id="review-problem">decisions not shown: ${escapeHtml(input.reviewProblem)}</div>`
    : "";
  return [
    "<header>",
    `<div class="title"><h1 id="job">${escapeHtml(manifest.job)}</h1><dl class="totals">${items.join("")}</dl></div>`,
    `<div class="bar"><div class="filters" role="group" aria-label="filter">${filters.join("")}</div><nav>${nav}</nav></div>`,
    `<div class="keys">${keys}${input.changed ? " · <kbd>c</kbd> compare with before" : ""}</div>`,
    problem,
    '<div id="status" role="status" aria-live="polite"></div>',
    "</header>",
  ].join("\n");
}

function renderPanels(input: RenderInput): string {
  const parts = [
    '<aside id="details" hidden aria-label="details"><button type="button" class="close" aria-label="close">×</button><h2></h2><dl></dl><pre></pre></aside>',
  ];
  if (input.live)
    parts.push(
      '<dialog id="note-editor" aria-label="note"><p class="who"></p><textarea maxlength="1000" aria-label="note"></textarea><menu><button type="button" value="cancel">Cancel</button><button type="button" value="save">Save (Enter)</button></menu></dialog>',
    );
  if (input.changed)
    parts.push(
      [
        '<div id="compare" hidden role="dialog" aria-label="before and after">',
        '<div class="transport"><strong class="cmp-title"></strong><button type="button" class="cmp-mode" data-mode="side">side by side</button><button type="button" class="cmp-mode" data-mode="wipe">wipe</button><label class="wipe-only">wipe <input type="range" class="wipe" min="0" max="100" value="50"></label><button type="button" class="close" aria-label="close">×</button></div>',
        '<div class="cmp-body"><figure class="before"><figcaption>before</figcaption><div class="clip"></div></figure><figure class="after"><figcaption>after</figcaption><div class="clip"></div></figure></div>',
        '<div class="transport"><button type="button" class="play" aria-label="play or pause">▶</button><input type="range" class="scrub" min="0" max="1" step="0.01" value="0" aria-label="position"><span class="time">0.00</span></div>',
        "</div>",
      ].join(""),
    );
  return parts.join("\n");
}

function renderOrphanedDecisions(input: RenderInput): string | null {
  const current = new Set(input.manifest.tasks.map((task) => task.key));
  const orphaned = [...input.review.decisions].filter(([key]) => !current.has(key));
  if (orphaned.length === 0) return null;
  const rows = orphaned.map(([key, entry]) => {
    const params = Object.entries(entry.params)
      .map(([field, value]) => `${field}=${String(value)}`)
      .join(" ");
    return `<tr data-key="${escapeHtml(key)}" data-review="${escapeHtml(entry.decision ?? "")}"><td><code>${escapeHtml(key)}</code></td><td>${escapeHtml(entry.pair)}</td><td>${escapeHtml(params)}</td><td>${escapeHtml(entry.decision ?? "")}</td><td>${escapeHtml(entry.note)}</td><td>${escapeHtml(entry.at)}</td></tr>`;
  });
  return [
    '<section class="decided-orphans">',
    "<h2>Orphaned decisions</h2>",
    "<p>Decisions on tasks that are no longer in the job file: kept in review.json.</p>",
    "<table><thead><tr><th>key</th><th>pair</th><th>values</th><th>decision</th><th>note</th><th>decided</th></tr></thead><tbody>",
    ...rows,
    "</tbody></table>",
    "</section>",
  ].join("\n");
}

function renderOrphans(orphans: readonly ManifestTask[]): string {
  const rows = orphans.map(
    (task) =>
      `<tr><td><code>${escapeHtml(task.key)}</code></td><td>${escapeHtml(task.pair)}</td><td>${escapeHtml(task.status)}</td><td>${task.outputs.map((output) => escapeHtml(output.file)).join(", ")}</td></tr>`,
  );
  return [
    '<section class="orphans">',
    "<h2>Orphaned tasks</h2>",
    "<p>Paid for by this output folder, no longer in the job file.</p>",
    "<table><thead><tr><th>key</th><th>pair</th><th>status</th><th>files</th></tr></thead><tbody>",
    ...rows,
    "</tbody></table>",
    "</section>",
  ].join("\n");
}
