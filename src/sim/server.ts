// The simulator's HTTP server: listening, closing, the clock, and the entry every request goes
// through, which records it and hands it to its route's handler (handlers/). Routing is in routes.ts,
// the shared answers (and Range) in exchange.ts, the checks of API calls in gate.ts, the account in
// account.ts; the task model lives in tasks.ts, the bodies in wire.ts, validation in validate.ts,
// output files and URL signing in outputs.ts.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { UserError } from "../errors.js";
import { Account, type AccountSettings } from "./account.js";
import type { SimContext } from "./context.js";
import { Exchange, headerValue, type SimRequestRecord } from "./exchange.js";
import { parseFaultSpec, type FaultScope, type FaultSpec } from "./faults.js";
import { admitApi, keyAccepted } from "./gate.js";
import { serveAsset } from "./handlers/assets.js";
import { expectedOutputOf, serveDownload } from "./handlers/media.js";
import { handleOrganization } from "./handlers/organization.js";
import { handleCreate, handleDelete, handleGet } from "./handlers/tasks.js";
import { issueUpload, receiveUpload } from "./handlers/uploads.js";
import type { ResolvedOptions, SimShape } from "./options.js";
import { UrlSigner } from "./outputs.js";
import { seededStream } from "./random.js";
import { routeOf } from "./routes.js";
import { Counters, statsOf, type SimStats } from "./stats.js";
import { TaskScheduler, type SimTask } from "./tasks.js";
import { UploadStore } from "./uploads.js";
import type { PersistedSimState } from "./persisted-state.js";

export class SimServer implements SimContext {
  readonly server: Server;
  origin = "";
  closed = false;
  readonly tasks = new Map<string, SimTask>();
  readonly ledger: SimTask[] = [];
  readonly scheduler: TaskScheduler;
  readonly attemptsByKey = new Map<string, number>();
  readonly signer: UrlSigner;
  readonly account: Account;
  readonly counters = new Counters();
  readonly faultDraws: Record<FaultScope, () => number>;
  readonly shapeDraw: () => number;
  readonly idDraw: () => number;
  /** Runway's uploads flow; runway:// URIs live 24 h on the simulator's clock. */
  readonly uploads = new UploadStore(() => (24 * 3600_000) / this.options.speed);
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private clockOffset = 0;
  private requestCounter = 0;
  private readonly log: SimRequestRecord[] = [];
  /** Called after every request that may have changed the tasks (a create, a cancel). */
  onTasksChanged: (() => void) | null = null;

  constructor(readonly options: ResolvedOptions) {
    this.scheduler = new TaskScheduler(options.concurrency);
    this.account = new Account(options, this.ledger, this.scheduler, () => this.now());
    this.signer = new UrlSigner(createHash("sha256").update(`actbatch-sim-url:${options.seed}`).digest());
    this.faultDraws = {
      create: seededStream(options.seed, "fault", "create"),
      get: seededStream(options.seed, "fault", "get"),
      delete: seededStream(options.seed, "fault", "delete"),
      download: seededStream(options.seed, "fault", "download"),
    };
    this.shapeDraw = seededStream(options.seed, "shape");
    this.idDraw = seededStream(options.seed, `ids${options.idSalt}`);
    this.server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => this.handle(req, res));
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    // A client that resets mid-request must not crash the simulator.
    this.server.on("clientError", (_error, socket) => socket.destroy());
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "EADDRINUSE" || error.code === "EACCES" || error.code === "EADDRNOTAVAIL"
            ? new UserError(
                `the simulator cannot listen on ${this.options.host}:${this.options.port} (${error.code})`,
              )
            : error,
        ),
      );
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.removeAllListeners("error");
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.origin = `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await done;
  }

  /** Takes back the tasks a simulator of an earlier process had (persisted-state.ts). */
  restore(state: PersistedSimState): void {
    for (const task of state.tasks) {
      this.tasks.set(task.id, task);
      this.ledger.push(task);
      this.scheduler.add(task);
    }
    for (const [key, attempts] of state.attemptsByKey) this.attemptsByKey.set(key, attempts);
  }

  persistedState(): PersistedSimState {
    return { version: 1, tasks: this.ledger, attemptsByKey: [...this.attemptsByKey] };
  }

  now(): number {
    return this.options.clock() + this.clockOffset;
  }

  /** Moves the simulator clock forward: renders finish, windows close and URLs expire sooner. */
  advance(ms: number): void {
    if (ms > 0) this.clockOffset += ms;
  }

  setFaults(spec: FaultSpec | undefined): void {
    this.options.faults = parseFaultSpec(spec);
  }

  setShape(shape: SimShape): void {
    this.options.shape = shape;
  }

  setAccount(settings: AccountSettings): void {
    this.account.set(settings);
  }

  requestLog(): SimRequestRecord[] {
    return [...this.log];
  }

  /** What a download of this task's output must yield. */
  expectedOutput(taskId: string): { bytes: number; sha256: string } | undefined {
    const task = this.tasks.get(taskId);
    if (!task) return undefined;
    return expectedOutputOf(this.options, task);
  }

  stats(): SimStats {
    return statsOf(this.now(), this.ledger, this.counters, this.account.summary());
  }

  later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  // ---- request handling -------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? "/";
    const queryAt = rawUrl.indexOf("?");
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const route = routeOf(req.method ?? "GET", path);
    const authorization = req.headers.authorization;
    const record: SimRequestRecord = {
      at: this.now(),
      method: req.method ?? "",
      path,
      route: route.template,
      status: "",
      runwayVersion: headerValue(req.headers["x-runway-version"]),
      retryCount: headerValue(req.headers["x-stainless-retry-count"]),
      authorized: authorization !== undefined && keyAccepted(this.options.apiKey, authorization),
    };
    if (this.options.requestLogSize > 0) {
      this.log.push(record);
      if (this.log.length > this.options.requestLogSize) this.log.shift();
    }
    const exchange = new Exchange(req, res, route, record, this.nextRequestId(), this.counters);
    if (req.method === "POST" || req.method === "DELETE") res.once("finish", () => this.onTasksChanged?.());
    if (!route.methods.includes(req.method ?? "")) {
      if (route.kind === "unknown") exchange.sendError(404, "Not found", "not found");
      else
        exchange.sendError(405, "Method not allowed", "method not allowed", "", {
          allow: route.methods.join(", "),
        });
      return;
    }
    switch (route.kind) {
      case "stats":
        exchange.sendJson(200, this.stats());
        return;
      case "requests":
        exchange.sendJson(200, this.requestLog());
        return;
      case "download":
        serveDownload(this, exchange, queryAt < 0 ? "" : rawUrl.slice(queryAt + 1));
        return;
      case "asset":
        void serveAsset(this, exchange, queryAt < 0 ? "" : rawUrl.slice(queryAt + 1));
        return;
      case "upload-file":
        receiveUpload(this, exchange);
        return;
      // The API calls pass the checks of gate.ts first (which answer when one fails); organization
      // and upload-create are authenticated and faulted like a task GET.
      case "organization":
        if (admitApi(this, exchange, "get")) handleOrganization(this, exchange);
        return;
      case "upload-create":
        if (admitApi(this, exchange, "get")) exchange.readBody((body) => issueUpload(this, exchange, body));
        return;
      case "create": {
        const admitted = admitApi(this, exchange, "create");
        if (admitted) exchange.readBody((body) => handleCreate(this, exchange, body, admitted.fault));
        return;
      }
      case "get":
        if (admitApi(this, exchange, "get")) handleGet(this, exchange);
        return;
      case "delete":
        if (admitApi(this, exchange, "delete")) handleDelete(this, exchange);
        return;
      default:
        exchange.sendError(404, "Not found", "not found");
    }
  }

  private nextRequestId(): string {
    this.requestCounter++;
    return `sim${this.options.seed}-${this.requestCounter.toString().padStart(8, "0")}`;
  }
}
