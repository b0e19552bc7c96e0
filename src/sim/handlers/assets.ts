// GET/HEAD /assets/:name: a probe-able asset (../assets.ts makes the body from the query hooks),
// with Range, redirects, fetch statuses and a chunked body when asked for.
import { answerAsset } from "../assets.js";
import type { SimContext } from "../context.js";
import { drained, type Exchange } from "../exchange.js";

export async function serveAsset(ctx: SimContext, exchange: Exchange, query: string): Promise<void> {
  const { req, res } = exchange;
  const answer = answerAsset(exchange.record.path, query);
  if (answer.kind === "status") {
    exchange.count(String(answer.status));
    res.writeHead(answer.status, { "content-type": "text/plain", "content-length": 9 });
    res.end(req.method === "HEAD" ? undefined : "not found");
    return;
  }
  if (answer.kind === "redirect") {
    exchange.count("302");
    res.writeHead(302, { location: answer.location, "content-length": 0 });
    res.end();
    return;
  }
  const headers: Record<string, string | number> = {
    "content-type": answer.contentType,
    etag: answer.etag,
  };
  if (!answer.noRange) headers["accept-ranges"] = "bytes";
  const span = exchange.answerRange(answer, headers, {
    ignoreRange: answer.noRange,
    noLength: answer.noLength,
  });
  if (span === null) return;
  const { start, end } = span;
  const state = { aborted: false };
  res.on("close", () => (state.aborted = true));
  for (let pos = start; pos <= end && !state.aborted && !ctx.closed;) {
    const piece = answer.read(pos, Math.min(64 * 1024, end + 1 - pos));
    pos += piece.length;
    ctx.counters.assetBytesServed += piece.length;
    if (!res.write(piece) && !state.aborted) await drained(res);
  }
  if (!state.aborted) res.end();
}
