// The simulator's ledger (GET /__sim/stats), as far as the benchmarks read it. Times are epoch ms on
// the simulator's clock (the machine's wall clock: it runs on this host), durations are real
// (already divided by the speed factor).

export interface SimLedgerTask {
  id: string;
  key: string;
  attempt: number;
  status: string;
  createdAt: number;
  /** When the task got a concurrency slot (left THROTTLED). */
  slotAt: number | null;
  /** When it became RUNNING. */
  startedAt: number | null;
  /** When it reached its terminal state. */
  finishedAt: number | null;
  /** Time spent RUNNING. */
  renderMs: number;
  failureCode: string | null;
}

export interface SimLedger {
  now: number;
  /** Per "METHOD /route-template", per status ("200", "429", ..., "reset"). */
  requests: Record<string, Record<string, number>>;
  creates: number;
  createsByKey: Record<string, number>;
  tasks: SimLedgerTask[];
  peakActive: number;
  peakRunning?: number;
  bytesServed: number;
  downloadsCompleted?: number;
  getsByTaskId?: Record<string, number>;
  faults?: Record<string, number>;
}

export interface RequestCounts {
  creates: number;
  gets: number;
  deletes: number;
  downloads: number;
  /** Everything that reached the simulator, faults included, downloads excluded. */
  api: number;
}

/** Sums the request counters by kind. Route templates look like "GET /v1/tasks/:id", "GET /media/:id.mp4". */
export function countRequests(ledger: SimLedger): RequestCounts {
  const counts: RequestCounts = { creates: 0, gets: 0, deletes: 0, downloads: 0, api: 0 };
  for (const [route, byStatus] of Object.entries(ledger.requests)) {
    const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
    const [method = "", path = ""] = route.split(" ");
    if (path.startsWith("/__sim")) continue;
    if (method === "POST" && path.includes("character_performance")) {
      counts.creates += total;
      counts.api += total;
    } else if (method === "GET" && /\/tasks\//.test(path)) {
      counts.gets += total;
      counts.api += total;
    } else if (method === "DELETE") {
      counts.deletes += total;
      counts.api += total;
    } else if (path.startsWith("/media/")) {
      if (method === "GET") counts.downloads += total;
    } else {
      counts.api += total;
    }
  }
  return counts;
}

/** Creates beyond the first per request body: tasks paid for twice (or more). */
export function duplicateCreates(ledger: SimLedger): number {
  let duplicates = 0;
  for (const count of Object.values(ledger.createsByKey)) if (count > 1) duplicates += count - 1;
  return duplicates;
}

/**
 * How long each task held one of the account's slots: from getting the slot to its terminal state.
 * This is PENDING + RUNNING as the service runs them, on its update grid: what no client can shorten.
 */
export function slotOccupancy(task: SimLedgerTask): number | null {
  if (task.finishedAt === null) return null;
  const from = task.slotAt ?? task.createdAt;
  return task.finishedAt - from;
}
