import { hash } from "node:crypto";
import { canonicalJson, TASK_KEY_LENGTH, taskKeyOf } from "../canonical.js";
import type { RequestBody } from "./types.js";

/**
 * taskKeyOf for the planner's hot loop. It builds the same canonical JSON (keys sorted at every
 * depth) from pieces: the nested objects a pair's tasks share (character, reference,
 * contentModeration) are serialised once, not once per task. A 100,000-task plan otherwise spends
 * a third of its time sorting the same keys. Each keyer checks its first key against taskKeyOf, so
 * a change to the canonical form cannot go unnoticed.
 */
export function createTaskKeyer(): (request: RequestBody) => string {
  const shared = new WeakMap<object, string>();
  let fields: (keyof RequestBody)[] = [];
  let prefixes: string[] = [];
  let checked = false;
  return (request) => {
    if (!checked) {
      fields = (Object.keys(request) as (keyof RequestBody)[]).toSorted();
      prefixes = fields.map((field, index) => `${index === 0 ? "{" : ","}${JSON.stringify(field)}:`);
    }
    let json = "";
    for (let index = 0; index < fields.length; index++) {
      const value = request[fields[index]!];
      let text: string | undefined;
      if (typeof value === "object" && value !== null) {
        text = shared.get(value);
        if (text === undefined) shared.set(value, (text = canonicalJson(value)));
      } else {
        text = typeof value === "string" ? JSON.stringify(value) : String(value);
      }
      json += prefixes[index]! + text;
    }
    // crypto.hash: the one-shot digest, several times faster than createHash for short inputs.
    const key = hash("sha256", json + "}", "hex").slice(0, TASK_KEY_LENGTH);
    if (!checked) {
      checked = true;
      if (key !== taskKeyOf(request))
        throw new Error("the planner's task key differs from taskKeyOf (src/canonical.ts)");
    }
    return key;
  };
}
