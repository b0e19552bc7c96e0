// Runway's account and uploads through the client: GET /v1/organization, and POST /v1/uploads then the
// file as a multipart POST to the upload URL it returns. Both are classified like a task GET: they
// create nothing that costs, so they are retried even after they were sent.
import { randomBytes } from "node:crypto";
import { exchange, type ApiAnswer, type ExchangeContext } from "./exchange.js";
import {
  organizationOutcome,
  uploadSentOutcome,
  uploadSlotOutcome,
  type Redact,
  type UploadSlot,
} from "./outcomes.js";
import { retrying, type RetryPolicy, type Settled } from "./retry.js";
import type { TransportRequest } from "./transport.js";
import type { OrganizationOutcome, UploadFile, UploadOutcome } from "./types.js";

/** The account is one small answer: a service that does not give it soon is not waited for. */
const ORGANIZATION_TIMEOUT_MS = 15_000;
/** A file of up to tens of MB goes to the upload URL, whose answer may take a while after it. */
const UPLOAD_TIMEOUT_MS = 60_000;

export interface AccountContext extends ExchangeContext {
  retry: RetryPolicy;
  safe: Redact;
  /** A request to the API, at `path` under the base URL (the key and the API version go with it). */
  apiRequest(
    method: "GET" | "POST",
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): TransportRequest;
}

function send(
  context: AccountContext,
  request: TransportRequest,
  signal: AbortSignal | undefined,
): Promise<Settled<ApiAnswer>> {
  return retrying(context.retry, signal, () => exchange(context, "get", request));
}

export async function getOrganization(
  context: AccountContext,
  model: string,
  signal: AbortSignal | undefined,
): Promise<OrganizationOutcome> {
  const request = context.apiRequest("GET", "/v1/organization", undefined, signal);
  const settled = await send(context, { ...request, timeoutMs: ORGANIZATION_TIMEOUT_MS }, signal);
  return organizationOutcome(settled, model, context.safe);
}

export async function uploadEphemeral(
  context: AccountContext,
  file: UploadFile,
  signal: AbortSignal | undefined,
): Promise<UploadOutcome> {
  const json = JSON.stringify({ filename: file.filename, type: "ephemeral" });
  const request = context.apiRequest("POST", "/v1/uploads", json, signal);
  const slot = uploadSlotOutcome(
    await send(context, { ...request, timeoutMs: UPLOAD_TIMEOUT_MS }, signal),
    context.safe,
  );
  if (slot.kind === "error") return slot;
  const { body, contentType } = multipart(slot.value, file);
  const { uploadUrl } = slot.value;
  const sent = uploadSentOutcome(
    await send(
      context,
      {
        origin: uploadUrl.origin,
        path: `${uploadUrl.pathname}${uploadUrl.search}`,
        method: "POST",
        headers: { "content-type": contentType, "content-length": String(body.length) },
        body,
        signal,
        // The upload URL is a storage host's (the simulator's own origin, in tests): never the key.
        credentials: false,
        timeoutMs: UPLOAD_TIMEOUT_MS,
      },
      signal,
    ),
    context.safe,
  );
  if (sent.kind === "error") return sent;
  return { kind: "uploaded", runwayUri: slot.value.runwayUri };
}

/** multipart/form-data, every field first and the file last, as S3's POST policy requires. */
export function multipart(
  slot: Pick<UploadSlot, "fields">,
  file: UploadFile,
): { body: Buffer; contentType: string } {
  const boundary = `actbatch-${randomBytes(12).toString("hex")}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(slot.fields)) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${String(value)}\r\n`,
      ),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${escapeName(file.filename)}"\r\n` +
        `Content-Type: ${file.contentType}\r\n\r\n`,
    ),
    Buffer.from(file.bytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

function escapeName(name: string): string {
  return name.replace(/["\r\n]/g, "_");
}
