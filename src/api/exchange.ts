// One request whose answer is small text (the API's JSON, an upload URL's reply): sent through the
// transport, its answer read (bounded) and classified, ready for the retry loop.
import { classifyAnswer, classifyNetworkFailure, type RequestKind } from "./classify.js";
import type { Attempt } from "./retry.js";
import { errorCode, errorMessage } from "./transport.js";
import type { Headers, Transport, TransportRequest } from "./transport.js";
import type { ProviderName } from "./wire-types.js";

/** API answers are small JSON; anything bigger is cut (a misbehaving proxy must not fill memory). */
const MAX_API_BODY = 1024 * 1024;
/** The limit in a message. */
export const API_BODY_LIMIT = "1 MiB";

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: string;
  /** The answer was larger than the limit: `body` is only its beginning, and not to be parsed. */
  cut: boolean;
}

export interface ExchangeContext {
  transport: Transport;
  provider: ProviderName;
  clock: () => number;
}

/** Sends `request` once; its verdict says what the answer (or the failure to get one) means for a `kind` request. */
export async function exchange(
  context: ExchangeContext,
  kind: Exclude<RequestKind, "download">,
  request: TransportRequest,
): Promise<Attempt<ApiAnswer>> {
  const sent = await context.transport.sendText(request, MAX_API_BODY);
  if (sent.kind === "failed") {
    if (sent.aborted) return { kind: "aborted", sent: sent.sent };
    const verdict = classifyNetworkFailure({ kind, code: sent.code, message: sent.message, sent: sent.sent });
    return { kind: "verdict", verdict, result: null };
  }
  const { status, headers } = sent;
  let text: string;
  let cut = false;
  if (sent.kind === "broken") {
    if (request.signal?.aborted) return { kind: "aborted", sent: true };
    if (status >= 200 && status <= 299) {
      // A success whose body broke: for a create, the task exists and its id is lost.
      const verdict = classifyNetworkFailure({
        kind,
        code: errorCode(sent.error),
        message: errorMessage(sent.error),
        sent: true,
      });
      return { kind: "verdict", verdict, result: null };
    }
    text = ""; // an error status already says what happened; its body is a detail
  } else {
    text = sent.text;
    cut = sent.cut;
  }
  const verdict = classifyAnswer({
    kind,
    provider: context.provider,
    status,
    headers,
    body: text,
    nowMs: context.clock(),
  });
  return { kind: "verdict", verdict, result: { status, headers, body: text, cut } };
}
