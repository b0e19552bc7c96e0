import { request as httpRequest } from "node:http";
import type { RequestBody } from "../../src/job/types.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../src/sim/index.js";

export const KEY = "key_test";
export const HEADERS = {
  authorization: `Bearer ${KEY}`,
  "x-runway-version": "2024-11-06",
  "content-type": "application/json",
};

export function validBody(overrides: Partial<RequestBody> = {}): RequestBody {
  return {
    model: "act_two",
    character: { type: "image", uri: "https://assets.example.com/hero.png" },
    reference: { type: "video", uri: "https://assets.example.com/take1.mp4" },
    ratio: "1280:720",
    bodyControl: true,
    expressionIntensity: 3,
    seed: 1,
    contentModeration: { publicFigureThreshold: "auto" },
    ...overrides,
  };
}

/** A fixed instant: tests move the simulator clock with advance(), so a slow machine changes nothing. */
export const FROZEN_CLOCK = () => 1_800_000_000_000;

/**
 * Test defaults: speed 100, no task_not_exist window unless asked for, and a frozen clock (pass
 * `clock: Date.now` where real time must flow, as with the SDK's own poll timer).
 */
export async function startTestSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ speed: 100, taskNotExistMs: 0, clock: FROZEN_CLOCK, ...options });
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<JsonAnswer> {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: init.headers ?? HEADERS,
    body:
      init.body === undefined
        ? undefined
        : typeof init.body === "string"
          ? init.body
          : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body, text };
}

export async function create(base: string, body: unknown = validBody()): Promise<string> {
  const answer = await call(`${base}/v1/character_performance`, { method: "POST", body });
  if (answer.status !== 200) throw new Error(`create failed: ${answer.status} ${answer.text}`);
  return (answer.body as { id: string }).id;
}

export async function getTask(base: string, id: string): Promise<JsonAnswer> {
  return call(`${base}/v1/tasks/${id}`);
}

export type BareTask = {
  id: string;
  status: string;
  createdAt: string;
  progress?: number;
  output?: string[];
  failure?: string;
  failureCode?: string;
};

/** Moves the simulator clock in steps until the task is terminal; returns every status seen. */
export async function driveToEnd(sim: Simulator, id: string, stepMs = 20): Promise<BareTask[]> {
  const seen: BareTask[] = [];
  for (let i = 0; i < 10_000; i++) {
    const answer = await getTask(sim.origin, id);
    const task = answer.body as BareTask;
    seen.push(task);
    if (["SUCCEEDED", "FAILED", "CANCELLED"].includes(task.status)) return seen;
    sim.advance(stepMs);
  }
  throw new Error("task never finished");
}

export interface RawAnswer {
  status: number | null;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
  error: string | null;
}

/** A request with node:http, which (unlike fetch) hands back the bytes received before a reset. */
export function rawGet(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let status: number | null = null;
    let responseHeaders: RawAnswer["headers"] = {};
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ status, headers: responseHeaders, bytes: Buffer.concat(chunks), error });
    };
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      status = res.statusCode ?? null;
      responseHeaders = res.headers;
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => finish(null));
      res.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
      res.on("close", () => finish(res.complete ? null : "aborted"));
    });
    req.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    req.end();
  });
}
