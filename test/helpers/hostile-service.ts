// A service that plays one hostile behaviour at a time on loopback: the API (create, GET, DELETE)
// answered by a script, and the output files on a second server (another origin, as a CDN is), with a
// job of two tasks run through runJob against it in a temporary folder.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest } from "../../src/manifest/types.js";
import type { RunEvent } from "../../src/run/events.js";
import { runJob, type RunJobOptions, type RunJobResult } from "../../src/run/run-job.js";
import {
  sendJson,
  startScriptedServer,
  type RecordedRequest,
  type ScriptedServer,
} from "./scripted-server.js";

/** The key the runs use: it must never reach a message, a file or a request to another path. */
export const HOSTILE_KEY = "sk-hostile-5b8e1d07c3a94f26";

export interface HostileScript {
  /** The body a create answers, by create number (default `{id: "task-<n>"}`). */
  createAnswer?: (index: number) => unknown;
  /**
   * The body a GET of a task answers (default: SUCCEEDED with one output URL on the file server).
   * `files` and `api` are the origins of the file server and of the API.
   */
  taskAnswer?: (id: string, files: string, api: string) => unknown;
  /** Answers a request for an output URL (default: 4 KiB of bytes with its Content-Length). */
  file?: (request: RecordedRequest, response: ServerResponse, index: number) => void;
  /** Answers a request to the API's origin that is not a create or a task (default: 404). */
  apiOther?: (request: RecordedRequest, response: ServerResponse) => void;
}

export interface HostileService {
  /** The API's base URL (CometAPI's routes). */
  baseUrl: string;
  api: ScriptedServer;
  files: ScriptedServer;
  /** Requests to the API by route: "POST create", "GET <id>", "DELETE <id>", anything else as sent. */
  routes(): string[];
  close(): Promise<void>;
}

const TASK_PATH = "/runwayml/v1/tasks/";

export async function startHostileService(script: HostileScript = {}): Promise<HostileService> {
  const files = await startScriptedServer((request, response, _raw, index) => {
    if (script.file) return script.file(request, response, index);
    const body = Buffer.alloc(4096, 7);
    response.writeHead(200, { "content-type": "video/mp4", "content-length": body.length });
    response.end(body);
  });
  let creates = 0;
  let apiOrigin = "";
  const api = await startScriptedServer((request, response) => {
    if (request.method === "POST" && request.url === "/runwayml/v1/character_performance") {
      const index = creates++;
      return sendJson(response, 200, script.createAnswer?.(index) ?? { id: `task-${index}` });
    }
    if (request.url.startsWith(TASK_PATH)) {
      const id = decodeURIComponent(request.url.slice(TASK_PATH.length));
      if (request.method === "DELETE") {
        response.writeHead(204).end();
        return;
      }
      const answer = script.taskAnswer?.(id, files.origin, apiOrigin) ?? {
        id,
        status: "SUCCEEDED",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: [`${files.origin}/files/${id}.mp4`],
      };
      return sendJson(response, 200, answer);
    }
    if (script.apiOther) return script.apiOther(request, response);
    return sendJson(response, 404, { error: "not found" });
  });
  apiOrigin = api.origin;
  return {
    baseUrl: `${api.origin}/runwayml`,
    api,
    files,
    routes: () =>
      api.requests.map((r) => {
        if (r.method === "POST" && r.url.endsWith("/character_performance")) return "POST create";
        if (r.url.startsWith(TASK_PATH)) return `${r.method} ${r.url.slice(TASK_PATH.length)}`;
        return `${r.method} ${r.url}`;
      }),
    async close() {
      await api.close();
      await files.close();
    },
  };
}

/** Two tasks (one pair, two intensities), their outputs under out/. */
const JOB = [
  "version: 1",
  "name: hostile",
  "concurrency: 2",
  "assets:",
  '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
  '  take: { type: video, uri: "https://assets.example.com/take1.mp4" }',
  "pairs:",
  "  - id: pair0",
  "    character: hero",
  "    reference: take",
  "sweep:",
  "  expressionIntensity: [1, 2]",
  "output:",
  '  dir: "out"',
  '  name: "{pair}/ei{expressionIntensity}.mp4"',
  "",
].join("\n");

export interface HostileRun {
  dir: string;
  outDir: string;
  events: RunEvent[];
  /** Runs the job against the service, at a time scale of 1000 and without output checks (the files are not MP4s). */
  run(options?: Partial<RunJobOptions>): Promise<RunJobResult & { manifestOnDisk: Manifest }>;
  /** Every file under out/ but the manifest and the journal's folder. */
  outputFiles(): Promise<string[]>;
  close(): Promise<void>;
}

export async function hostileRun(service: HostileService): Promise<HostileRun> {
  const dir = await mkdtemp(join(tmpdir(), "actbatch-hostile-"));
  await writeFile(join(dir, "job.yaml"), JOB);
  const outDir = join(dir, "out");
  const events: RunEvent[] = [];
  return {
    dir,
    outDir,
    events,
    async run(options = {}) {
      events.length = 0;
      const result = await runJob({
        file: "job.yaml",
        cwd: dir,
        env: { COMETAPI_KEY: HOSTILE_KEY },
        baseUrl: service.baseUrl,
        timeScale: 1000,
        outputChecks: false,
        onEvent: (event) => events.push(event),
        ...options,
      });
      return { ...result, manifestOnDisk: await readManifest(outDir) };
    },
    async outputFiles() {
      const entries = await readdir(outDir, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name).slice(outDir.length + 1))
        .filter((file) => file !== "manifest.json" && !file.startsWith(".actbatch"))
        .toSorted();
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
