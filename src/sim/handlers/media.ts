// Outputs: the signed URL a SUCCEEDED task hands out, what it serves, and GET/HEAD /media/:id.mp4
// (signature and expiry, Range, download faults: truncated and slow bodies are shaped in pump()).
import { createHash } from "node:crypto";
import type { SimContext } from "../context.js";
import { drained, type Exchange } from "../exchange.js";
import { injectFault } from "../fault-answers.js";
import { pickFault, type RequestFault } from "../faults.js";
import type { ResolvedOptions } from "../options.js";
import { renderedSource, syntheticSource, type OutputSource } from "../outputs.js";
import type { SimTask } from "../tasks.js";

export function outputUrl(ctx: SimContext, task: SimTask, now: number): string {
  const path = `/media/${task.id}.mp4`;
  return `${ctx.origin}${path}?${ctx.signer.sign(path, now + ctx.options.urlTtlMs / ctx.options.speed)}`;
}

export function outputSourceOf(options: ResolvedOptions, task: SimTask): OutputSource {
  if (options.outputBytes !== undefined) return syntheticSource(task.id, options.outputBytes);
  return renderedSource(task, { ratio: options.clipRatio, seconds: options.clipSeconds });
}

/** What a download of this task's output must yield. */
export function expectedOutputOf(options: ResolvedOptions, task: SimTask): { bytes: number; sha256: string } {
  const source = outputSourceOf(options, task);
  const hash = createHash("sha256");
  const chunk = 1024 * 1024;
  for (let pos = 0; pos < source.size; pos += chunk)
    for (const part of source.read(pos, chunk)) hash.update(part);
  return { bytes: source.size, sha256: hash.digest("hex") };
}

export function serveDownload(ctx: SimContext, exchange: Exchange, query: string): void {
  const { res, route } = exchange;
  const fault = pickFault(ctx.options.faults, "download", ctx.faultDraws.download());
  if (fault !== null && fault !== "truncate" && fault !== "slow") {
    ctx.counters.fault("download", fault);
    injectFault(ctx, exchange, fault);
    return;
  }
  const verdict = ctx.signer.check(exchange.record.path, new URLSearchParams(query), ctx.now());
  const task = ctx.tasks.get(route.id);
  if (verdict !== "ok" || task === undefined) {
    const message = verdict === "expired" ? "Request has expired" : "Access denied";
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`;
    exchange.count("403");
    res.writeHead(403, { "content-type": "text/xml", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const source = outputSourceOf(ctx.options, task);
  const span = exchange.answerRange(source, {
    "content-type": "video/mp4",
    "accept-ranges": "bytes",
    etag: source.etag,
    "cache-control": "private, max-age=86400",
  });
  if (span === null) return;
  if (fault !== null) ctx.counters.fault("download", fault);
  void pump(ctx, exchange, source, span.start, span.end + 1, fault);
}

/** Streams [start, end) with backpressure; truncated and slow downloads are shaped here. */
async function pump(
  ctx: SimContext,
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
  const pause = fault === "slow" ? ctx.options.slowMs / ctx.options.speed / slowPieces : 0;
  // An object, not a local: the close listener flips it while the loop awaits.
  const state = { aborted: false };
  res.on("close", () => (state.aborted = true));
  let pos = start;
  while (pos < stopAt && !state.aborted && !ctx.closed) {
    const take = Math.min(chunk, stopAt - pos);
    const pieces = source.read(pos, take);
    pos += take;
    ctx.counters.bytesServed += take;
    res.cork();
    let flushed = true;
    for (const piece of pieces) flushed = res.write(piece) && flushed;
    res.uncork();
    if (!flushed && !state.aborted) await drained(res);
    if (pause > 0 && pos < stopAt) await ctx.sleep(pause);
  }
  if (state.aborted || ctx.closed) return;
  if (fault === "truncate") {
    // Let the bytes already written reach the client, then cut the connection mid-body.
    res.write(Buffer.alloc(0), () => res.socket?.destroy());
    return;
  }
  ctx.counters.downloadsCompleted++;
  res.end();
}
