// How an injected fault is answered on the wire. faults.ts parses the spec and picks the fault of
// an exchange; the callers (gate.ts for API calls, handlers/media.ts for downloads) count it.
import type { SimContext } from "./context.js";
import type { Exchange } from "./exchange.js";
import type { RequestFault } from "./faults.js";
import type { ResolvedOptions } from "./options.js";

export function injectFault(ctx: SimContext, exchange: Exchange, fault: RequestFault): void {
  switch (fault) {
    case "reset":
    case "lost":
      resetConnection(exchange, fault);
      return;
    case "stall":
      exchange.count("stall");
      ctx.later(ctx.options.stallMs / ctx.options.speed, () => exchange.req.socket.destroy());
      return;
    case "429":
      exchange.sendError(429, "Too many requests. Please retry later.", "当前分组上游负载已饱和，请稍后再试");
      return;
    case "429ra":
      exchange.sendError(
        429,
        "Too many requests. Please retry later.",
        "当前分组上游负载已饱和，请稍后再试",
        "",
        retryAfterHeaders(ctx.options, ctx.options.retryAfterMs),
      );
      return;
    case "500ir":
      exchange.sendError(500, "Internal server error", "invalid request", "invalid_request", {
        "x-should-retry": "false",
      });
      return;
    case "lost5xx":
    case "500":
      exchange.sendError(500, "Internal server error", "internal server error", "");
      return;
    case "502":
      exchange.sendBadGateway();
      return;
    case "503":
      exchange.sendError(503, "Service unavailable", "service unavailable", "");
      return;
    case "504":
      exchange.sendError(504, "Gateway timeout", "gateway timeout", "");
      return;
    case "truncate":
    case "slow":
      return;
  }
}

export function resetConnection(exchange: Exchange, label: string): void {
  exchange.count(label === "lost" ? "lost" : "reset");
  const socket = exchange.req.socket;
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

/** Retry-After (seconds, fractional) and retry-after-ms for a wait of `ms`, scaled by speed. */
export function retryAfterHeaders(options: ResolvedOptions, ms: number): Record<string, string> {
  const scaled = ms / options.speed;
  return {
    "retry-after": String(Math.round(scaled) / 1000),
    "retry-after-ms": String(Math.round(scaled * 1000) / 1000),
  };
}
