// The out-of-process side of the reliability harness, run by Node directly (types stripped) from
// dist/: the simulator, and in front of its API routes a small proxy that, on every create, reads the
// runner's journal from disk and records whether the intent for that body was already there (the
// intent must be durable before the POST leaves). The proxy also keeps a request log of its own and
// can echo the Authorization header back in error bodies, as careless servers do. Output URLs point
// at the simulator's own origin, so downloads bypass the proxy: a different origin, where the key
// must never be sent.
//
// Driven by its parent over the IPC channel: { id, op, arg } in, { id, ok, value | error } out.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { taskKeyOf } from "../../../dist/canonical.js";
import { foldJournal, lastAttempt } from "../../../dist/journal/fold.js";
import { parseJournal } from "../../../dist/journal/writer.js";
import { startSimulator, type Simulator, type SimulatorOptions } from "../../../dist/sim/index.js";
import type { CannedAnswer, EchoMode, HostOptions, IntentCheck, ProxyRecord } from "./host-protocol.js";

const options = JSON.parse(process.argv[2] ?? "{}") as HostOptions;

let journalDir: string | null = options.journalDir ?? null;
let echo: EchoMode | null = options.echo ?? null;
let firstCreate: CannedAnswer[] = [options.firstCreate ?? []].flat();
const keysSeen = new Set<string>();
const proxyLog: ProxyRecord[] = [];
const intentChecks: IntentCheck[] = [];

const sim: Simulator = await startSimulator({
  requestLogSize: 1_000_000,
  ...(options.sim as SimulatorOptions),
  apiKey: options.apiKey,
});
const simUrl = new URL(sim.origin);
// Idle upstream sockets are closed after 5 s, before the simulator's own 10 s keep-alive timeout:
// a request written to a socket the simulator is closing at that moment would be reset, and the
// client would see a create reset after sending (ambiguous) that no fault in the test asked for.
// (Node's agent applies no idle timeout at all unless `timeout` is set.)
const upstream = new Agent({ keepAlive: true, maxSockets: 256, timeout: 5_000 });

/** Reads the journal as a separate process sees it (the page cache: what write + fsync put there). */
function checkIntent(key: string): IntentCheck {
  const at = Date.now();
  if (journalDir === null) return { key, at, found: false, detail: "no journal folder configured" };
  let bytes: Buffer;
  try {
    bytes = readFileSync(join(journalDir, ".actbatch", "journal.ndjson"));
  } catch {
    return { key, at, found: false, detail: "no journal file" };
  }
  try {
    const parsed = parseJournal(bytes);
    const last = lastAttempt(foldJournal(parsed.records).get(key));
    if (!last) return { key, at, found: false, detail: "no record for this key" };
    if (last.phase !== "intent")
      return { key, at, found: false, detail: `last record of attempt ${last.attempt} is ${last.phase}` };
    return { key, at, found: true, detail: `intent of attempt ${last.attempt}` };
  } catch (error) {
    return { key, at, found: false, detail: `journal unreadable: ${(error as Error).message}` };
  }
}

function echoBody(authorization: string, mode: EchoMode): string {
  const key = authorization.replace(/^Bearer /, "");
  const forms: Record<EchoMode["form"], string> = {
    header: `Authorization: ${authorization}`,
    json: JSON.stringify({ headers: { authorization } }),
    base64: Buffer.from(key).toString("base64"),
    url: encodeURIComponent(key),
    prefix: key.slice(0, 20),
  };
  return JSON.stringify({
    error: {
      message: `upstream rejected the request (${forms[mode.form]})`,
      type: "comet_api_error",
      code: "upstream_error",
    },
  });
}

function shouldEcho(kind: "create" | "get"): EchoMode | null {
  if (echo === null || !echo.routes.includes(kind)) return null;
  // Deterministic: every n-th request of the route, so a run sees the echo early and often.
  const seen = proxyLog.filter((record) => record.kind === kind).length;
  return seen % echo.every === 0 ? echo : null;
}

/** Tells runs with different keys apart without keeping any key. */
function authHash(authorization: string): string {
  return createHash("sha256").update(authorization).digest("hex").slice(0, 12);
}

function routeKind(method: string, path: string): ProxyRecord["kind"] {
  if (method === "POST" && path.endsWith("/v1/character_performance")) return "create";
  if (path.includes("/v1/tasks/")) return method === "DELETE" ? "delete" : "get";
  return "other";
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, record: ProxyRecord): void {
  const headers = { ...req.headers, host: simUrl.host };
  const upstreamRequest = request(
    {
      host: simUrl.hostname,
      port: simUrl.port,
      method: req.method,
      path: req.url,
      headers,
      agent: upstream,
    },
    (upstreamResponse) => {
      record.status = String(upstreamResponse.statusCode ?? 0);
      res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(res);
      upstreamResponse.on("aborted", () => res.socket?.destroy());
      upstreamResponse.on("error", () => res.socket?.destroy());
    },
  );
  upstreamRequest.on("error", () => {
    // The simulator reset the connection (a "reset" or "lost" fault): the client sees the same.
    record.status = "reset";
    const socket = req.socket;
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  });
  // The client gave up (its timeout): the simulator sees the connection go, as it would directly.
  res.on("close", () => {
    if (!res.writableFinished) upstreamRequest.destroy();
  });
  upstreamRequest.end(body);
}

const proxy = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("error", () => undefined);
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const method = req.method ?? "";
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const kind = routeKind(method, path);
    const authorization = req.headers.authorization;
    const record: ProxyRecord = {
      at: Date.now(),
      method,
      path,
      kind,
      status: "",
      key: null,
      auth: authorization === undefined ? null : authHash(authorization),
    };
    if (kind === "create") {
      try {
        record.key = taskKeyOf(JSON.parse(body.toString("utf8")));
        intentChecks.push(checkIntent(record.key));
      } catch {
        // Not JSON: the simulator answers 400; there is no body to look for.
      }
    }
    const echoing = kind === "create" || kind === "get" ? shouldEcho(kind) : null;
    proxyLog.push(record);
    const canned = firstCreate[keysSeen.size % Math.max(1, firstCreate.length)];
    if (record.key !== null && canned !== undefined && !keysSeen.has(record.key)) {
      keysSeen.add(record.key);
      record.status = `${canned.status}-canned`;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(canned.headers ?? {})) {
        const relative = /^\{now\+(\d+)\}$/.exec(value);
        headers[name] = relative ? new Date(Date.now() + Number(relative[1])).toUTCString() : value;
      }
      res.writeHead(canned.status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(canned.body),
        ...headers,
      });
      res.end(canned.body);
      return;
    }
    if (echoing !== null && authorization !== undefined) {
      const text = echoBody(authorization, echoing);
      record.status = `${echoing.status}-echo`;
      res.writeHead(echoing.status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
        "x-echo-authorization": authorization,
      });
      res.end(text);
      return;
    }
    forward(req, res, body, record);
  });
});
await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const proxyOrigin = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

type Handler = (arg: unknown) => unknown;
const handlers: Record<string, Handler> = {
  stats: () => sim.stats(),
  simLog: () => sim.requestLog(),
  proxyLog: () => proxyLog,
  intentChecks: () => intentChecks,
  expectedOutputs: (arg) =>
    Object.fromEntries((arg as string[]).map((id) => [id, sim.expectedOutput(id) ?? null])),
  setFaults: (arg) => sim.setFaults((arg as string | null) ?? undefined),
  setAccount: (arg) => sim.setAccount(arg as Parameters<Simulator["setAccount"]>[0]),
  setJournalDir: (arg) => {
    journalDir = arg as string;
  },
  setEcho: (arg) => {
    echo = arg as EchoMode | null;
  },
  setFirstCreate: (arg) => {
    firstCreate = [(arg as CannedAnswer | CannedAnswer[] | null) ?? []].flat();
  },
  close: async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    upstream.destroy();
    await sim.close();
  },
};

process.on("message", (message: { id: number; op: string; arg?: unknown }) => {
  const handler = handlers[message.op];
  Promise.resolve()
    .then(() => {
      if (!handler) throw new Error(`unknown op ${message.op}`);
      return handler(message.arg);
    })
    .then(
      (value) => {
        process.send?.({ id: message.id, ok: true, value: value ?? null });
        if (message.op === "close") process.disconnect();
      },
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
    );
});
// The parent went away (a test run cut short): do not outlive it.
process.on("disconnect", () => process.exit(0));

process.send?.({
  id: 0,
  ok: true,
  value: { baseUrl: `${proxyOrigin}/runwayml`, simOrigin: sim.origin, proxyOrigin },
});
