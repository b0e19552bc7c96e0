import { UserError } from "../errors.js";

/** Where a fault can strike: one of the three API routes, or an output download. */
export type FaultScope = "create" | "get" | "delete" | "download";

/** A fault on one HTTP exchange. */
export type RequestFault =
  | "429" // 429 without Retry-After
  | "429ra" // 429 with Retry-After and retry-after-ms
  | "500"
  | "502"
  | "503"
  | "504"
  | "500ir" // CometAPI's 500 with code "invalid_request": must not be retried
  | "reset" // connection reset before any answer; nothing happened
  | "stall" // no answer at all until the client gives up (or stallMs passes, then a reset)
  | "truncate" // download: headers promise the full body, the connection dies half way
  | "slow" // download: the body trickles out over slowMs
  | "lost" // create: the task IS created (and charged), then the connection resets
  | "lost5xx"; // create: the task IS created, then the answer is a 502

/** Rates per scope, in a fixed order so a seeded draw picks the same fault for the same number. */
export interface FaultTable {
  byScope: Record<FaultScope, { fault: RequestFault; rate: number }[]>;
  /** Probability that a newly created task ends FAILED (with a code from failureCodes). */
  fail: number;
}

const API_SCOPES: FaultScope[] = ["create", "get", "delete"];
const ALL_SCOPES: FaultScope[] = ["create", "get", "delete", "download"];

interface KindRule {
  expand: RequestFault[];
  defaultScopes: FaultScope[];
  allowedScopes: FaultScope[];
}

const KINDS: Record<string, KindRule> = {
  "429": { expand: ["429"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "429ra": { expand: ["429ra"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "5xx": { expand: ["500", "502", "503", "504"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "500": { expand: ["500"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "502": { expand: ["502"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "503": { expand: ["503"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "504": { expand: ["504"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  "500ir": { expand: ["500ir"], defaultScopes: API_SCOPES, allowedScopes: API_SCOPES },
  reset: { expand: ["reset"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  stall: { expand: ["stall"], defaultScopes: API_SCOPES, allowedScopes: ALL_SCOPES },
  truncate: { expand: ["truncate"], defaultScopes: ["download"], allowedScopes: ["download"] },
  slow: { expand: ["slow"], defaultScopes: ["download"], allowedScopes: ["download"] },
  lost: { expand: ["lost"], defaultScopes: ["create"], allowedScopes: ["create"] },
  lost5xx: { expand: ["lost5xx"], defaultScopes: ["create"], allowedScopes: ["create"] },
};

const SCOPE_WORDS: Record<string, FaultScope[]> = {
  create: ["create"],
  get: ["get"],
  delete: ["delete"],
  api: API_SCOPES,
  download: ["download"],
};

/** Faults as a string (`"429=0.1,get:5xx=0.05,truncate=0.01,fail=0.1"`) or the same entries as an object. */
export type FaultSpec = string | Record<string, number>;

export const FAULT_GRAMMAR = `fault spec: comma-separated [scope:]kind=rate, rate in 0..1
  kinds:  429 (no Retry-After), 429ra (with Retry-After), 5xx (500/502/503/504 evenly), 500, 502, 503,
          504, 500ir (CometAPI 500 invalid_request, not retryable), reset, stall, truncate, slow,
          lost (create: task created, then reset), lost5xx (create: task created, then 502),
          fail (share of tasks that end FAILED)
  scopes: create, get, delete, api (= all three, the default), download (default for truncate/slow)`;

export function emptyFaultTable(): FaultTable {
  return { byScope: { create: [], get: [], delete: [], download: [] }, fail: 0 };
}

/** Parses a fault spec, refusing anything it does not understand rather than ignoring it. */
export function parseFaultSpec(spec: FaultSpec | undefined): FaultTable {
  const table = emptyFaultTable();
  if (spec === undefined) return table;
  const entries: [string, number | string][] =
    typeof spec === "string"
      ? spec
          .split(",")
          .map((part) => part.trim())
          .filter((part) => part !== "")
          .map((part) => {
            const eq = part.indexOf("=");
            if (eq < 0) throw faultError(`"${part}" has no "=rate"`);
            return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
          })
      : Object.entries(spec);
  for (const [name, rawRate] of entries) addEntry(table, name, rawRate);
  for (const scope of ALL_SCOPES) {
    const total = table.byScope[scope].reduce((sum, entry) => sum + entry.rate, 0);
    if (total > 1 + 1e-9) throw faultError(`the rates for ${scope} requests add up to ${total}, more than 1`);
  }
  return table;
}

function addEntry(table: FaultTable, name: string, rawRate: number | string): void {
  const rate =
    typeof rawRate === "number" ? rawRate : /^(?:\d+\.?\d*|\.\d+)$/.test(rawRate) ? Number(rawRate) : NaN;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw faultError(`the rate of "${name}" must be a number from 0 to 1, got "${String(rawRate)}"`);
  const colon = name.indexOf(":");
  const scopeWord = colon >= 0 ? name.slice(0, colon) : undefined;
  const kind = colon >= 0 ? name.slice(colon + 1) : name;
  if (kind === "fail") {
    if (scopeWord !== undefined && scopeWord !== "task") throw faultError(`"fail" takes no scope`);
    table.fail = rate;
    return;
  }
  const rule = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (!rule) throw faultError(`unknown fault "${kind}"`);
  let scopes = rule.defaultScopes;
  if (scopeWord !== undefined) {
    const named = Object.hasOwn(SCOPE_WORDS, scopeWord) ? SCOPE_WORDS[scopeWord] : undefined;
    if (!named) throw faultError(`unknown scope "${scopeWord}"`);
    const refused = named.filter((scope) => !rule.allowedScopes.includes(scope));
    if (refused.length > 0) throw faultError(`"${kind}" cannot apply to ${refused.join(", ")} requests`);
    scopes = named;
  }
  for (const scope of scopes) {
    const list = table.byScope[scope];
    for (const fault of rule.expand) {
      const share = rate / rule.expand.length;
      const existing = list.find((entry) => entry.fault === fault);
      if (existing) existing.rate = share;
      else list.push({ fault, rate: share });
    }
  }
}

function faultError(detail: string): UserError {
  return new UserError(`invalid fault spec: ${detail}`, undefined, FAULT_GRAMMAR);
}

/** Picks the fault (if any) for one exchange from a uniform draw u in [0, 1). */
export function pickFault(table: FaultTable, scope: FaultScope, u: number): RequestFault | null {
  let cumulative = 0;
  for (const entry of table.byScope[scope]) {
    cumulative += entry.rate;
    if (u < cumulative) return entry.fault;
  }
  return null;
}
