// The task routes, on /v1 and /runwayml/v1: POST character_performance (validation, the daily limit,
// credits, then the task and its seeded draws), GET tasks/:id (bare or wrapped) and DELETE tasks/:id.
import { taskKeyOf } from "../../canonical.js";
import type { SimContext } from "../context.js";
import type { Exchange } from "../exchange.js";
import { resetConnection, retryAfterHeaders } from "../fault-answers.js";
import { failsEarly, failureTextOf } from "../failure-codes.js";
import type { RequestFault } from "../faults.js";
import { hashUnit, lognormal } from "../random.js";
import { isTerminal, snapshotAt, type RouteFamily, type SimTask } from "../tasks.js";
import { checkReferenceSeconds, validateCreateBody, type CreateHints } from "../validate.js";
import { bareTask, DOC_URL, runwayError, TASK_NOT_EXIST, wrappedTask } from "../wire.js";
import { outputUrl } from "./media.js";

export function handleCreate(
  ctx: SimContext,
  exchange: Exchange,
  raw: Buffer,
  fault: RequestFault | null,
): void {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    exchange.sendError(
      400,
      "Invalid JSON in request body",
      "invalid JSON in request body",
      "invalid_request",
    );
    return;
  }
  exchange.record.body = body;
  const { issues, hints } = validateCreateBody(body, ctx.origin, ctx.options.strictBody);
  for (const field of ["character", "reference"] as const) {
    const uri = (body as Record<string, { uri?: unknown } | undefined> | null)?.[field]?.uri;
    const problem = typeof uri === "string" ? ctx.uploads.problem(uri, ctx.now()) : null;
    if (problem !== null) issues.push({ code: "custom", path: [field, "uri"], message: problem });
    const uploaded = field === "reference" && typeof uri === "string" ? ctx.uploads.durationOf(uri) : null;
    if (problem === null && uploaded !== null) {
      checkReferenceSeconds(uploaded, issues, hints);
      hints.referenceFromBytes = true;
    }
  }
  if (issues.length > 0) {
    const summary = issues.map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`).join("; ");
    exchange.sendError(
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
  const now = ctx.now();
  if (ctx.account.dailyLimitReached(now)) {
    const headers: Record<string, string> = {};
    if (ctx.options.dailyLimitRetryAfter) Object.assign(headers, retryAfterHeaders(ctx.options, 3600_000));
    exchange.sendError(
      429,
      "Your daily task limit has been reached.",
      "Your daily task limit has been reached.",
      "",
      headers,
    );
    return;
  }
  const cost = ctx.options.taskCost ?? 5 * Math.ceil(hints.referenceSeconds);
  if (!ctx.account.canAfford(cost)) {
    exchange.sendError(
      400,
      "You do not have enough credits to run this task.",
      "You do not have enough credits to run this task.",
      "insufficient_credits",
      {},
      { docUrl: DOC_URL },
    );
    return;
  }
  const task = createTask(ctx, exchange.route.family, requestBody, cost, now, hints);
  if (fault === "lost") {
    ctx.counters.fault("create", fault);
    resetConnection(exchange, "lost");
    return;
  }
  if (fault === "lost5xx") {
    ctx.counters.fault("create", fault);
    exchange.sendBadGateway();
    return;
  }
  exchange.sendJson(200, { id: task.id, estimatedCost: { credits: task.cost } });
}

function createTask(
  ctx: SimContext,
  family: RouteFamily,
  body: Record<string, unknown>,
  cost: number,
  now: number,
  hints: CreateHints,
): SimTask {
  const { options } = ctx;
  const key = taskKeyOf(body);
  const attempt = (ctx.attemptsByKey.get(key) ?? 0) + 1;
  ctx.attemptsByKey.set(key, attempt);
  const { seed, speed } = options;
  const draw = (label: string) => hashUnit(seed, key, attempt, label);
  const [pendingMin, pendingMax] = options.pendingMs;
  const renderMs =
    hints.forcedRenderMs ??
    Math.min(
      options.renderMeanMs * 4,
      lognormal(options.renderMeanMs, options.renderSigma, draw("render1"), draw("render2")),
    );
  let failure: SimTask["failure"] = null;
  if (hints.forcedFailure !== undefined) {
    failure = { code: hints.forcedFailure, text: failureTextOf(hints.forcedFailure) };
  } else if (draw("fail") < options.faults.fail) {
    const codes = options.failureCodes;
    const code = codes[Math.floor(draw("code") * codes.length)] ?? null;
    failure = { code, text: failureTextOf(code) };
    ctx.counters.fault("task", "fail");
  }
  const task: SimTask = {
    id: nextTaskId(ctx.idDraw),
    key,
    attempt,
    family,
    body,
    createdAt: now,
    grid: options.updateIntervalMs / speed,
    pendingMs: (pendingMin + (pendingMax - pendingMin) * draw("pending")) / speed,
    renderMs: Math.max(renderMs, 1) / speed,
    failure,
    failFraction: failure && failsEarly(failure.code) ? 0.1 : 1,
    slotAt: now,
    runningAt: now,
    endAt: now,
    cancelledAt: null,
    deletedAt: null,
    wrapperPhase: (draw("wrapper") * options.wrapperRefreshMs) / speed,
    cost,
    referenceSeconds: hints.referenceFromBytes === true ? hints.referenceSeconds : null,
  };
  ctx.scheduler.add(task);
  ctx.tasks.set(task.id, task);
  ctx.ledger.push(task);
  ctx.account.recordCreate(now);
  return task;
}

/** A v4-shaped UUID from the seeded stream, so a seed reproduces the same ids. */
function nextTaskId(idDraw: () => number): string {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) bytes.writeUInt32BE(Math.floor(idDraw() * 2 ** 32), i);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function handleGet(ctx: SimContext, exchange: Exchange): void {
  const { route } = exchange;
  const { options } = ctx;
  const now = ctx.now();
  const task = ctx.tasks.get(route.id);
  const hidden =
    task !== undefined &&
    (route.family === "comet" || options.taskNotExistOnV1) &&
    now < task.createdAt + options.taskNotExistMs / options.speed;
  if (task === undefined || hidden) {
    if (route.family === "comet") exchange.sendJson(options.taskNotExistStatus, TASK_NOT_EXIST);
    else exchange.sendJson(404, runwayError("Could not find Task"));
    return;
  }
  if (task.deletedAt !== null && task.deletedAt <= now) {
    exchange.sendError(404, "Could not find Task", "Could not find Task");
    return;
  }
  const outputs = () => [outputUrl(ctx, task, now)];
  const wrapped =
    route.family === "comet" &&
    (options.shape === "wrapped" || (options.shape === "mixed" && ctx.shapeDraw() < 0.5));
  const body = wrapped
    ? wrappedTask(task, now, options.wrapperRefreshMs / options.speed, outputs)
    : bareTask(task, snapshotAt(task, now), outputs);
  exchange.sendJson(200, body);
}

export function handleDelete(ctx: SimContext, exchange: Exchange): void {
  const now = ctx.now();
  const task = ctx.tasks.get(exchange.route.id);
  if (task === undefined || (task.deletedAt !== null && task.deletedAt <= now)) {
    exchange.sendError(404, "Could not find Task", "Could not find Task");
    return;
  }
  const status = snapshotAt(task, now).status;
  if (!isTerminal(status)) {
    ctx.scheduler.cancel(task, now);
    if (ctx.options.deleteMode === "gone") task.deletedAt = now;
  } else {
    task.deletedAt = now;
  }
  exchange.count("204");
  exchange.res.writeHead(204);
  exchange.res.end();
}
