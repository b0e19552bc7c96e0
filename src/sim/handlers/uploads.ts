// Runway's uploads flow on the wire (../uploads.ts keeps the uploads): POST /v1/uploads issues an
// upload URL, and POST /__uploads/:id receives the file there as S3 would.
import type { SimContext } from "../context.js";
import type { Exchange } from "../exchange.js";
import { MAX_UPLOAD_BYTES } from "../uploads.js";

/** POST /v1/uploads, once the gate (as for a task GET) let it through and its body arrived. */
export function issueUpload(ctx: SimContext, exchange: Exchange, raw: Buffer): void {
  let body: unknown = null;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    // answered below as a validation error
  }
  const issued = ctx.uploads.issue(body, ctx.origin, ctx.now());
  if (typeof issued === "string") {
    exchange.sendError(400, `Validation of body failed: ${issued}`, issued, "invalid_request");
    return;
  }
  exchange.sendJson(200, issued);
}

/** The multipart POST to an upload URL: no API key (S3 checks its policy field instead). */
export function receiveUpload(ctx: SimContext, exchange: Exchange): void {
  const { req, res, route } = exchange;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_UPLOAD_BYTES + 64 * 1024) chunks.push(chunk);
  });
  req.on("error", () => undefined);
  req.on("end", () => {
    const answer = ctx.uploads.receive(
      route.id,
      req.headers["content-type"],
      Buffer.concat(chunks),
      ctx.now(),
    );
    exchange.count(String(answer.status));
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
