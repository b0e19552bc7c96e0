// The review server's one write route: a decision or note posted by its own page, checked, merged
// into review.json as it is on disk, and answered with the entry as saved.
import type { IncomingMessage, ServerResponse } from "node:http";
import { UserError } from "../../errors.js";
import type { ParamValue } from "../../job/types.js";
import {
  applyDecision,
  parseDecisionChange,
  readReview,
  writeReview,
  type DecisionChange,
  type Review,
  type ReviewEntry,
} from "./decisions.js";
import { describe, send } from "./reply.js";

/** The largest decision a page may post: a key and a note of MAX_NOTE_LENGTH characters fit. */
export const MAX_BODY_BYTES = 4096;

export interface DecisionRouteOptions {
  outputDir: string;
  job: string;
  /** What a key stands for (a task of the manifest, or an orphan), for the decisions. */
  subjects: Map<string, { pair: string; params: Record<string, ParamValue>; label: string }>;
  now: () => Date;
  /** Whether a Host header (or an Origin without its scheme) names this server. */
  hostAllowed(header: string | undefined): boolean;
  /** Told of the decisions just written, before the page is answered (the server keeps them). */
  saved(review: Review): void;
}

/** The handler for POST DECISIONS_ROUTE (the route render.ts gives the page); it writes one decision at a time, in the order posted. */
export function decisionRoute(
  options: DecisionRouteOptions,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  let writes: Promise<unknown> = Promise.resolve();
  return async (request, response) => {
    // A form or a page elsewhere cannot post here: the browser names the page's origin, and a
    // JSON body from another origin needs a preflight this server never grants.
    const origin = request.headers.origin;
    if (
      origin === undefined ||
      !options.hostAllowed(origin.replace(/^http:\/\//i, "")) ||
      !/^http:\/\//i.test(origin)
    ) {
      request.resume();
      send(response, 403, "decisions are taken from this server's own page only");
      return;
    }
    if (!/^application\/json\s*(?:;|$)/i.test(request.headers["content-type"] ?? "")) {
      request.resume();
      send(response, 415, "expected application/json");
      return;
    }
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === null) {
      // The rest of the body is drained, not read, and the connection closed after the answer.
      response.setHeader("Connection", "close");
      send(response, 413, `a decision is at most ${MAX_BODY_BYTES} bytes`);
      request.resume();
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      send(response, 400, "not JSON");
      return;
    }
    const change = parseDecisionChange(value);
    if (typeof change === "string") {
      send(response, 400, change);
      return;
    }
    const write = writes.then(async () => {
      // Read again: another review of the same folder (or a hand edit) may have written since.
      const current = await readReview(options.outputDir, options.job);
      const known = options.subjects.get(change.key);
      const previous = current.decisions.get(change.key);
      const subject = known ?? previous;
      if (!subject) return null;
      const next = applyDecision(current, change, subject, options.now().toISOString());
      await writeReview(options.outputDir, next);
      options.saved(next);
      return { entry: next.decisions.get(change.key) ?? null, label: known?.label ?? change.key };
    });
    writes = write.catch(() => undefined);
    let saved: { entry: ReviewEntry | null; label: string } | null;
    try {
      saved = await write;
    } catch (error) {
      send(response, error instanceof UserError ? 409 : 500, `not saved: ${describe(error)}`);
      return;
    }
    if (saved === null) {
      send(response, 404, `no task ${change.key} in this folder`);
      return;
    }
    const entry = saved.entry;
    const json = JSON.stringify({
      entry: entry && { decision: entry.decision, note: entry.note, at: entry.at },
      message: `${describeChange(change)}: ${saved.label}`,
    });
    response.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(json),
    });
    response.end(json);
  };
}

function describeChange(change: DecisionChange): string {
  const said: string[] = [];
  if (change.decision !== undefined)
    said.push(change.decision === "pick" ? "picked" : change.decision === "reject" ? "rejected" : "cleared");
  if (change.note !== undefined) said.push(change.note.trim() === "" ? "note removed" : "note saved");
  return said.join(", ");
}

/** The body, or null as soon as it passes `limit` bytes. */
function readBody(request: IncomingMessage, limit: number): Promise<string | null> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        request.removeAllListeners("data");
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
