// The contact sheet as one self-contained HTML string: inline style and script, relative links to
// the output files, no request to anywhere else (a Content-Security-Policy says so to the browser).
import { createHash } from "node:crypto";
import type { Manifest, ManifestTask } from "../../manifest/types.js";
import type { ParamValue, ProviderName } from "../../job/types.js";
import { formatCost, type CostEstimate } from "./cost.js";
import { escapeHtml, relativeFileUrl } from "./escape.js";
import { layoutPairs, type GridAxes, type GridSection, type PairGrid } from "./grid.js";

export interface ReferenceMedia {
  /** What the report shows as the reference's name. */
  label: string;
  /** A URL the page may play without a network request (relative file or data URI), else null. */
  playable: string | null;
  /** An external address shown as a link (never fetched by the page), else null. */
  link: string | null;
}

export interface RenderInput {
  manifest: Manifest;
  provider: ProviderName;
  cost: CostEstimate;
  axes?: GridAxes;
  /** The reference clip of each pair, by pair id. */
  references: Map<string, ReferenceMedia>;
}

// Plays a cell's clip while the pointer (or keyboard focus) is on it. Each clip starts as an empty
// placeholder and becomes a <video> when it scrolls near the view: a 1,000-cell sheet then opens
// without creating 1,000 media players or reading 1,000 files at once.
const SCRIPT = `(() => {
  const clipOf = (target) => target instanceof Element ? target.closest(".cell")?.querySelector("video") : null;
  const play = (event) => { const v = clipOf(event.target); if (v) v.play().catch(() => {}); };
  const stop = (event) => { const v = clipOf(event.target); if (v && !v.closest(".cell").contains(event.relatedTarget)) v.pause(); };
  document.addEventListener("mouseover", play);
  document.addEventListener("mouseout", stop);
  document.addEventListener("focusin", play);
  document.addEventListener("focusout", stop);
  const videos = document.querySelectorAll(".clip[data-src]");
  const load = (slot) => {
    const video = document.createElement("video");
    video.className = "clip";
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "metadata";
    video.src = slot.dataset.src;
    slot.replaceWith(video);
  };
  if (!("IntersectionObserver" in window)) { videos.forEach(load); return; }
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) if (entry.isIntersecting) { load(entry.target); observer.unobserve(entry.target); }
  }, { rootMargin: "400px" });
  videos.forEach((v) => observer.observe(v));
})();`;

const STYLE = `
:root { color-scheme: light dark; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 0 1.5rem 2rem; }
header { position: sticky; top: 0; background: Canvas; padding: .5rem 0; border-bottom: 1px solid GrayText; z-index: 1; }
h1 { margin: .2rem 0; font-size: 1.4rem; }
dl.totals { display: flex; flex-wrap: wrap; gap: .2rem 1.5rem; margin: .3rem 0; }
dl.totals div { display: flex; gap: .4rem; }
dt { color: GrayText; } dd { margin: 0; font-weight: 600; }
code { font-family: ui-monospace, monospace; font-size: .9em; word-break: break-all; }
nav a { margin-right: 1rem; }
section.pair { margin-top: 1.5rem; }
.pair-body { display: flex; gap: 1rem; align-items: flex-start; }
aside.reference { position: sticky; top: 7rem; flex: 0 0 220px; }
aside.reference video { width: 220px; background: #000; }
table.grid { border-collapse: collapse; margin-bottom: 1rem; }
table.grid th { padding: .3rem .5rem; font-weight: 600; white-space: nowrap; }
table.grid td { padding: .25rem; vertical-align: top; }
.cell { width: 200px; border: 2px solid transparent; border-radius: 4px; padding: .2rem; }
.cell .clip { width: 100%; aspect-ratio: 16 / 9; background: #000; display: block; }
section.pair { content-visibility: auto; contain-intrinsic-size: auto 900px; }
.cell .meta { font-size: .75rem; }
.cell .meta span { display: block; }
.status-SUCCEEDED { border-color: #2a9d55; }
.status-FAILED { border-color: #d33; background: color-mix(in srgb, #d33 10%, Canvas); }
.cell.pending { border-color: GrayText; border-style: dashed; }
.error { color: #d33; white-space: pre-wrap; overflow-wrap: anywhere; }
td.empty { color: GrayText; text-align: center; }
.badge { font-weight: 700; }
`;

export function renderReport(input: RenderInput): string {
  const { manifest } = input;
  const scriptHash = createHash("sha256").update(SCRIPT).digest("base64");
  const csp = [
    "default-src 'none'",
    "media-src 'self' file: data:",
    "img-src 'self' file: data:",
    "style-src 'unsafe-inline'",
    `script-src 'sha256-${scriptHash}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  const grids = layoutPairs(manifest.tasks, input.axes);
  const parts: string[] = [];
  parts.push(
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(manifest.job)} · actbatch contact sheet</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    renderHeader(input, grids),
  );
  grids.forEach((grid, index) => parts.push(renderPair(grid, index, input.references.get(grid.pair))));
  if (manifest.orphans.length > 0) parts.push(renderOrphans(manifest.orphans));
  parts.push(`<script>${SCRIPT}</script>`, "</body>", "</html>", "");
  return parts.join("\n");
}

function headerItem(label: string, value: string, id: string): string {
  return `<div><dt>${label}</dt><dd id="${id}">${value}</dd></div>`;
}

function renderHeader(input: RenderInput, grids: readonly PairGrid[]): string {
  const { manifest } = input;
  const s = manifest.summary;
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
  items.push(headerItem("spec", `<code>${escapeHtml(manifest.spec.file)}</code>`, "spec-file"));
  items.push(headerItem("sha256", `<code>${escapeHtml(manifest.spec.sha256)}</code>`, "spec-sha256"));
  const nav = grids
    .map((grid, index) => `<a href="#pair-${index}">${escapeHtml(grid.pair)}</a> (${grid.tasks.length})`)
    .join(" ");
  return [
    "<header>",
    `<h1 id="job">${escapeHtml(manifest.job)}</h1>`,
    `<dl class="totals">${items.join("")}</dl>`,
    `<nav>${nav}</nav>`,
    "</header>",
  ].join("\n");
}

function renderPair(grid: PairGrid, index: number, reference: ReferenceMedia | undefined): string {
  const parts = [
    `<section class="pair" id="pair-${index}" data-pair="${escapeHtml(grid.pair)}">`,
    `<h2>${escapeHtml(grid.pair)}</h2>`,
    '<div class="pair-body">',
    renderReference(reference),
    '<div class="sections">',
  ];
  for (const section of grid.sections) parts.push(renderSection(grid, section));
  parts.push("</div>", "</div>", "</section>");
  return parts.join("\n");
}

function renderReference(reference: ReferenceMedia | undefined): string {
  if (!reference) return '<aside class="reference"></aside>';
  const label = escapeHtml(reference.label);
  const media = reference.playable
    ? `<video class="reference-clip" src="${escapeHtml(reference.playable)}" muted loop autoplay playsinline preload="metadata"></video>`
    : "";
  const name = reference.link
    ? `<a href="${escapeHtml(reference.link)}" rel="noreferrer noopener" target="_blank">${label}</a>`
    : `<code>${label}</code>`;
  return `<aside class="reference"><div>reference</div>${media}<div class="reference-name">${name}</div></aside>`;
}

function renderSection(grid: PairGrid, section: GridSection): string {
  const parts: string[] = [];
  if (section.values.length > 0)
    parts.push(
      `<h3>${section.values.map(({ field, value }) => `${escapeHtml(field)} = ${escapeHtml(String(value))}`).join(", ")}</h3>`,
    );
  parts.push('<table class="grid">');
  const corner = [grid.rowField, grid.colField]
    .flatMap((field) => (field === null ? [] : [escapeHtml(field)]))
    .join(" \\ ");
  const colField = grid.colField;
  const colHeads = colField
    ? section.colValues.map((value) => `<th scope="col">${escapeHtml(fieldLabel(colField, value))}</th>`)
    : ["<th></th>"];
  parts.push(`<thead><tr><th>${corner}</th>${colHeads.join("")}</tr></thead>`, "<tbody>");
  section.cells.forEach((row, rowIndex) => {
    const rowValue = section.rowValues[rowIndex];
    const head =
      grid.rowField && rowValue !== undefined ? escapeHtml(fieldLabel(grid.rowField, rowValue)) : "";
    const cells = row.map((tasks) =>
      tasks.length === 0 ? '<td class="empty">–</td>' : `<td>${tasks.map(renderCell).join("")}</td>`,
    );
    parts.push(`<tr><th scope="row">${head}</th>${cells.join("")}</tr>`);
  });
  parts.push("</tbody>", "</table>");
  return parts.join("\n");
}

function fieldLabel(field: string, value: ParamValue): string {
  return `${field} ${String(value)}`;
}

function renderCell(task: ManifestTask): string {
  const status = escapeHtml(task.status);
  const finished = task.status === "SUCCEEDED" || task.status === "FAILED";
  const classes = `cell status-${status}${finished ? "" : " pending"}`;
  const parts = [
    `<div class="${classes}" tabindex="0" data-key="${escapeHtml(task.key)}" data-status="${status}">`,
  ];
  const output = task.status === "SUCCEEDED" ? task.outputs[0] : undefined;
  const url = output ? relativeFileUrl(output.file) : null;
  if (url !== null) parts.push(`<div class="clip" data-src="${escapeHtml(url)}"></div>`);
  parts.push('<div class="meta">');
  if (output)
    parts.push(`<span class="file"><a href="${escapeHtml(url ?? "")}">${escapeHtml(output.file)}</a></span>`);
  parts.push(
    `<span class="badge">${status}${task.attempts > 1 ? ` · ${task.attempts} attempts` : ""}</span>`,
  );
  if (task.error)
    parts.push(
      `<span class="error"><strong class="error-code">${escapeHtml(task.error.code)}</strong> <span class="error-message">${escapeHtml(task.error.message)}</span></span>`,
    );
  if (task.possiblyChargedTwice) parts.push('<span class="error">possibly charged twice</span>');
  const params = Object.entries(task.params)
    .map(([field, value]) => `${field}=${String(value)}`)
    .join(" ");
  if (params) parts.push(`<span class="params">${escapeHtml(params)}</span>`);
  parts.push(`<span>key <code>${escapeHtml(task.key)}</code></span>`);
  parts.push(`<span>task <code>${escapeHtml(task.taskId ?? "none")}</code></span>`);
  parts.push("</div>", "</div>");
  return parts.join("");
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
