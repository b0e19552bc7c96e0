// The simulator's HTTP server: routing, faults, accounting. The task model lives in tasks.ts, the
// bodies in wire.ts, validation in validate.ts, output files and URL signing in outputs.ts.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { taskKeyOf } from "../canonical.js";
import { UserError } from "../errors.js";
import { answerAsset, matchingOutputSource } from "./assets.js";
import { MAX_UPLOAD_BYTES, UploadStore } from "./uploads.js";
import { failsEarly, failureTextOf } from "./failure-codes.js";
import { parseFaultSpec, pickFault, type FaultScope, type FaultSpec, type RequestFault } from "./faults.js";
import type { ResolvedOptions, SimShape } from "./options.js";
import {
  clipNameOf,
  clipSource,
  loadClips,
  syntheticSource,
  UrlSigner,
  type OutputSource,
} from "./outputs.js";
import { hashUnit, lognormal, seededStream } from "./random.js";
import { peakOverlap, taskRecordOf, type SimStats } from "./stats.js";
import { isTerminal, snapshotAt, TaskScheduler, type RouteFamily, type SimTask } from "./tasks.js";
import { checkReferenceSeconds, validateCreateBody, type CreateHints } from "./validate.js";
import {
  bareTask,
  cometError,
  DOC_URL,
  finalCost,
  runwayError,
  TASK_NOT_EXIST,
  wrappedTask,
} from "./wire.js";

const RUNWAY_VERSIONS = new Set(["2024-11-06", "2024-09-13"]);
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const COMET_PREFIX = "/runwayml";
/** The balance and monthly cap /v1/organization reports for an account without a credit limit. */
const UNLIMITED_BALANCE = 1_000_000_000;

/** Account conditions that can change while the simulator runs. */
export interface AccountSettings {
  /** Credit balance from now on (null: unlimited). */
  credits?: number | null;
  /** Creates allowed per rolling 24 h (null: unlimited). */
  dailyLimit?: number | null;
  concurrency?: number;
}

/** One request as the simulator saw it. The Authorization header is never recorded. */
export interface SimRequestRecord {
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  route: string;
  status: string;
  runwayVersion: string | null;
  retryCount: string | null;
  authorized: boolean;
  /** The parsed body of a create. */
  body?: unknown;
}

type ApiKind = "create" | "get" | "delete";

interface Route {
  template: string;
  family: RouteFamily;
  kind:
    | ApiKind
    | "download"
    | "asset"
    | "organization"
    | "upload-create"
    | "upload-file"
    | "stats"
    | "requests"
    | "unknown";
  id: string;
  /** Methods the route answers. */
  methods: string[];
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  record: SimRequestRecord;
  requestId: string;
}

export class SimServer {
  readonly server: Server;
  origin = "";
  private readonly tasks = new Map<string, SimTask>();
  private readonly ledger: SimTask[] = [];
  private readonly scheduler: TaskScheduler;
  private readonly signer: UrlSigner;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faultDraws: Record<FaultScope, () => number>;
  private readonly shapeDraw: () => number;
  private readonly idDraw: () => number;
  private readonly attemptsByKey = new Map<string, number>();
  private readonly createTimes: number[] = [];
  private createTimesStart = 0;
  private clockOffset = 0;
  private requestCounter = 0;
  private closed = false;
  private readonly counters = {
    requests: new Map<string, Map<string, number>>(),
    getsByTaskId: new Map<string, number>(),
    faults: new Map<string, number>(),
    bytesServed: 0,
    downloadsCompleted: 0,
    assetBytesServed: 0,
  };
  private readonly log: SimRequestRecord[] = [];
  /** Runway's uploads flow; runway:// URIs live 24 h on the simulator's clock. */
  readonly uploads = new UploadStore(() => (24 * 3600_000) / this.options.speed);

  constructor(private readonly options: ResolvedOptions) {
    this.scheduler = new TaskScheduler(options.concurrency);
    this.signer = new UrlSigner(createHash("sha256").update(`actbatch-sim-url:${options.seed}`).digest());
    this.faultDraws = {
      create: seededStream(options.seed, "fault", "create"),
      get: seededStream(options.seed, "fault", "get"),
      delete: seededStream(options.seed, "fault", "delete"),
      download: seededStream(options.seed, "fault", "download"),
    };
    this.shapeDraw = seededStream(options.seed, "shape");
    this.idDraw = seededStream(options.seed, "ids");
    if (options.outputBytes === undefined) loadClips();
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
    if (settings.credits !== undefined) {
      // The balance given is what is left now: fold what was spent into the starting figure.
      this.options.credits = settings.credits === null ? Infinity : settings.credits + this.creditsSpent();
    }
    if (settings.dailyLimit !== undefined) this.options.dailyLimit = settings.dailyLimit ?? Infinity;
    if (settings.concurrency !== undefined) {
      if (!Number.isInteger(settings.concurrency) || settings.concurrency < 1)
        throw new RangeError(`concurrency must be a positive integer, got ${settings.concurrency}`);
      this.options.concurrency = settings.concurrency;
      this.scheduler.setConcurrency(settings.concurrency, this.now());
    }
  }

  requestLog(): SimRequestRecord[] {
    return [...this.log];
  }

  /** What a download of this task's output must yield. */
  expectedOutput(taskId: string): { bytes: number; sha256: string } | undefined {
    const task = this.tasks.get(taskId);
    if (!task) return undefined;
    const source = this.outputSourceOf(task);
    const hash = createHash("sha256");
    const chunk = 1024 * 1024;
    for (let pos = 0; pos < source.size; pos += chunk)
      for (const part of source.read(pos, chunk)) hash.update(part);
    return { bytes: source.size, sha256: hash.digest("hex") };
  }

  stats(): SimStats {
    const now = this.now();
    const tasks = this.ledger.map((task) => taskRecordOf(task, now));
    const tasksByStatus: Record<string, number> = {};
    for (const record of tasks) tasksByStatus[record.status] = (tasksByStatus[record.status] ?? 0) + 1;
    const createsByKey: Record<string, number> = {};
    for (const task of this.ledger) createsByKey[task.key] = (createsByKey[task.key] ?? 0) + 1;
    const active: [number, number][] = [];
    const running: [number, number][] = [];
    for (const task of this.ledger) {
      const end = task.cancelledAt === null ? task.endAt : Math.min(task.endAt, task.cancelledAt);
      active.push([task.createdAt, end]);
      running.push([task.runningAt, end]);
    }
    const requests: Record<string, Record<string, number>> = {};
    for (const [route, byStatus] of this.counters.requests) requests[route] = Object.fromEntries(byStatus);
    return {
      now,
      requests,
      creates: this.ledger.length,
      createsByKey,
      tasks,
      tasksByStatus,
      peakActive: peakOverlap(active, now),
      peakRunning: peakOverlap(running, now),
      bytesServed: this.counters.bytesServed,
      downloadsCompleted: this.counters.downloadsCompleted,
      assetBytesServed: this.counters.assetBytesServed,
      getsByTaskId: Object.fromEntries(this.counters.getsByTaskId),
      faults: Object.fromEntries(this.counters.faults),
      account: {
        concurrency: this.options.concurrency,
        dailyLimit: Number.isFinite(this.options.dailyLimit) ? this.options.dailyLimit : null,
        credits: Number.isFinite(this.options.credits) ? this.options.credits - this.creditsSpent() : null,
        creditsSpent: this.creditsSpent(),
      },
    };
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
      authorized: authorization !== undefined && this.keyAccepted(authorization),
    };
    if (this.options.requestLogSize > 0) {
      this.log.push(record);
      if (this.log.length > this.options.requestLogSize) this.log.shift();
    }
    const exchange: Exchange = { req, res, route, record, requestId: this.nextRequestId() };
    if (!route.methods.includes(req.method ?? "")) {
      if (route.kind === "unknown") this.sendError(exchange, 404, "Not found", "not found");
      else
        this.sendError(exchange, 405, "Method not allowed", "method not allowed", "", {
          allow: route.methods.join(", "),
        });
      return;
    }
    switch (route.kind) {
      case "stats":
        this.sendJson(exchange, 200, this.stats());
        return;
      case "requests":
        this.sendJson(exchange, 200, this.requestLog());
        return;
      case "download":
        this.serveDownload(exchange, queryAt < 0 ? "" : rawUrl.slice(queryAt + 1));
        return;
      case "asset":
        void this.serveAsset(exchange, queryAt < 0 ? "" : rawUrl.slice(queryAt + 1));
        return;
      case "organization":
      case "upload-create":
        // Authenticated and faulted like a task GET.
        this.handleApi(exchange, "get");
        return;
      case "upload-file":
        this.receiveUpload(exchange);
        return;
      case "create":
      case "get":
      case "delete":
        this.handleApi(exchange, route.kind);
        return;
      default:
        this.sendError(exchange, 404, "Not found", "not found");
    }
  }

  private handleApi(exchange: Exchange, kind: ApiKind): void {
    const { req, route } = exchange;
    if (kind === "get" && route.kind === "get") this.bump(this.counters.getsByTaskId, route.id);
    const fault = pickFault(this.options.faults, kind, this.faultDraws[kind]());
    if (fault !== null && fault !== "lost" && fault !== "lost5xx") {
      this.countFault(kind, fault);
      this.injectFault(exchange, fault);
      return;
    }
    const authorization = req.headers.authorization;
    if (
      authorization === undefined ||
      !/^Bearer \S+$/.test(authorization) ||
      !this.keyAccepted(authorization)
    ) {
      const runwayMessage =
        authorization === undefined || !/^Bearer \S+$/.test(authorization)
          ? 'Missing or malformed Authorization header: expected "Bearer <API key>".'
          : "Invalid API key.";
      this.sendError(exchange, 401, runwayMessage, "invalid token");
      return;
    }
    const version = headerValue(req.headers["x-runway-version"]);
    const versionRequired = route.family === "runway" || kind === "create";
    if (versionRequired && version === null) {
      this.sendError(
        exchange,
        400,
        "The X-Runway-Version header is required (e.g. 2024-11-06).",
        "X-Runway-Version header is required",
        "invalid_request",
      );
      return;
    }
    if (version !== null && !RUNWAY_VERSIONS.has(version)) {
      this.sendError(
        exchange,
        400,
        `Invalid X-Runway-Version header: "${version.slice(0, 40)}". Supported: ${[...RUNWAY_VERSIONS].join(", ")}.`,
        "invalid X-Runway-Version header",
        "invalid_request",
      );
      return;
    }
    if (kind === "create") this.readBody(exchange, (body) => this.handleCreate(exchange, body, fault));
    else if (route.kind === "organization") this.handleOrganization(exchange);
    else if (route.kind === "upload-create")
      this.readBody(exchange, (body) => this.issueUpload(exchange, body));
    else if (kind === "get") this.handleGet(exchange);
    else this.handleDelete(exchange);
  }

  private issueUpload(exchange: Exchange, raw: Buffer): void {
    let body: unknown = null;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      // answered below as a validation error
    }
    const issued = this.uploads.issue(body, this.origin, this.now());
    if (typeof issued === "string") {
      this.sendError(exchange, 400, `Validation of body failed: ${issued}`, issued, "invalid_request");
      return;
    }
    this.sendJson(exchange, 200, issued);
  }

  /** The multipart POST to an upload URL: no API key (S3 checks its policy field instead). */
  private receiveUpload(exchange: Exchange): void {
    const { req, res, route } = exchange;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_UPLOAD_BYTES + 64 * 1024) chunks.push(chunk);
    });
    req.on("error", () => undefined);
    req.on("end", () => {
      const answer = this.uploads.receive(
        route.id,
        req.headers["content-type"],
        Buffer.concat(chunks),
        this.now(),
      );
      this.count(exchange, String(answer.status));
      const body =
        answer.reason === undefined
          ? ""
          : `<?xml version="1.0" encoding="UTF-8"?><Error><Message>${answer.reason}</Message></Error>`;
      res.writeHead(answer.status, {
        "content-type": "application/xml",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    });
  }

  /** GET /v1/organization: Runway's shape (the SDK's OrganizationRetrieveResponse), for act_two only. */
  private handleOrganization(exchange: Exchange): void {
    const now = this.now();
    const windowStart = now - (24 * 3600_000) / this.options.speed;
    const dailyGenerations = this.ledger.filter((task) => task.createdAt > windowStart).length;
    const finiteCredits = Number.isFinite(this.options.credits);
    this.sendJson(exchange, 200, {
      creditBalance: finiteCredits ? this.options.credits - this.creditsSpent() : UNLIMITED_BALANCE,
      tier: {
        maxMonthlyCreditSpend: UNLIMITED_BALANCE,
        models: {
          act_two: {
            maxConcurrentGenerations: this.options.concurrency,
            maxDailyGenerations: Number.isFinite(this.options.dailyLimit) ? this.options.dailyLimit : null,
          },
        },
      },
      usage: { models: { act_two: { dailyGenerations } } },
    });
  }

  private readBody(exchange: Exchange, then: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    exchange.req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!tooBig) {
          tooBig = true;
          this.sendError(exchange, 413, "Request body too large", "request body too large");
        }
        return;
      }
      chunks.push(chunk);
    });
    exchange.req.on("end", () => {
      if (!tooBig) then(Buffer.concat(chunks));
    });
    exchange.req.on("error", () => undefined);
  }

  private handleCreate(exchange: Exchange, raw: Buffer, fault: RequestFault | null): void {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      this.sendError(
        exchange,
        400,
        "Invalid JSON in request body",
        "invalid JSON in request body",
        "invalid_request",
      );
      return;
    }
    exchange.record.body = body;
    const { issues, hints } = validateCreateBody(body, this.origin, this.options.strictBody);
    for (const field of ["character", "reference"] as const) {
      const uri = (body as Record<string, { uri?: unknown } | undefined> | null)?.[field]?.uri;
      const problem = typeof uri === "string" ? this.uploads.problem(uri, this.now()) : null;
      if (problem !== null) issues.push({ code: "custom", path: [field, "uri"], message: problem });
      const uploaded = field === "reference" && typeof uri === "string" ? this.uploads.durationOf(uri) : null;
      if (problem === null && uploaded !== null) {
        checkReferenceSeconds(uploaded, issues, hints);
        hints.referenceFromBytes = true;
      }
    }
    if (issues.length > 0) {
      const summary = issues
        .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
        .join("; ");
      this.sendError(
        exchange,
        400,
        "Validation of body failed",
        `Validation of body failed: ${summary}`,
        "invalid_request",
        {},
        { issues, docUrl: DOC_URL },
      );
      return;
    }
    const requestBody = body as Record<string, unknown>;
    const now = this.now();
    if (this.createsInWindow(now) >= this.options.dailyLimit) {
      const headers: Record<string, string> = {};
      if (this.options.dailyLimitRetryAfter) Object.assign(headers, this.retryAfterHeaders(3600_000));
      this.sendError(
        exchange,
        429,
        "Your daily task limit has been reached.",
        "Your daily task limit has been reached.",
        "",
        headers,
      );
      return;
    }
    const cost = this.options.taskCost ?? 5 * Math.ceil(hints.referenceSeconds);
    if (Number.isFinite(this.options.credits) && this.options.credits - this.creditsSpent() < cost) {
      this.sendError(
        exchange,
        400,
        "You do not have enough credits to run this task.",
        "You do not have enough credits to run this task.",
        "insufficient_credits",
        {},
        { docUrl: DOC_URL },
      );
      return;
    }
    const task = this.createTask(exchange.route.family, requestBody, cost, now, hints);
    if (fault === "lost") {
      this.countFault("create", fault);
      this.resetConnection(exchange, "lost");
      return;
    }
    if (fault === "lost5xx") {
      this.countFault("create", fault);
      this.sendBadGateway(exchange);
      return;
    }
    this.sendJson(exchange, 200, { id: task.id, estimatedCost: { credits: task.cost } });
  }

  private createTask(
    family: RouteFamily,
    body: Record<string, unknown>,
    cost: number,
    now: number,
    hints: CreateHints,
  ): SimTask {
    const key = taskKeyOf(body);
    const attempt = (this.attemptsByKey.get(key) ?? 0) + 1;
    this.attemptsByKey.set(key, attempt);
    const { seed, speed } = this.options;
    const draw = (label: string) => hashUnit(seed, key, attempt, label);
    const [pendingMin, pendingMax] = this.options.pendingMs;
    const renderMs =
      hints.forcedRenderMs ??
      Math.min(
        this.options.renderMeanMs * 4,
        lognormal(this.options.renderMeanMs, this.options.renderSigma, draw("render1"), draw("render2")),
      );
    let failure: SimTask["failure"] = null;
    if (hints.forcedFailure !== undefined) {
      failure = { code: hints.forcedFailure, text: failureTextOf(hints.forcedFailure) };
    } else if (draw("fail") < this.options.faults.fail) {
      const codes = this.options.failureCodes;
      const code = codes[Math.floor(draw("code") * codes.length)] ?? null;
      failure = { code, text: failureTextOf(code) };
      this.countFault("task", "fail");
    }
    const task: SimTask = {
      id: this.nextTaskId(),
      key,
      attempt,
      family,
      body,
      createdAt: now,
      grid: this.options.updateIntervalMs / speed,
      pendingMs: (pendingMin + (pendingMax - pendingMin) * draw("pending")) / speed,
      renderMs: Math.max(renderMs, 1) / speed,
      failure,
      failFraction: failure && failsEarly(failure.code) ? 0.1 : 1,
      slotAt: now,
      runningAt: now,
      endAt: now,
      cancelledAt: null,
      deletedAt: null,
      wrapperPhase: (draw("wrapper") * this.options.wrapperRefreshMs) / speed,
      cost,
      referenceSeconds: hints.referenceFromBytes === true ? hints.referenceSeconds : null,
      clip: clipNameOf(
        this.options.clipRatio === undefined ? body : { ...body, ratio: this.options.clipRatio },
      ),
    };
    this.scheduler.add(task);
    this.tasks.set(task.id, task);
    this.ledger.push(task);
    this.createTimes.push(now);
    return task;
  }

  private handleGet(exchange: Exchange): void {
    const { route } = exchange;
    const now = this.now();
    const task = this.tasks.get(route.id);
    const hidden =
      task !== undefined &&
      (route.family === "comet" || this.options.taskNotExistOnV1) &&
      now < task.createdAt + this.options.taskNotExistMs / this.options.speed;
    if (task === undefined || hidden) {
      if (route.family === "comet") this.sendJson(exchange, this.options.taskNotExistStatus, TASK_NOT_EXIST);
      else this.sendJson(exchange, 404, runwayError("Could not find Task"));
      return;
    }
    if (task.deletedAt !== null && task.deletedAt <= now) {
      this.sendError(exchange, 404, "Could not find Task", "Could not find Task");
      return;
    }
    const outputs = () => [this.outputUrl(task, now)];
    const wrapped =
      route.family === "comet" &&
      (this.options.shape === "wrapped" || (this.options.shape === "mixed" && this.shapeDraw() < 0.5));
    const body = wrapped
      ? wrappedTask(task, now, this.options.wrapperRefreshMs / this.options.speed, outputs)
      : bareTask(task, snapshotAt(task, now), outputs);
    this.sendJson(exchange, 200, body);
  }

  private handleDelete(exchange: Exchange): void {
    const now = this.now();
    const task = this.tasks.get(exchange.route.id);
    if (task === undefined || (task.deletedAt !== null && task.deletedAt <= now)) {
      this.sendError(exchange, 404, "Could not find Task", "Could not find Task");
      return;
    }
    const status = snapshotAt(task, now).status;
    if (!isTerminal(status)) {
      this.scheduler.cancel(task, now);
      if (this.options.deleteMode === "gone") task.deletedAt = now;
    } else {
      task.deletedAt = now;
    }
    this.count(exchange, "204");
    exchange.res.writeHead(204);
    exchange.res.end();
  }

  // ---- downloads --------------------------------------------------------------------------------

  private outputUrl(task: SimTask, now: number): string {
    const path = `/media/${task.id}.mp4`;
    return `${this.origin}${path}?${this.signer.sign(path, now + this.options.urlTtlMs / this.options.speed)}`;
  }

  private outputSourceOf(task: SimTask): OutputSource {
    if (this.options.outputBytes !== undefined) return syntheticSource(task.id, this.options.outputBytes);
    // A reference whose length the service can read (sent inline or uploaded) gets renders as long:
    // the library's clips are not.
    if (this.options.matchingOutputs || task.referenceSeconds !== null) return matchingOutputSource(task);
    const clip = loadClips().get(task.clip);
    if (!clip) throw new Error(`missing output clip ${task.clip}`);
    return clipSource(clip, task.clip);
  }

  private serveDownload(exchange: Exchange, query: string): void {
    const { req, res, route } = exchange;
    const fault = pickFault(this.options.faults, "download", this.faultDraws.download());
    if (fault !== null && fault !== "truncate" && fault !== "slow") {
      this.countFault("download", fault);
      this.injectFault(exchange, fault);
      return;
    }
    const verdict = this.signer.check(exchange.record.path, new URLSearchParams(query), this.now());
    const task = this.tasks.get(route.id);
    if (verdict !== "ok" || task === undefined) {
      const message = verdict === "expired" ? "Request has expired" : "Access denied";
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`;
      this.count(exchange, "403");
      res.writeHead(403, { "content-type": "text/xml", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const source = this.outputSourceOf(task);
    const range = parseRange(req.headers.range, headerValue(req.headers["if-range"]) ?? undefined, source);
    const headers: Record<string, string | number> = {
      "content-type": "video/mp4",
      "accept-ranges": "bytes",
      etag: source.etag,
      "cache-control": "private, max-age=86400",
    };
    if (range === "unsatisfiable") {
      this.count(exchange, "416");
      res.writeHead(416, { "content-range": `bytes */${source.size}`, "content-length": 0 });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? source.size - 1;
    headers["content-length"] = end - start + 1;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${source.size}`;
    const status = range ? 206 : 200;
    this.count(exchange, String(status));
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (fault !== null) this.countFault("download", fault);
    void this.pump(exchange, source, start, end + 1, fault);
  }

  /** A probe-able asset (assets.ts): HEAD and GET, Range, redirects and the other hooks. */
  private async serveAsset(exchange: Exchange, query: string): Promise<void> {
    const { req, res } = exchange;
    const answer = answerAsset(exchange.record.path, query);
    if (answer.kind === "status") {
      this.count(exchange, String(answer.status));
      res.writeHead(answer.status, { "content-type": "text/plain", "content-length": 9 });
      res.end(req.method === "HEAD" ? undefined : "not found");
      return;
    }
    if (answer.kind === "redirect") {
      this.count(exchange, "302");
      res.writeHead(302, { location: answer.location, "content-length": 0 });
      res.end();
      return;
    }
    const range = answer.noRange
      ? null
      : parseRange(req.headers.range, headerValue(req.headers["if-range"]) ?? undefined, answer);
    if (range === "unsatisfiable") {
      this.count(exchange, "416");
      res.writeHead(416, { "content-range": `bytes */${answer.size}`, "content-length": 0 });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? answer.size - 1;
    const headers: Record<string, string | number> = {
      "content-type": answer.contentType,
      etag: answer.etag,
    };
    if (!answer.noRange) headers["accept-ranges"] = "bytes";
    if (!answer.noLength) headers["content-length"] = end - start + 1;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${answer.size}`;
    this.count(exchange, range ? "206" : "200");
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const state = { aborted: false };
    res.on("close", () => (state.aborted = true));
    for (let pos = start; pos <= end && !state.aborted && !this.closed;) {
      const piece = answer.read(pos, Math.min(64 * 1024, end + 1 - pos));
      pos += piece.length;
      this.counters.assetBytesServed += piece.length;
      if (!res.write(piece) && !state.aborted) await drained(res);
    }
    if (!state.aborted) res.end();
  }

  /** Streams [start, end) with backpressure; truncated and slow downloads are shaped here. */
  private async pump(
    exchange: Exchange,
    source: OutputSource,
    start: number,
    end: number,
    fault: RequestFault | null,
  ): Promise<void> {
    const { res } = exchange;
    const length = end - start;
    const stopAt = fault === "truncate" ? start + Math.max(1, Math.floor(length / 2)) : end;
    const slowPieces = 16;
    const chunk = fault === "slow" ? Math.max(1, Math.ceil(length / slowPieces)) : 256 * 1024;
    const pause = fault === "slow" ? this.options.slowMs / this.options.speed / slowPieces : 0;
    // An object, not a local: the close listener flips it while the loop awaits.
    const state = { aborted: false };
    res.on("close", () => (state.aborted = true));
    let pos = start;
    while (pos < stopAt && !state.aborted && !this.closed) {
      const take = Math.min(chunk, stopAt - pos);
      const pieces = source.read(pos, take);
      pos += take;
      this.counters.bytesServed += take;
      res.cork();
      let flushed = true;
      for (const piece of pieces) flushed = res.write(piece) && flushed;
      res.uncork();
      if (!flushed && !state.aborted) await drained(res);
      if (pause > 0 && pos < stopAt) await this.sleep(pause);
    }
    if (state.aborted || this.closed) return;
    if (fault === "truncate") {
      // Let the bytes already written reach the client, then cut the connection mid-body.
      res.write(Buffer.alloc(0), () => res.socket?.destroy());
      return;
    }
    this.counters.downloadsCompleted++;
    res.end();
  }

  // ---- faults and responses ---------------------------------------------------------------------

  private injectFault(exchange: Exchange, fault: RequestFault): void {
    switch (fault) {
      case "reset":
      case "lost":
        this.resetConnection(exchange, fault);
        return;
      case "stall":
        this.count(exchange, "stall");
        this.later(this.options.stallMs / this.options.speed, () => exchange.req.socket.destroy());
        return;
      case "429":
        this.sendError(
          exchange,
          429,
          "Too many requests. Please retry later.",
          "当前分组上游负载已饱和，请稍后再试",
        );
        return;
      case "429ra":
        this.sendError(
          exchange,
          429,
          "Too many requests. Please retry later.",
          "当前分组上游负载已饱和，请稍后再试",
          "",
          this.retryAfterHeaders(this.options.retryAfterMs),
        );
        return;
      case "500ir":
        this.sendError(exchange, 500, "Internal server error", "invalid request", "invalid_request", {
          "x-should-retry": "false",
        });
        return;
      case "lost5xx":
      case "500":
        this.sendError(exchange, 500, "Internal server error", "internal server error", "");
        return;
      case "502":
        this.sendBadGateway(exchange);
        return;
      case "503":
        this.sendError(exchange, 503, "Service unavailable", "service unavailable", "");
        return;
      case "504":
        this.sendError(exchange, 504, "Gateway timeout", "gateway timeout", "");
        return;
      case "truncate":
      case "slow":
        return;
    }
  }

  private resetConnection(exchange: Exchange, label: string): void {
    this.count(exchange, label === "lost" ? "lost" : "reset");
    const socket = exchange.req.socket;
    if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
    else socket.destroy();
  }

  private retryAfterHeaders(ms: number): Record<string, string> {
    const scaled = ms / this.options.speed;
    return {
      "retry-after": String(Math.round(scaled) / 1000),
      "retry-after-ms": String(Math.round(scaled * 1000) / 1000),
    };
  }

  /** An error in the route family's own shape: Runway's on /v1, CometAPI's envelope on /runwayml. */
  /** The 502 a gateway sends when its upstream answered badly (fault "502", and "lost5xx" after the create). */
  private sendBadGateway(exchange: Exchange): void {
    this.sendError(exchange, 502, "Bad gateway", "bad response status code 502", "bad_response_status_code");
  }

  private sendError(
    exchange: Exchange,
    status: number,
    runwayMessage: string,
    cometMessage: string,
    cometCode = "",
    headers: Record<string, string> = {},
    runwayExtra: Record<string, unknown> = {},
  ): void {
    const body =
      exchange.route.family === "comet"
        ? cometError(cometMessage, exchange.requestId, cometCode)
        : runwayError(runwayMessage, runwayExtra);
    this.sendJson(exchange, status, body, headers);
  }

  private sendJson(
    exchange: Exchange,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    this.count(exchange, String(status));
    if (exchange.res.headersSent || exchange.res.destroyed) return;
    exchange.res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    exchange.res.end(text);
  }

  private count(exchange: Exchange, status: string): void {
    exchange.record.status = status;
    let byStatus = this.counters.requests.get(exchange.route.template);
    if (!byStatus) {
      byStatus = new Map();
      this.counters.requests.set(exchange.route.template, byStatus);
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  private countFault(scope: FaultScope | "task", fault: string): void {
    this.bump(this.counters.faults, `${scope}:${fault}`);
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private keyAccepted(authorization: string): boolean {
    const match = /^Bearer (\S+)$/.exec(authorization);
    if (!match) return false;
    return this.options.apiKey === undefined || match[1] === this.options.apiKey;
  }

  private createsInWindow(now: number): number {
    if (!Number.isFinite(this.options.dailyLimit)) return 0;
    const windowStart = now - (24 * 3600_000) / this.options.speed;
    while (
      this.createTimesStart < this.createTimes.length &&
      (this.createTimes[this.createTimesStart] ?? 0) <= windowStart
    )
      this.createTimesStart++;
    return this.createTimes.length - this.createTimesStart;
  }

  private creditsSpent(): number {
    const now = this.now();
    let spent = 0;
    for (const task of this.ledger) {
      const status = snapshotAt(task, now).status;
      spent += isTerminal(status) ? finalCost(task, status) : task.cost;
    }
    return spent;
  }

  private nextRequestId(): string {
    this.requestCounter++;
    return `sim${this.options.seed}-${this.requestCounter.toString().padStart(8, "0")}`;
  }

  /** A v4-shaped UUID from the seeded stream, so a seed reproduces the same ids. */
  private nextTaskId(): string {
    const bytes = Buffer.alloc(16);
    for (let i = 0; i < 16; i += 4) bytes.writeUInt32BE(Math.floor(this.idDraw() * 2 ** 32), i);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.later(ms, resolve));
  }
}

/** Resolves when the response can take more data, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

const TASK_ID = /^[A-Za-z0-9-]{1,100}$/;

/** Maps a path to its route; the template names it in the stats. */
export function routeOf(method: string, path: string): Route {
  let family: RouteFamily = "runway";
  let rest = path;
  if (path.startsWith(COMET_PREFIX + "/")) {
    family = "comet";
    rest = path.slice(COMET_PREFIX.length);
  }
  const prefix = family === "comet" ? COMET_PREFIX : "";
  if (rest === "/v1/character_performance")
    return {
      template: `${method} ${prefix}/v1/character_performance`,
      family,
      kind: "create",
      id: "",
      methods: ["POST"],
    };
  if (rest.startsWith("/v1/tasks/")) {
    const id = rest.slice("/v1/tasks/".length);
    if (TASK_ID.test(id)) {
      const kind = method === "DELETE" ? "delete" : "get";
      return { template: `${method} ${prefix}/v1/tasks/:id`, family, kind, id, methods: ["GET", "DELETE"] };
    }
  }
  if (family === "runway") {
    if (path === "/v1/uploads")
      return { template: `${method} /v1/uploads`, family, kind: "upload-create", id: "", methods: ["POST"] };
    if (path.startsWith("/__uploads/") && TASK_ID.test(path.slice("/__uploads/".length)))
      return {
        template: `${method} /__uploads/:id`,
        family,
        kind: "upload-file",
        id: path.slice("/__uploads/".length),
        methods: ["POST"],
      };
    if (path === "/v1/organization")
      return {
        template: `${method} /v1/organization`,
        family,
        kind: "organization",
        id: "",
        methods: ["GET"],
      };
    if (path.startsWith("/media/") && path.endsWith(".mp4")) {
      const id = path.slice("/media/".length, -".mp4".length);
      if (TASK_ID.test(id))
        return {
          template: `${method} /media/:id.mp4`,
          family,
          kind: "download",
          id,
          methods: ["GET", "HEAD"],
        };
    }
    if (path.startsWith("/assets/") && path.length > "/assets/".length)
      return { template: `${method} /assets/:name`, family, kind: "asset", id: "", methods: ["GET", "HEAD"] };
    if (path === "/__sim/requests")
      return { template: `${method} /__sim/requests`, family, kind: "requests", id: "", methods: ["GET"] };
    if (path === "/__sim/stats")
      return { template: `${method} /__sim/stats`, family, kind: "stats", id: "", methods: ["GET"] };
  }
  return { template: `${method} (unmatched)`, family, kind: "unknown", id: "", methods: [] };
}

/** A single byte range, null for the whole body, or "unsatisfiable" for a 416. */
function parseRange(
  header: string | undefined,
  ifRange: string | undefined,
  source: Pick<OutputSource, "size" | "etag">,
): { start: number; end: number } | null | "unsatisfiable" {
  if (header === undefined) return null;
  // If-Range with a stale validator means "send me the whole new thing".
  if (ifRange !== undefined && ifRange !== source.etag) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, first = "", last = ""] = match;
  const size = source.size;
  if (first === "" && last === "") return null;
  let start: number;
  let end: number;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
