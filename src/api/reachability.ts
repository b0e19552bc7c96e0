// Whether the API's host can be reached at all. A host that does not resolve, refuses connections or
// fails the TLS handshake fails every request the same way: after a few such failures in a row, across
// all requests, the client stops trying and says so once (an account-level stop, resumable), instead
// of retrying every task to the end of its attempts.
import type { Verdict } from "./classify.js";
import type { Attempt } from "./retry.js";

/** Failures that happen before any byte of an answer, and would happen again for every request. */
const CONNECTION_LEVEL = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export function isConnectionLevel(code: string | null): boolean {
  return code !== null && (CONNECTION_LEVEL.has(code) || code.startsWith("ERR_SSL_"));
}

/** Connection-level failures in a row, across every request, after which the host is taken as unreachable. */
export const UNREACHABLE_AFTER = 3;

export class Reachability {
  private failuresInARow = 0;
  private stop: Extract<Verdict, { kind: "account-stop" }> | null = null;

  constructor(
    /** The host as the user gave it (in the message). */
    private readonly host: string,
    private readonly threshold = UNREACHABLE_AFTER,
  ) {}

  /** The verdict every request gets once the host is taken as unreachable (nothing is sent), else null. */
  refusal(): Verdict | null {
    return this.stop;
  }

  /** Learns from one attempt; an attempt that tips the count over is answered with the stop itself. */
  observe<R>(attempt: Attempt<R>): Attempt<R> {
    if (attempt.kind === "aborted") return attempt;
    if (attempt.result !== null) {
      this.failuresInARow = 0;
      return attempt;
    }
    const verdict = attempt.verdict;
    if (verdict.kind !== "retry" || !isConnectionLevel(verdict.networkCode ?? null)) return attempt;
    this.failuresInARow++;
    if (this.failuresInARow < this.threshold) return attempt;
    this.stop ??= {
      kind: "account-stop",
      reason: "unreachable",
      status: 0,
      message: `cannot reach ${this.host}: ${verdict.message}`,
    };
    return { kind: "verdict", verdict: this.stop, result: null };
  }
}
