// A service that tries to steer the key: output URLs on the API's own origin, and redirects from the
// file host (and from the API's origin) to a path of the API's origin that is not the API. Only the
// API's own routes (create, task GET and DELETE) may carry the key; every other request is searched
// for it in every form redaction knows (literal, URL, base64, base64url, JSON, any 12-character piece).
import { afterEach, describe, expect, it } from "vitest";
import { redactSecrets } from "../../src/redact.js";
import {
  HOSTILE_KEY,
  hostileRun,
  startHostileService,
  type HostileRun,
  type HostileService,
} from "../helpers/hostile-service.js";
import type { RecordedRequest } from "../helpers/scripted-server.js";

let service: HostileService | null = null;
let ws: HostileRun | null = null;
afterEach(async () => {
  await service?.close();
  await ws?.close();
  service = null;
  ws = null;
});

const FILE = Buffer.alloc(4096, 7);

/** Whether anything the request sent (method, path and query, headers, body) holds the key in any form. */
function carriesKey(request: RecordedRequest): boolean {
  const text = [request.method, request.url, JSON.stringify(request.headers), request.body].join("\n");
  return redactSecrets(text, [HOSTILE_KEY]) !== text;
}

/** The API's own routes, the only ones the key is for. */
function isApiRoute(request: RecordedRequest): boolean {
  return (
    (request.method === "POST" && request.url === "/runwayml/v1/character_performance") ||
    request.url.startsWith("/runwayml/v1/tasks/")
  );
}

describe("a hostile service: the key and output URLs", () => {
  it("no download carries the key: not to an output URL on the API's origin, nor through a redirect back to it", async () => {
    const started = await startHostileService({
      // task-0's output is on the API's origin (under the API's base path); task-1's is on the file
      // host, which redirects it to the API's origin.
      taskAnswer: (id, files, api) => ({
        id,
        status: "SUCCEEDED",
        createdAt: "2026-01-01T00:00:00.000Z",
        output: [id === "task-0" ? `${api}/runwayml/files/${id}.mp4?x=1` : `${files}/files/${id}.mp4?x=1`],
      }),
      file: (_request, response) => {
        response.writeHead(302, { location: `${started.api.origin}/steal?x=2` }).end();
      },
      apiOther: (request, response) => {
        if (request.url.startsWith("/runwayml/files/")) {
          response.writeHead(302, { location: "/steal?x=1" }).end();
          return;
        }
        response.writeHead(200, { "content-type": "video/mp4", "content-length": FILE.length });
        response.end(FILE);
      },
    });
    service = started;
    ws = await hostileRun(service);
    const result = await ws.run();
    expect(result.exitCode).toBe(0);
    expect(await ws.outputFiles()).toHaveLength(2);

    const requests = [...service.api.requests, ...service.files.requests];
    const elsewhere = requests.filter((request) => !isApiRoute(request));
    expect(elsewhere.map((request) => `${request.method} ${request.url}`).toSorted()).toEqual([
      "GET /files/task-1.mp4?x=1",
      "GET /runwayml/files/task-0.mp4?x=1",
      "GET /steal?x=1",
      "GET /steal?x=2",
    ]);
    expect(elsewhere.filter(carriesKey)).toEqual([]);
    // The search finds the key where it belongs: every request of the API's own routes carries it.
    const api = requests.filter(isApiRoute);
    expect(api.length).toBeGreaterThanOrEqual(4);
    expect(api.every(carriesKey)).toBe(true);
  });
});
