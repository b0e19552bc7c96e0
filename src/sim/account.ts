// The account: credits, the daily create limit and the concurrency, which setAccount() may change
// while the simulator runs, and what GET /v1/organization reports of them. The figures live in the
// resolved options; what was spent is read off the task ledger at the current instant.
import type { ResolvedOptions } from "./options.js";
import type { SimStats } from "./stats.js";
import { isTerminal, snapshotAt, type SimTask, type TaskScheduler } from "./tasks.js";
import { finalCost } from "./wire.js";

/** The balance and monthly cap /v1/organization reports for an account without a credit limit. */
const UNLIMITED_BALANCE = 1_000_000_000;

/** Account conditions that can change while the simulator runs. */
export interface AccountSettings {
  /** Credit balance from now on (null: unlimited). */
  credits?: number | null;
  /** Creates allowed per rolling 24 h (null: unlimited). */
  dailyLimit?: number | null;
  concurrency?: number;
}

export class Account {
  /** When each create was accepted, oldest first; those before createTimesStart left the window. */
  private readonly createTimes: number[] = [];
  private createTimesStart = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly ledger: readonly SimTask[],
    private readonly scheduler: TaskScheduler,
    private readonly now: () => number,
  ) {}

  set(settings: AccountSettings): void {
    if (settings.credits !== undefined) {
      // The balance given is what is left now: fold what was spent into the starting figure.
      this.options.credits = settings.credits === null ? Infinity : settings.credits + this.creditsSpent();
    }
    if (settings.dailyLimit !== undefined) this.options.dailyLimit = settings.dailyLimit ?? Infinity;
    if (settings.concurrency !== undefined) {
      if (!Number.isInteger(settings.concurrency) || settings.concurrency < 1)
        throw new RangeError(`concurrency must be a positive integer, got ${settings.concurrency}`);
      this.options.concurrency = settings.concurrency;
      this.scheduler.setConcurrency(settings.concurrency, this.now());
    }
  }

  /** Whether the rolling 24 h window already holds dailyLimit creates. */
  dailyLimitReached(now: number): boolean {
    return this.createsInWindow(now) >= this.options.dailyLimit;
  }

  /** Whether what is left of the balance covers `cost`. */
  canAfford(cost: number): boolean {
    return !(Number.isFinite(this.options.credits) && this.options.credits - this.creditsSpent() < cost);
  }

  /** Counts an accepted create against the daily limit. */
  recordCreate(now: number): void {
    this.createTimes.push(now);
  }

  creditsSpent(): number {
    const now = this.now();
    let spent = 0;
    for (const task of this.ledger) {
      const status = snapshotAt(task, now).status;
      spent += isTerminal(status) ? finalCost(task, status) : task.cost;
    }
    return spent;
  }

  /** The account as stats() reports it. */
  summary(): SimStats["account"] {
    return {
      concurrency: this.options.concurrency,
      dailyLimit: Number.isFinite(this.options.dailyLimit) ? this.options.dailyLimit : null,
      credits: Number.isFinite(this.options.credits) ? this.options.credits - this.creditsSpent() : null,
      creditsSpent: this.creditsSpent(),
    };
  }

  /** GET /v1/organization: Runway's shape (the SDK's OrganizationRetrieveResponse), for act_two only. */
  organization(): Record<string, unknown> {
    const now = this.now();
    const windowStart = now - (24 * 3600_000) / this.options.speed;
    const dailyGenerations = this.ledger.filter((task) => task.createdAt > windowStart).length;
    const finiteCredits = Number.isFinite(this.options.credits);
    return {
      creditBalance: finiteCredits ? this.options.credits - this.creditsSpent() : UNLIMITED_BALANCE,
      tier: {
        maxMonthlyCreditSpend: UNLIMITED_BALANCE,
        models: {
          act_two: {
            maxConcurrentGenerations: this.options.concurrency,
            maxDailyGenerations: Number.isFinite(this.options.dailyLimit) ? this.options.dailyLimit : null,
          },
        },
      },
      usage: { models: { act_two: { dailyGenerations } } },
    };
  }

  private createsInWindow(now: number): number {
    if (!Number.isFinite(this.options.dailyLimit)) return 0;
    const windowStart = now - (24 * 3600_000) / this.options.speed;
    while (
      this.createTimesStart < this.createTimes.length &&
      (this.createTimes[this.createTimesStart] ?? 0) <= windowStart
    )
      this.createTimesStart++;
    return this.createTimes.length - this.createTimesStart;
  }
}
