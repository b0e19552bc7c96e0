// One pair of the contact sheet: its reference clip at the head of the grid (with the transport
// that plays the pair in lockstep), then a grid per section whose cells are the tasks. A cell is a
// poster canvas the page fills with a frame of its clip, and one caption line; the rest of a task
// (key, task id, request) is in the page's data, shown on demand.
import type { ManifestTask } from "../../manifest/types.js";
import type { ParamValue, SweepField } from "../../job/types.js";
import type { Review } from "../review/decisions.js";
import { escapeHtml } from "./escape.js";
import { fieldValue, type GridSection, type PairGrid } from "./grid.js";
import type { ReferenceMedia } from "./sheet-types.js";

export interface CellContext {
  review: Review;
  outputUrl: (file: string) => string | null;
  /** Per changed key, the earlier output's URL (null when it may not be served). */
  changed: Map<string, string | null>;
}

export const FILTERS = [
  { id: "all", label: "all" },
  { id: "picked", label: "picked" },
  { id: "rejected", label: "rejected" },
  { id: "undecided", label: "undecided" },
  { id: "failed", label: "failed" },
  { id: "checks", label: "failed checks" },
  { id: "changed", label: "changed" },
] as const;
export type FilterId = (typeof FILTERS)[number]["id"];

/** How many tasks each filter shows. */
export function countFilters(
  tasks: readonly ManifestTask[],
  review: Review,
  changed: Map<string, unknown>,
): Record<FilterId, number> {
  const counts: Record<FilterId, number> = {
    all: tasks.length,
    picked: 0,
    rejected: 0,
    undecided: 0,
    failed: 0,
    checks: 0,
    changed: 0,
  };
  for (const task of tasks) {
    const decision = review.decisions.get(task.key)?.decision ?? null;
    if (decision === "pick") counts.picked++;
    else if (decision === "reject") counts.rejected++;
    else counts.undecided++;
    if (task.status === "FAILED") counts.failed++;
    if (hasFailedCheck(task)) counts.checks++;
    if (changed.has(task.key)) counts.changed++;
  }
  return counts;
}

export function hasFailedCheck(task: ManifestTask): boolean {
  return task.outputs.some((output) => output.checks?.some((check) => !check.ok) ?? false);
}

/** "1280:720" as a CSS aspect ratio; 16 / 9 for anything else. */
export function aspectOf(ratio: string): { width: number; height: number } {
  const match = /^([1-9][0-9]{0,4}):([1-9][0-9]{0,4})$/.exec(ratio);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : { width: 16, height: 9 };
}

const SHORT_NAMES: Partial<Record<SweepField, string>> = { expressionIntensity: "ei", bodyControl: "body" };

/** A field's value as a caption or a header shows it: "ei 3", "seed 42", "body off", "1280:720". */
export function shortLabel(field: SweepField, value: ParamValue): string {
  if (field === "ratio") return String(value);
  if (field === "bodyControl") return value === true ? "body on" : "body off";
  return `${SHORT_NAMES[field] ?? field} ${String(value)}`;
}

export function renderPair(
  grid: PairGrid,
  index: number,
  reference: ReferenceMedia | undefined,
  context: CellContext,
  live: boolean,
): string {
  const first = grid.tasks[0];
  const aspect = aspectOf(first ? String(first.request.ratio) : "");
  // The tallest clip of the pair bounds the cell width: a cell never outgrows most of the screen's
  // height, whatever its ratio; the widest grid of the pair (and the reference) share the width.
  const tallest = grid.tasks
    .map((task) => aspectOf(String(task.request.ratio)))
    .reduce((best, shape) => (shape.height / shape.width > best.height / best.width ? shape : best), aspect);
  const columns = Math.max(
    1,
    ...grid.sections.map((section) =>
      grid.rowField === null ? Math.min(section.cells.flat(2).length, 6) : section.colValues.length,
    ),
  );
  const sizing = `--pair-cols:${columns};--cell-max:calc(68vh * ${tallest.width} / ${tallest.height});--cell-min:${tallest.height > tallest.width ? 110 : 150}px`;
  const parts = [
    `<section class="pair" id="pair-${index}" data-pair="${escapeHtml(grid.pair)}" style="${sizing}">`,
    `<div class="pair-head"><h2>${escapeHtml(grid.pair)}</h2><span class="count">${grid.tasks.length} task${grid.tasks.length === 1 ? "" : "s"}</span></div>`,
    '<div class="pair-body">',
    renderReference(reference, aspect, live),
    '<div class="sections">',
  ];
  grid.sections.forEach((section, sectionIndex) =>
    parts.push(renderSection(grid, section, `${index}.${sectionIndex}`, context)),
  );
  parts.push("</div>", "</div>", "</section>");
  return parts.join("\n");
}

function renderReference(
  reference: ReferenceMedia | undefined,
  aspect: { width: number; height: number },
  live: boolean,
): string {
  const style = `--ar:${aspect.width}/${aspect.height}`;
  const transport =
    '<div class="transport"><button type="button" class="play" title="play the pair in lockstep (Space)" aria-label="play or pause the pair">▶</button><input type="range" class="scrub" min="0" max="1" step="0.01" value="0" aria-label="position"><span class="time">0.00</span></div>';
  if (!reference)
    return `<aside class="reference" style="${style}"><div class="ref-title">reference</div>${transport}</aside>`;
  const label = escapeHtml(reference.label);
  let clip: string;
  if (reference.playable !== null)
    clip = `<div class="clip ref-clip" data-src="${escapeHtml(reference.playable)}"><canvas class="poster" width="0" height="0"></canvas></div>`;
  else if (live && reference.remote !== null)
    clip = `<div class="clip ref-clip none" data-remote="${escapeHtml(reference.remote)}"><span>plays from its URL with the pair (Space)</span></div>`;
  else
    clip = `<div class="clip ref-clip none"><span>${reference.problem !== null ? escapeHtml(reference.problem) : "a remote clip: follow its link (this page fetches nothing)"}</span></div>`;
  const name = reference.link
    ? `<a href="${escapeHtml(reference.link)}" rel="noreferrer noopener" target="_blank">${label}</a>`
    : `<code>${label}</code>`;
  return `<aside class="reference" style="${style}"><div class="ref-title">reference</div>${clip}<div class="ref-name">${name}</div><div class="ref-state"></div>${transport}</aside>`;
}

function fieldName(field: SweepField | null): string {
  return field === null ? "" : escapeHtml(field);
}

function shortName(field: SweepField | null): string {
  return field === null ? "" : escapeHtml(SHORT_NAMES[field] ?? field);
}

function renderSection(grid: PairGrid, section: GridSection, id: string, context: CellContext): string {
  const parts: string[] = [`<div class="section" data-section="${id}">`];
  if (section.values.length > 0)
    parts.push(
      `<h3>${section.values.map(({ field, value }) => `${escapeHtml(field)} = ${escapeHtml(String(value))}`).join(", ")}</h3>`,
    );
  const tasks = section.cells.flat(2);
  const flow = grid.rowField === null;
  const colField = grid.colField;
  if (flow) {
    parts.push('<div class="grid flow">');
    tasks.forEach((task, position) => parts.push(renderCell(grid, task, `${id}.0`, position, context)));
  } else {
    parts.push(`<div class="grid" style="--cols:${Math.max(section.colValues.length, 1)}">`);
    parts.push(
      `<div class="corner" title="rows: ${fieldName(grid.rowField)}; columns: ${fieldName(colField)}">${shortName(grid.rowField)} ↓ ${shortName(colField)} →</div>`,
    );
    if (colField)
      for (const value of section.colValues)
        parts.push(`<div class="ch">${escapeHtml(shortLabel(colField, value))}</div>`);
    else parts.push('<div class="ch"></div>');
    section.cells.forEach((row, rowIndex) => {
      const rowValue = section.rowValues[rowIndex];
      const head = grid.rowField && rowValue !== undefined ? shortLabel(grid.rowField, rowValue) : "";
      parts.push(`<div class="rh">${escapeHtml(head)}</div>`);
      row.forEach((cellTasks, colIndex) => {
        if (cellTasks.length === 0) parts.push('<div class="empty">–</div>');
        else {
          const cells = cellTasks.map((task) =>
            renderCell(grid, task, `${id}.${rowIndex}`, colIndex, context),
          );
          parts.push(cells.length === 1 ? (cells[0] as string) : `<div class="slot">${cells.join("")}</div>`);
        }
      });
    });
  }
  parts.push("</div>", "</div>");
  return parts.join("\n");
}

function renderCell(
  grid: PairGrid,
  task: ManifestTask,
  row: string,
  col: number,
  context: CellContext,
): string {
  const status = escapeHtml(task.status);
  const finished = task.status === "SUCCEEDED" || task.status === "FAILED";
  const aspect = aspectOf(String(task.request.ratio));
  const attributes = [
    `class="cell${finished ? "" : " pending"}"`,
    'tabindex="0"',
    `data-key="${escapeHtml(task.key)}"`,
    `data-status="${status}"`,
    `data-row="${row}"`,
    `data-col="${col}"`,
    `style="--ar:${aspect.width}/${aspect.height}"`,
  ];
  const entry = context.review.decisions.get(task.key);
  if (entry?.decision) attributes.push(`data-review="${entry.decision}"`);
  if (entry && entry.note !== "") attributes.push("data-note");
  if (hasFailedCheck(task)) attributes.push('data-checks="failed"');
  if (context.changed.has(task.key)) attributes.push("data-changed");
  const output = task.status === "SUCCEEDED" ? task.outputs[0] : undefined;
  const url = output ? context.outputUrl(output.file) : null;
  let clip: string;
  if (url !== null)
    clip = `<div class="clip" data-src="${escapeHtml(url)}"><canvas class="poster" width="0" height="0"></canvas></div>`;
  else if (task.error)
    clip = `<div class="clip none"><span class="error-code">${escapeHtml(task.error.code)}</span><span class="error-message">${escapeHtml(task.error.message)}</span></div>`;
  else clip = `<div class="clip none"><span class="badge">${status}</span></div>`;
  const values = grid.varying.map((field) => shortLabel(field, fieldValue(task, field)));
  const full = grid.varying.map((field) => `${field}=${String(fieldValue(task, field))}`).join(" ");
  const caption = values.length > 0 ? values.join(" · ") : grid.pair;
  const extra = [
    task.status !== "SUCCEEDED" ? ` · ${task.status}` : "",
    task.attempts > 1 ? ` · ${task.attempts} attempts` : "",
    task.possiblyChargedTwice ? " · possibly charged twice" : "",
  ].join("");
  return [
    `<div ${attributes.join(" ")}>`,
    clip,
    `<div class="cap"><span class="vals" title="${escapeHtml(full || grid.pair)}">${escapeHtml(caption + extra)}</span><span class="flags"></span><button type="button" class="more" tabindex="-1" aria-label="details">i</button></div>`,
    "</div>",
  ].join("");
}
