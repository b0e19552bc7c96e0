// The checks an API call passes before its handler runs, in this order: the fault draw of its scope,
// the bearer key (401), X-Runway-Version (400). Organization and upload-create pass them as a task GET
// does; downloads, assets and the upload itself (as to S3) take no key.
import type { SimContext } from "./context.js";
import { headerValue, type Exchange } from "./exchange.js";
import { injectFault } from "./fault-answers.js";
import { pickFault, type RequestFault } from "./faults.js";
import type { ApiKind } from "./routes.js";

const RUNWAY_VERSIONS = new Set(["2024-11-06", "2024-09-13"]);

/** Whether an Authorization header carries an accepted key: any bearer token, or apiKey when set. */
export function keyAccepted(apiKey: string | undefined, authorization: string): boolean {
  const match = /^Bearer (\S+)$/.exec(authorization);
  if (!match) return false;
  return apiKey === undefined || match[1] === apiKey;
}

/**
 * Runs the checks. When one fails the exchange is answered here and the result is null; otherwise it
 * holds the fault left for the handler: "lost" or "lost5xx" on a create (the task is created first).
 */
export function admitApi(
  ctx: SimContext,
  exchange: Exchange,
  kind: ApiKind,
): { fault: RequestFault | null } | null {
  const { req, route } = exchange;
  if (kind === "get" && route.kind === "get") ctx.counters.taskGet(route.id);
  const fault = pickFault(ctx.options.faults, kind, ctx.faultDraws[kind]());
  if (fault !== null && fault !== "lost" && fault !== "lost5xx") {
    ctx.counters.fault(kind, fault);
    injectFault(ctx, exchange, fault);
    return null;
  }
  const authorization = req.headers.authorization;
  if (
    authorization === undefined ||
    !/^Bearer \S+$/.test(authorization) ||
    !keyAccepted(ctx.options.apiKey, authorization)
  ) {
    const runwayMessage =
      authorization === undefined || !/^Bearer \S+$/.test(authorization)
        ? 'Missing or malformed Authorization header: expected "Bearer <API key>".'
        : "Invalid API key.";
    exchange.sendError(401, runwayMessage, "invalid token");
    return null;
  }
  const version = headerValue(req.headers["x-runway-version"]);
  const versionRequired = route.family === "runway" || kind === "create";
  if (versionRequired && version === null) {
    exchange.sendError(
      400,
      "The X-Runway-Version header is required (e.g. 2024-11-06).",
      "X-Runway-Version header is required",
      "invalid_request",
    );
    return null;
  }
  if (version !== null && !RUNWAY_VERSIONS.has(version)) {
    exchange.sendError(
      400,
      `Invalid X-Runway-Version header: "${version.slice(0, 40)}". Supported: ${[...RUNWAY_VERSIONS].join(", ")}.`,
      "invalid X-Runway-Version header",
      "invalid_request",
    );
    return null;
  }
  return { fault };
}
