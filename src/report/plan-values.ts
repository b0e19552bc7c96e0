// What `plan` lists under "varying values": the request fields whose value differs between tasks,
// each with every value that occurs. Read from the requests themselves, not from what each task
// names as its own values: a default (bodyControl true) or a pair's fixed ratio (960:960) is a value
// that occurs as much as a swept one.
import { SWEEP_FIELDS, type ParamValue, type SweepField, type TaskPlan } from "../job/types.js";

export interface VaryingField {
  field: SweepField;
  /** Numbers in ascending order, true before false, other values in the order they first occur. */
  values: ParamValue[];
}

/**
 * Fields with more than one value across `tasks`: swept fields first, in the order the tasks name
 * them, then fields that vary without being swept (a ratio fixed differently per pair).
 */
export function varyingValues(tasks: readonly TaskPlan[]): VaryingField[] {
  const order: SweepField[] = [];
  for (const task of tasks)
    for (const field of Object.keys(task.params))
      if (isSweepField(field) && !order.includes(field)) order.push(field);
  for (const field of SWEEP_FIELDS) if (!order.includes(field)) order.push(field);

  const varying: VaryingField[] = [];
  for (const field of order) {
    const seen = new Set<ParamValue>();
    for (const task of tasks) seen.add(task.request[field]);
    if (seen.size > 1) varying.push({ field, values: inOrder([...seen]) });
  }
  return varying;
}

function isSweepField(field: string): field is SweepField {
  return (SWEEP_FIELDS as readonly string[]).includes(field);
}

function inOrder(values: ParamValue[]): ParamValue[] {
  if (values.every((value) => typeof value === "number")) return values.toSorted((a, b) => a - b);
  if (values.every((value) => typeof value === "boolean"))
    return values.toSorted((a, b) => Number(b) - Number(a));
  return values;
}
