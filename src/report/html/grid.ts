// The contact sheet's layout, pure: per pair, two swept fields span a grid and every other field
// that varies splits the pair into sections.
import type { ManifestTask } from "../../manifest/types.js";
import { SWEEP_FIELDS, type ParamValue, type SweepField } from "../../job/types.js";

export interface GridAxes {
  rows?: string;
  cols?: string;
}

/**
 * Columns a sheet lays out before the field with the most values goes down the rows instead: a
 * hundred seeds across would scroll sideways, a hundred rows of five intensities fills a screen.
 */
export const MAX_DEFAULT_COLUMNS = 8;

export interface GridSection {
  /** The values of the section fields, in field order ([] when the pair has no third field). */
  values: { field: SweepField; value: ParamValue }[];
  rowValues: ParamValue[];
  colValues: ParamValue[];
  /** cells[row][col]: the tasks at that point, usually one. */
  cells: ManifestTask[][][];
}

export interface PairGrid {
  pair: string;
  /** Fields that vary in the pair, most values first. */
  varying: SweepField[];
  rowField: SweepField | null;
  colField: SweepField | null;
  sections: GridSection[];
  tasks: ManifestTask[];
}

/** A task's value of a sweepable field: from the request, so an include's extension counts too. */
export function fieldValue(task: ManifestTask, field: SweepField): ParamValue {
  return task.request[field];
}

export function isSweepField(name: string): name is SweepField {
  return (SWEEP_FIELDS as readonly string[]).includes(name);
}

/** Groups tasks by pair (in first-appearance order) and lays each pair out. */
export function layoutPairs(tasks: readonly ManifestTask[], axes: GridAxes = {}): PairGrid[] {
  const byPair = new Map<string, ManifestTask[]>();
  for (const task of tasks) {
    let list = byPair.get(task.pair);
    if (!list) byPair.set(task.pair, (list = []));
    list.push(task);
  }
  return [...byPair].map(([pair, list]) => layoutPair(pair, list, axes));
}

export function layoutPair(pair: string, tasks: readonly ManifestTask[], axes: GridAxes = {}): PairGrid {
  const distinct = new Map<SweepField, ParamValue[]>();
  for (const field of SWEEP_FIELDS) distinct.set(field, sortValues(uniqueValues(tasks, field)));
  // Most values first; on a tie, the field more tasks name in their params (swept rather than
  // changed by one include), then request field order.
  const named = (field: SweepField): number =>
    tasks.filter((task) => Object.hasOwn(task.params, field)).length;
  const varying = SWEEP_FIELDS.filter((field) => (distinct.get(field)?.length ?? 0) > 1).toSorted(
    (a, b) => (distinct.get(b)?.length ?? 0) - (distinct.get(a)?.length ?? 0) || named(b) - named(a),
  );
  // A requested axis applies to pairs where that field varies; others fall back to the default.
  // With no axis requested, a field with too many values to fit across goes down the rows.
  const wide = (field: SweepField | undefined) =>
    field !== undefined && (distinct.get(field)?.length ?? 0) > MAX_DEFAULT_COLUMNS;
  const order =
    axes.rows === undefined && axes.cols === undefined && wide(varying[0]) && varying.length > 1
      ? [varying[1] as SweepField, varying[0] as SweepField, ...varying.slice(2)]
      : varying;
  const pick = (wanted: string | undefined, taken: SweepField | null): SweepField | null => {
    if (wanted !== undefined && isSweepField(wanted) && varying.includes(wanted) && wanted !== taken)
      return wanted;
    return (
      order.find((field) => field !== taken && field !== axes.rows && field !== axes.cols) ??
      order.find((field) => field !== taken) ??
      null
    );
  };
  const colField = pick(axes.cols, null);
  const rowField = pick(axes.rows, colField);
  const sectionFields = varying.filter((field) => field !== rowField && field !== colField);

  const sections = new Map<string, { values: GridSection["values"]; tasks: ManifestTask[] }>();
  const sectionTasks = tasks.toSorted((a, b) => compareBy(sectionFields, a, b));
  for (const task of sectionTasks) {
    const values = sectionFields.map((field) => ({ field, value: fieldValue(task, field) }));
    const id = JSON.stringify(values.map((entry) => entry.value));
    let section = sections.get(id);
    if (!section) sections.set(id, (section = { values, tasks: [] }));
    section.tasks.push(task);
  }
  return {
    pair,
    varying,
    rowField,
    colField,
    tasks: [...tasks],
    sections: [...sections.values()].map((section) =>
      buildSection(section.values, section.tasks, rowField, colField),
    ),
  };
}

function buildSection(
  values: GridSection["values"],
  tasks: ManifestTask[],
  rowField: SweepField | null,
  colField: SweepField | null,
): GridSection {
  const rowValues = rowField ? sortValues(uniqueValues(tasks, rowField)) : [];
  const colValues = colField ? sortValues(uniqueValues(tasks, colField)) : [];
  const rows = Math.max(rowValues.length, 1);
  const cols = Math.max(colValues.length, 1);
  const cells: ManifestTask[][][] = Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => []),
  );
  for (const task of tasks) {
    const row = rowField ? indexOfValue(rowValues, fieldValue(task, rowField)) : 0;
    const col = colField ? indexOfValue(colValues, fieldValue(task, colField)) : 0;
    cells[row]?.[col]?.push(task);
  }
  return { values, rowValues, colValues, cells };
}

function uniqueValues(tasks: readonly ManifestTask[], field: SweepField): ParamValue[] {
  const seen = new Set<ParamValue>();
  for (const task of tasks) seen.add(fieldValue(task, field));
  return [...seen];
}

function indexOfValue(values: readonly ParamValue[], value: ParamValue): number {
  return values.indexOf(value);
}

/** Numbers ascending, false before true, strings (ratios) in their natural order. */
export function sortValues(values: readonly ParamValue[]): ParamValue[] {
  return values.toSorted(compareValues);
}

function compareValues(a: ParamValue, b: ParamValue): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

function compareBy(fields: readonly SweepField[], a: ManifestTask, b: ManifestTask): number {
  for (const field of fields) {
    const order = compareValues(fieldValue(a, field), fieldValue(b, field));
    if (order !== 0) return order;
  }
  return 0;
}
