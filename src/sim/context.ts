// What the route handlers (handlers/) share with the server, which implements it: the options, the
// clock and timers, the tasks, the account, the counters and the seeded draws. A handler is a
// function of this context and one exchange; the server class keeps lifecycle and dispatch only.
import type { Account } from "./account.js";
import type { FaultScope } from "./faults.js";
import type { ResolvedOptions } from "./options.js";
import type { UrlSigner } from "./outputs.js";
import type { Counters } from "./stats.js";
import type { SimTask, TaskScheduler } from "./tasks.js";
import type { UploadStore } from "./uploads.js";

export interface SimContext {
  /** Mutable: setFaults, setShape and setAccount change them while the simulator runs. */
  readonly options: ResolvedOptions;
  /** "http://HOST:PORT", known once listening. */
  readonly origin: string;
  /** Set by close(): streaming bodies stop. */
  readonly closed: boolean;
  /** Every task created, by id. */
  readonly tasks: Map<string, SimTask>;
  /** The same tasks in creation order: the ledger stats() reports and credits are read from. */
  readonly ledger: SimTask[];
  readonly scheduler: TaskScheduler;
  /** Creates so far per task key: a resubmission is attempt 2, 3, ... and draws afresh. */
  readonly attemptsByKey: Map<string, number>;
  readonly signer: UrlSigner;
  readonly uploads: UploadStore;
  readonly account: Account;
  readonly counters: Counters;
  /** One seeded stream per fault scope. */
  readonly faultDraws: Record<FaultScope, () => number>;
  /** The coin of the "mixed" shape. */
  readonly shapeDraw: () => number;
  /** The stream task ids are made from. */
  readonly idDraw: () => number;
  /** The simulator clock, epoch ms. */
  now(): number;
  /** Runs `action` after `ms`, unless the server closes first. */
  later(ms: number, action: () => void): void;
  sleep(ms: number): Promise<void>;
}
