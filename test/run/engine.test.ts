// The run engine (executePlan) driven directly: a scripted in-memory API port, a manual clock, a real
// journal in a temporary folder, no socket and no real waiting. Each test states what a user would
// see: the journal on disk, the manifest records handed over, the events, the calls made to the API,
// and the facts the run ends with.
import { mkdtemp, readdir, readFile, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AccountStopReason } from "../../src/api/types.js";
import { sha256Hex } from "../../src/canonical.js";
import { foldJournal } from "../../src/journal/fold.js";
import { partialPath } from "../../src/journal/paths.js";
import type { JournalRecord } from "../../src/journal/records.js";
import { JournalWriter, readJournal } from "../../src/journal/writer.js";
import type { Plan, TaskPlan } from "../../src/job/types.js";
import type { ManifestTask } from "../../src/manifest/types.js";
import type { DownloadOptions } from "../../src/run/downloader.js";
import type { RunEvent, RunEventKind, RunEventOf } from "../../src/run/events.js";
import {
  executePlan,
  type ExecuteContext,
  type ExecuteOptions,
  type ExecuteResult,
  type SubmitBudget,
} from "../../src/run/execute.js";
import { scaleTiming } from "../../src/run/timing.js";
import {
  accountStopMessage,
  ACCOUNT_STOP_CODES,
  exitCodeOf,
  moderationStopMessage,
} from "../../src/run/transitions.js";
import { planOf } from "../helpers/manifest-fixtures.js";
import {
  create,
  get,
  outputBytes,
  outputUrl,
  ScriptedApi,
  scriptedDownload,
} from "../helpers/scripted-api.js";

/** The manual clock starts here (the journal's `at` fields come from it too). */
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const KEY_VARIABLE = "COMETAPI_KEY";
const TIMING = scaleTiming(1);

const DEFAULT_OPTIONS: ExecuteOptions = {
  concurrency: 1,
  maxAttempts: 3,
  maxModerationFailures: 3,
  force: false,
  retryFailed: false,
  resubmitAmbiguous: true,
  inShard: () => true,
  keyVariable: KEY_VARIABLE,
};

interface Controls {
  stop: AbortController;
  cancel: AbortController;
}

interface EngineRun {
  result: ExecuteResult;
  /** Every event but the timer-driven snapshots. */
  events: RunEvent[];
  /** API calls and events in the order they happened, with the manual clock's time. */
  timeline: { at: number; what: string }[];
  /** The last manifest handed over with `final` set. */
  manifest: { tasks: ManifestTask[]; orphans: ManifestTask[] };
  downloads: DownloadOptions[];
  /** The records this run appended, read back from disk. */
  appended: JournalRecord[];
  /** The manual clock when the run returned. */
  endedAt: number;
}

interface EngineSetup {
  plan: Plan;
  api: ScriptedApi;
  options?: Partial<ExecuteOptions>;
  beforeSubmit?: ExecuteContext["beforeSubmit"];
  checkOutput?: ExecuteContext["checkOutput"];
  /** Makes the download of these URLs fail. */
  failingDownloads?: string[];
  /** Makes the download of these URLs meet a full disk. */
  diskFullDownloads?: string[];
  /** Called with each event as it is emitted (snapshots included), with the run's interrupt signals. */
  onEvent?: (event: RunEvent, controls: Controls) => void;
  startAt?: number;
}

let dir = "";
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "actbatch-engine-")));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One executePlan over the output folder `dir`, from whatever its journal holds. */
async function runEngine(setup: EngineSetup): Promise<EngineRun> {
  let now = setup.startAt ?? T0;
  const clock = (): number => now;
  const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) return;
    if (ms > 0) now += ms;
  };
  const existing = await readJournal(dir);
  const fold = foldJournal(existing.records);
  const journal = new JournalWriter(dir, existing, clock);
  const controls: Controls = { stop: new AbortController(), cancel: new AbortController() };
  const events: RunEvent[] = [];
  const timeline: EngineRun["timeline"] = [];
  const finals: EngineRun["manifest"][] = [];
  const { download, calls: downloads, failing, diskFull } = scriptedDownload();
  for (const url of setup.failingDownloads ?? []) failing.add(url);
  for (const url of setup.diskFullDownloads ?? []) diskFull.add(url);
  setup.api.listen((call) => {
    const subject =
      call.method === "createTask"
        ? call.key
        : call.method === "getTask" || call.method === "cancelTask"
          ? call.taskId
          : "";
    timeline.push({ at: now, what: `${call.method} ${subject}` });
  });
  const emit = (event: RunEvent): void => {
    if (event.kind !== "snapshot") {
      events.push(event);
      timeline.push({ at: now, what: `event ${event.kind}` });
    }
    setup.onEvent?.(event, controls);
  };
  let result: ExecuteResult;
  try {
    result = await executePlan(
      {
        plan: setup.plan,
        outputDir: dir,
        api: setup.api,
        download,
        journal,
        fold,
        timing: TIMING,
        timeScale: 1,
        clock,
        sleep,
        emit,
        stopSignal: controls.stop.signal,
        cancelSignal: controls.cancel.signal,
        ...(setup.beforeSubmit && { beforeSubmit: setup.beforeSubmit }),
        ...(setup.checkOutput && { checkOutput: setup.checkOutput }),
        writeManifest: async ({ tasks, orphans }, final) => {
          if (final) finals.push({ tasks, orphans });
        },
      },
      { ...DEFAULT_OPTIONS, ...setup.options },
    );
  } finally {
    await journal.close();
  }
  const onDisk = await readJournal(dir);
  // Memory never runs ahead of the disk: the fold the engine kept is the fold of the journal file.
  expect(fold).toEqual(foldJournal(onDisk.records));
  const manifest = finals.at(-1);
  if (!manifest) throw new Error("the engine handed over no final manifest");
  return {
    result,
    events,
    timeline,
    manifest,
    downloads,
    appended: onDisk.records.slice(existing.records.length),
    endedAt: now,
  };
}

function eventsOf<K extends RunEventKind>(run: EngineRun, kind: K): RunEventOf<K>[] {
  return run.events.filter((event): event is RunEventOf<K> => event.kind === kind);
}

function recordsOf(run: EngineRun, task: TaskPlan): JournalRecord[] {
  return run.appended.filter((record) => record.key === task.key);
}

function typesOf(records: JournalRecord[]): string[] {
  return records.map((record) => `${record.t}#${record.attempt}`);
}

function manifestOf(run: EngineRun, task: TaskPlan): ManifestTask {
  const found = run.manifest.tasks.find((record) => record.key === task.key);
  if (!found) throw new Error(`no manifest record for ${task.key}`);
  return found;
}

function indexOf(run: EngineRun, what: string): number {
  return run.timeline.findIndex((entry) => entry.what === what);
}

function lastIndexOf(run: EngineRun, prefix: string): number {
  return run.timeline.findLastIndex((entry) => entry.what.startsWith(prefix));
}

function tasksOf(plan: Plan): TaskPlan[] {
  return plan.tasks;
}

/** A budget that covers `creates` tasks, recording what was reserved and given back. */
function budgetFor(creates: number): SubmitBudget & { reserved: string[]; released: string[] } {
  const reserved: string[] = [];
  const released: string[] = [];
  return {
    reserved,
    released,
    reserve(key) {
      if (reserved.length - released.length >= creates) return false;
      reserved.push(key);
      return true;
    },
    release(key) {
      released.push(key);
    },
  };
}

async function filesUnder(folder: string): Promise<string[]> {
  try {
    return await readdir(folder, { recursive: true });
  } catch {
    return [];
  }
}

/**
 * Four tasks, two slots: the first is created and takes a few GETs to finish, the second's create is
 * refused by an account condition. Checks what every account stop does; returns the run.
 */
async function accountStopRun(reason: AccountStopReason): Promise<{ run: EngineRun; inFlight: TaskPlan }> {
  const plan = planOf(4);
  const [inFlight, refused, third, fourth] = tasksOf(plan) as [TaskPlan, TaskPlan, TaskPlan, TaskPlan];
  const api = new ScriptedApi()
    .onCreate(inFlight.key, create.created("A1"))
    .onGet("A1", get.pending(), get.pending(), get.running(0.5), get.succeeded(outputUrl("A1")))
    .onCreate(refused.key, create.accountStop(reason));
  const run = await runEngine({ plan, api, options: { concurrency: 2 } });

  const status = { "bad-key": 401, "no-credits": 402, "daily-limit": 429, unreachable: 0 }[reason];
  const message = accountStopMessage(reason, status, KEY_VARIABLE, `account stop: ${reason}`);
  expect(eventsOf(run, "submission-stopped")).toEqual([
    { kind: "submission-stopped", reason: "account", message },
  ]);
  expect(run.result.stop).toEqual({ reason: "account", message });
  expect(api.createdKeys().toSorted()).toEqual([inFlight.key, refused.key].toSorted());
  expect(lastIndexOf(run, "createTask")).toBeLessThan(indexOf(run, "event submission-stopped"));
  expect(recordsOf(run, refused)).toMatchObject([
    { t: "intent" },
    { t: "not-created", reason: "account-stop", code: ACCOUNT_STOP_CODES[reason] },
  ]);
  expect(manifestOf(run, refused)).toMatchObject({
    status: "NOT_SUBMITTED",
    error: { code: ACCOUNT_STOP_CODES[reason], retryable: true },
  });
  for (const task of [third, fourth]) {
    expect(recordsOf(run, task)).toEqual([]);
    expect(manifestOf(run, task)).toMatchObject({ status: "NOT_SUBMITTED", taskId: null, error: null });
  }
  expect(run.result.allSucceeded).toBe(false);
  return { run, inFlight };
}

function getsAfterStop(run: EngineRun, taskId: string): number {
  const stopped = indexOf(run, "event submission-stopped");
  return run.timeline.slice(stopped).filter((entry) => entry.what === `getTask ${taskId}`).length;
}

describe("executePlan: a created task", () => {
  it("is polled through its live states on the manual clock, SUCCEEDED, downloaded, journalled and handed over", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const url = outputUrl("A1");
    const api = new ScriptedApi()
      .onCreate(task.key, create.created("A1"))
      .onGet("A1", get.pending(), get.throttled(), get.running(0.25), get.running(0.75), get.succeeded(url));
    const run = await runEngine({ plan, api });

    // The API: one create of the planned body, then GETs of its id until the terminal state.
    expect(api.calls.map((call) => call.method)).toEqual([
      "createTask",
      "getTask",
      "getTask",
      "getTask",
      "getTask",
      "getTask",
    ]);
    expect(api.callsOf("createTask")[0]?.body).toEqual(task.request);
    expect(api.callsOf("getTask").every((call) => call.createdAtMs === T0)).toBe(true);
    // Polled on the manual clock, never faster than the service refreshes a task.
    const getTimes = run.timeline.filter((e) => e.what === "getTask A1").map((e) => e.at);
    for (let i = 1; i < getTimes.length; i++)
      expect(getTimes[i]! - getTimes[i - 1]!).toBeGreaterThanOrEqual(TIMING.updateIntervalMs);
    expect(getTimes[0]! - T0).toBeGreaterThanOrEqual(TIMING.updateIntervalMs);

    // The journal on disk.
    const bytes = outputBytes(url);
    expect(typesOf(run.appended)).toEqual(["intent#1", "created#1", "terminal#1", "output#1"]);
    expect(run.appended).toMatchObject([
      {
        t: "intent",
        key: task.key,
        pair: task.pair,
        params: task.params,
        request: task.request,
        output: task.output,
        at: new Date(T0).toISOString(),
      },
      { t: "created", taskId: "A1", at: new Date(T0).toISOString() },
      { t: "terminal", taskId: "A1", status: "SUCCEEDED", error: null, outputs: 1 },
      {
        t: "output",
        taskId: "A1",
        index: 0,
        file: task.output,
        bytes: bytes.length,
        sha256: sha256Hex(bytes),
      },
    ]);

    // The output file, through its temporary file, and nothing left behind.
    expect(run.downloads).toHaveLength(1);
    expect(run.downloads[0]).toMatchObject({
      url,
      finalPath: join(dir, task.output),
      tempPath: partialPath(dir, task.key, 0),
    });
    expect(await readFile(join(dir, task.output))).toEqual(bytes);
    expect(await filesUnder(dirname(partialPath(dir, task.key, 0)))).toEqual([]);

    // The events.
    expect(eventsOf(run, "task-submitted")).toMatchObject([{ taskId: "A1", attempt: 1 }]);
    expect(eventsOf(run, "task-state").map((e) => [e.status, e.progress])).toEqual([
      ["PENDING", null],
      ["THROTTLED", null],
      ["RUNNING", 0.25],
    ]);
    expect(eventsOf(run, "task-finished")).toMatchObject([
      { status: "SUCCEEDED", error: null, retrying: false },
    ]);
    expect(eventsOf(run, "download-finished")).toMatchObject([{ file: task.output, bytes: bytes.length }]);

    // The manifest record and the exit facts.
    expect(run.manifest.tasks).toEqual([
      {
        key: task.key,
        pair: task.pair,
        params: task.params,
        request: task.request,
        taskId: "A1",
        status: "SUCCEEDED",
        attempts: 1,
        outputs: [{ file: task.output, bytes: bytes.length, sha256: sha256Hex(bytes) }],
        error: null,
        possiblyChargedTwice: false,
        history: [],
      },
    ]);
    expect(run.manifest.orphans).toEqual([]);
    expect(run.result).toMatchObject({
      stop: null,
      allSucceeded: true,
      allChecked: true,
      runKeys: [task.key],
      finishedTasks: 1,
      polledTasks: 1,
      taskGets: 5,
      appended: 4,
      cancelHandled: false,
    });
  });

  it("a downloaded output that fails its checks stays SUCCEEDED (it was paid) but the run is not allChecked", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.created("A1"));
    const checked: string[] = [];
    const run = await runEngine({
      plan,
      api,
      checkOutput: async (_task, file, size) => {
        const { buffer } = await file.read(Buffer.alloc(size), 0, size, 0);
        checked.push(buffer.toString("latin1"));
        return [{ name: "mp4", ok: false, message: "not an MP4 file" }];
      },
    });
    // The check read the output's own bytes.
    expect(checked).toEqual([outputBytes(outputUrl("A1")).toString("latin1")]);
    expect(recordsOf(run, task).find((r) => r.t === "output")).toMatchObject({
      checks: [{ name: "mp4", ok: false }],
    });
    expect(manifestOf(run, task)).toMatchObject({
      status: "SUCCEEDED",
      outputs: [{ file: task.output, checks: [{ name: "mp4", ok: false }] }],
    });
    expect(run.result).toMatchObject({ allSucceeded: true, allChecked: false, stop: null });
  });

  it("an output that cannot be downloaded leaves the render recorded SUCCEEDED and the manifest says DOWNLOAD_FAILED", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.created("A1"));
    const run = await runEngine({ plan, api, failingDownloads: [outputUrl("A1")] });
    expect(typesOf(recordsOf(run, task))).toEqual(["intent#1", "created#1", "terminal#1"]);
    expect(eventsOf(run, "download-failed")).toMatchObject([
      { file: task.output, message: "403 on every attempt" },
    ]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "FAILED",
      taskId: "A1",
      outputs: [],
      error: { code: "DOWNLOAD_FAILED", retryable: true },
    });
    expect(api.createdKeys()).toEqual([task.key]);
    expect(run.result.allSucceeded).toBe(false);
  });
});

describe("executePlan: a full disk", () => {
  it("a download on a full disk stops the run at once (reason disk-full, exit 4); the render stays fetchable", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.created("A1"));
    const run = await runEngine({ plan, api, diskFullDownloads: [outputUrl("A1")] });
    expect(eventsOf(run, "submission-stopped")).toHaveLength(1);
    expect(run.result.stop?.reason).toBe("disk-full");
    expect(run.result.stop?.message).toMatch(
      /^stopped: the disk is full where the output folder is \(.+, ENOSPC\); nothing more is submitted or downloaded/,
    );
    expect(exitCodeOf({ stop: "disk-full", allSucceeded: false, allChecked: true, interrupted: null })).toBe(
      4,
    );
    // Not retried: one download call. The render is paid and SUCCEEDED at the service: a rerun with
    // space downloads it from its task (a fetch-again code, retryable).
    expect(run.downloads).toHaveLength(1);
    expect(manifestOf(run, task)).toMatchObject({
      taskId: "A1",
      error: { code: "DISK_FULL", retryable: true },
    });
  });
});

describe("executePlan: create outcomes", () => {
  it("rejected: FAILED with the service's code, not retried, its budget reservation given back", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.rejected(null, 422));
    const budget = budgetFor(10);
    const run = await runEngine({ plan, api, beforeSubmit: async () => ({ budget }) });
    expect(api.calls.map((call) => call.method)).toEqual(["createTask"]);
    expect(run.appended).toMatchObject([
      { t: "intent", attempt: 1 },
      { t: "not-created", attempt: 1, reason: "rejected", code: "HTTP_422" },
    ]);
    expect(budget.released).toEqual([task.key]);
    expect(eventsOf(run, "task-not-created")).toMatchObject([{ attempt: 1, outcome: "rejected" }]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "FAILED",
      taskId: null,
      attempts: 0,
      error: { code: "HTTP_422", retryable: false },
    });
    expect(run.result).toMatchObject({ allSucceeded: false, stop: null });
  });

  it("unavailable: NOT_SUBMITTED (provably not created, not paid), not retried in the run", async () => {
    const plan = planOf(2);
    const [first, second] = tasksOf(plan) as [TaskPlan, TaskPlan];
    const api = new ScriptedApi().onCreate(first.key, create.unavailable());
    const budget = budgetFor(10);
    const run = await runEngine({ plan, api, beforeSubmit: async () => ({ budget }) });
    expect(api.createdKeys()).toEqual([first.key, second.key]);
    expect(recordsOf(run, first)).toMatchObject([
      { t: "intent", attempt: 1 },
      { t: "not-created", attempt: 1, reason: "unavailable", code: "UNAVAILABLE" },
    ]);
    expect(budget.released).toEqual([first.key]);
    expect(manifestOf(run, first)).toMatchObject({
      status: "NOT_SUBMITTED",
      attempts: 0,
      error: { code: "UNAVAILABLE", retryable: true },
    });
    // An unavailable create stops nothing: the next task is created and finished.
    expect(manifestOf(run, second).status).toBe("SUCCEEDED");
    expect(run.result).toMatchObject({ allSucceeded: false, stop: null });
  });

  it.each<AccountStopReason>(["no-credits", "daily-limit"])(
    "account-stop %s: submission stops for the rest with one message; the task in flight is still polled and downloaded",
    async (reason) => {
      const { run, inFlight } = await accountStopRun(reason);
      expect(getsAfterStop(run, "A1")).toBeGreaterThan(0);
      expect(manifestOf(run, inFlight)).toMatchObject({ status: "SUCCEEDED", taskId: "A1" });
      expect(run.downloads.map((d) => d.url)).toEqual([outputUrl("A1")]);
    },
  );

  it.each<AccountStopReason>(["bad-key", "unreachable"])(
    "account-stop %s: submission stops with one message, and polling too (every GET would fail)",
    async (reason) => {
      const { run, inFlight } = await accountStopRun(reason);
      expect(getsAfterStop(run, "A1")).toBe(0);
      // The task stays in flight (its id on disk) for the next run to poll.
      expect(typesOf(recordsOf(run, inFlight))).toEqual(["intent#1", "created#1"]);
      expect(manifestOf(run, inFlight)).toMatchObject({ taskId: "A1", error: null });
      expect(["PENDING", "RUNNING"]).toContain(manifestOf(run, inFlight).status);
      expect(run.downloads).toEqual([]);
    },
  );

  it("ambiguous: resubmitted, the second create's task finishes, and the key is flagged possiblyChargedTwice", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.ambiguous(), create.created("A2"));
    const run = await runEngine({ plan, api });
    const creates = api.callsOf("createTask");
    expect(creates).toHaveLength(2);
    expect(creates[1]?.body).toEqual(creates[0]?.body);
    expect(api.polledIds()).toEqual(["A2"]);
    expect(typesOf(run.appended)).toEqual([
      "intent#1",
      "ambiguous#1",
      "intent#2",
      "created#2",
      "terminal#2",
      "output#2",
    ]);
    expect(eventsOf(run, "task-ambiguous")).toMatchObject([{ attempt: 1, resubmitting: true }]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "SUCCEEDED",
      taskId: "A2",
      attempts: 2,
      possiblyChargedTwice: true,
      history: [{ attempt: 1, taskId: null, status: "AMBIGUOUS", error: { code: "AMBIGUOUS_CREATE" } }],
    });
    expect(run.result).toMatchObject({ allSucceeded: true, stop: null });
  });

  it("ambiguous with resubmitAmbiguous false: held after one create, AMBIGUOUS in the manifest", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(task.key, create.ambiguous());
    const run = await runEngine({ plan, api, options: { resubmitAmbiguous: false } });
    expect(api.calls.map((call) => call.method)).toEqual(["createTask"]);
    expect(typesOf(run.appended)).toEqual(["intent#1", "ambiguous#1"]);
    expect(eventsOf(run, "task-ambiguous")).toMatchObject([{ attempt: 1, resubmitting: false }]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "AMBIGUOUS",
      taskId: null,
      attempts: 1,
      possiblyChargedTwice: false,
      error: { code: "AMBIGUOUS_CREATE", retryable: true },
    });
    expect(run.result.allSucceeded).toBe(false);
  });

  it("ambiguous again and again: creates stop at maxAttempts and the key is held", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi().onCreate(
      task.key,
      create.ambiguous(),
      create.ambiguous(),
      create.ambiguous(),
    );
    const run = await runEngine({ plan, api, options: { maxAttempts: 2 } });
    expect(api.createdKeys()).toEqual([task.key, task.key]);
    expect(eventsOf(run, "task-ambiguous").map((e) => e.resubmitting)).toEqual([true, false]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "AMBIGUOUS",
      attempts: 2,
      possiblyChargedTwice: true,
    });
  });
});

describe("executePlan: terminal states", () => {
  it.each<[string | null, number, boolean]>([
    ["ASSET.INVALID", 1, false],
    ["SAFETY.INPUT.IMAGE", 1, false],
    ["INTERNAL", 3, true],
    ["INTERNAL.BAD_OUTPUT.CODE01", 2, false],
    [null, 3, true],
  ])(
    "FAILED %s: %i create(s) with maxAttempts 3, then FAILED (retried by a rerun: %s)",
    async (code, creates, rerun) => {
      const plan = planOf(1);
      const [task] = tasksOf(plan) as [TaskPlan];
      const ids = ["A1", "A2", "A3", "A4"];
      const api = new ScriptedApi().onCreate(task.key, ...ids.map((id) => create.created(id)));
      for (const id of ids) api.onGet(id, get.running(0.5), get.failed(code));
      const run = await runEngine({ plan, api, options: { maxAttempts: 3 } });

      expect(api.createdKeys()).toHaveLength(creates);
      const finished = eventsOf(run, "task-finished");
      expect(finished.map((e) => e.retrying)).toEqual([...Array<boolean>(creates - 1).fill(true), false]);
      const expectedCode = code ?? "NO_FAILURE_CODE";
      expect(run.appended.filter((r) => r.t === "terminal")).toHaveLength(creates);
      expect(manifestOf(run, task)).toMatchObject({
        status: "FAILED",
        taskId: ids[creates - 1],
        attempts: creates,
        outputs: [],
        error: { code: expectedCode, retryable: rerun },
        history: ids.slice(0, creates - 1).map((taskId, i) => ({
          attempt: i + 1,
          taskId,
          status: "FAILED",
          error: { code: expectedCode },
        })),
      });
      expect(run.downloads).toEqual([]);
      expect(run.result).toMatchObject({ allSucceeded: false, stop: null, finishedTasks: creates });
    },
  );

  it("FAILED INTERNAL, then SUCCEEDED on the resubmission within the run", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi()
      .onCreate(task.key, create.created("A1"), create.created("A2"))
      .onGet("A1", get.failed("INTERNAL"))
      .onGet("A2", get.succeeded(outputUrl("A2")));
    const run = await runEngine({ plan, api });
    expect(api.polledIds()).toEqual(["A1", "A2"]);
    expect(typesOf(run.appended)).toEqual([
      "intent#1",
      "created#1",
      "terminal#1",
      "intent#2",
      "created#2",
      "terminal#2",
      "output#2",
    ]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "SUCCEEDED",
      taskId: "A2",
      attempts: 2,
      possiblyChargedTwice: false,
      history: [{ attempt: 1, taskId: "A1", status: "FAILED", error: { code: "INTERNAL", retryable: true } }],
    });
    expect(run.result.allSucceeded).toBe(true);
  });

  it("CANCELLED at the service: recorded, not resubmitted", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi()
      .onCreate(task.key, create.created("A1"))
      .onGet("A1", get.pending(), get.cancelled());
    const run = await runEngine({ plan, api });
    expect(api.createdKeys()).toEqual([task.key]);
    expect(run.appended.at(-1)).toMatchObject({
      t: "terminal",
      taskId: "A1",
      status: "CANCELLED",
      error: null,
      outputs: 0,
    });
    expect(eventsOf(run, "task-finished")).toMatchObject([{ status: "CANCELLED", retrying: false }]);
    expect(manifestOf(run, task)).toMatchObject({ status: "CANCELLED", taskId: "A1", error: null });
    expect(run.result.allSucceeded).toBe(false);
  });

  it("missing, confirmed 3 times: FAILED TASK_MISSING, resubmitted, said as vanished and possibly charged twice", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi()
      .onCreate(task.key, create.created("A1"), create.created("A2"))
      .onGet("A1", get.missing())
      .onGet("A2", get.succeeded(outputUrl("A2")));
    const run = await runEngine({ plan, api });
    expect(api.polledIds()).toEqual(["A1", "A1", "A1", "A2"]);
    expect(recordsOf(run, task).filter((r) => r.t === "terminal")).toMatchObject([
      { attempt: 1, taskId: "A1", status: "FAILED", error: { code: "TASK_MISSING", retryable: true } },
      { attempt: 2, taskId: "A2", status: "SUCCEEDED" },
    ]);
    expect(manifestOf(run, task)).toMatchObject({
      status: "SUCCEEDED",
      attempts: 2,
      possiblyChargedTwice: true,
      history: [
        {
          attempt: 1,
          taskId: "A1",
          status: "FAILED",
          error: { code: "TASK_MISSING", message: "vanished at the provider: submitted again, paid again" },
        },
      ],
    });
  });

  it("missing twice, then found: not given up (no second create)", async () => {
    const plan = planOf(1);
    const [task] = tasksOf(plan) as [TaskPlan];
    const api = new ScriptedApi()
      .onCreate(task.key, create.created("A1"))
      .onGet("A1", get.missing(), get.missing(), get.running(0.9), get.succeeded(outputUrl("A1")));
    const run = await runEngine({ plan, api });
    expect(api.createdKeys()).toEqual([task.key]);
    expect(manifestOf(run, task)).toMatchObject({ status: "SUCCEEDED", taskId: "A1", attempts: 1 });
  });
});

describe("executePlan: stops", () => {
  it("budget: once reserve refuses, submission stops with reason budget and nothing more is created", async () => {
    const plan = planOf(4);
    const tasks = tasksOf(plan);
    const api = new ScriptedApi();
    const budget = budgetFor(2);
    const gated: string[][] = [];
    const run = await runEngine({
      plan,
      api,
      beforeSubmit: async (toSubmit) => {
        gated.push(toSubmit.map((t) => t.key));
        return { budget };
      },
    });
    expect(gated).toEqual([tasks.map((t) => t.key)]);
    expect(api.createdKeys()).toEqual(tasks.slice(0, 2).map((t) => t.key));
    expect(budget.released).toEqual([]);
    const stops = eventsOf(run, "submission-stopped");
    expect(stops).toHaveLength(1);
    expect(stops[0]?.reason).toBe("budget");
    expect(run.result.stop).toEqual({ reason: "budget", message: stops[0]?.message });
    expect(lastIndexOf(run, "createTask")).toBeLessThan(indexOf(run, "event submission-stopped"));
    expect(run.manifest.tasks.map((t) => t.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "NOT_SUBMITTED",
      "NOT_SUBMITTED",
    ]);
    for (const task of tasks.slice(2)) expect(recordsOf(run, task)).toEqual([]);
    expect(run.result.allSucceeded).toBe(false);
  });

  it("moderation: after maxModerationFailures SAFETY failures submission stops, and no create follows", async () => {
    const plan = planOf(4);
    const tasks = tasksOf(plan);
    const api = new ScriptedApi({
      unscriptedTask: () => [get.running(0.4), get.failed("SAFETY.INPUT.IMAGE")],
    });
    const run = await runEngine({ plan, api, options: { maxModerationFailures: 2 } });
    expect(api.createdKeys()).toEqual(tasks.slice(0, 2).map((t) => t.key));
    const message = moderationStopMessage(2, 2);
    expect(eventsOf(run, "submission-stopped")).toEqual([
      { kind: "submission-stopped", reason: "moderation", message },
    ]);
    expect(run.result.stop).toEqual({ reason: "moderation", message });
    expect(lastIndexOf(run, "createTask")).toBeLessThan(indexOf(run, "event submission-stopped"));
    expect(run.manifest.tasks.map((t) => [t.status, t.error?.code ?? null])).toEqual([
      ["FAILED", "SAFETY.INPUT.IMAGE"],
      ["FAILED", "SAFETY.INPUT.IMAGE"],
      ["NOT_SUBMITTED", null],
      ["NOT_SUBMITTED", null],
    ]);
    expect(run.result.allSucceeded).toBe(false);
  });

  it("cancel (second Ctrl-C) while tasks are in flight: each is cancelled once, recorded, CANCELLED in the manifest", async () => {
    const plan = planOf(3);
    const [first, second, third] = tasksOf(plan) as [TaskPlan, TaskPlan, TaskPlan];
    const api = new ScriptedApi()
      .onCreate(first.key, create.created("A1"))
      .onCreate(second.key, create.created("B1"))
      .onGet("A1", get.running(0.1))
      .onGet("B1", get.running(0.1));
    let submitted = 0;
    const run = await runEngine({
      plan,
      api,
      options: { concurrency: 2 },
      // Only the cancel signal: cancelling implies stopping.
      onEvent: (event, { cancel }) => {
        if (event.kind === "task-submitted" && ++submitted === 2) cancel.abort("SIGINT");
      },
    });
    expect(api.createdKeys().toSorted()).toEqual([first.key, second.key].toSorted());
    expect(
      api
        .callsOf("cancelTask")
        .map((call) => call.taskId)
        .toSorted(),
    ).toEqual(["A1", "B1"]);
    expect(
      run.appended
        .filter((r) => r.t === "cancel")
        .map((r) => [r.key, r.attempt, "taskId" in r ? r.taskId : null])
        .toSorted(),
    ).toEqual(
      [
        [first.key, 1, "A1"],
        [second.key, 1, "B1"],
      ].toSorted(),
    );
    expect(
      eventsOf(run, "task-cancelled")
        .map((e) => [e.taskId, e.ok])
        .toSorted(),
    ).toEqual([
      ["A1", true],
      ["B1", true],
    ]);
    expect(run.appended.some((r) => r.t === "terminal")).toBe(false);
    expect(run.manifest.tasks.map((t) => t.status)).toEqual(["CANCELLED", "CANCELLED", "NOT_SUBMITTED"]);
    expect(recordsOf(run, third)).toEqual([]);
    expect(run.result).toMatchObject({
      stop: { reason: "interrupt" },
      cancelHandled: true,
      allSucceeded: false,
    });
  });

  it("cancel not confirmed by the API: nothing recorded for that task, which stays in flight", async () => {
    const plan = planOf(2);
    const [first, second] = tasksOf(plan) as [TaskPlan, TaskPlan];
    const api = new ScriptedApi()
      .onCreate(first.key, create.created("A1"))
      .onCreate(second.key, create.created("B1"))
      .onGet("A1", get.running(0.1))
      .onGet("B1", get.running(0.1))
      .onCancel("B1", { kind: "error", message: "503 on DELETE" });
    let submitted = 0;
    const run = await runEngine({
      plan,
      api,
      options: { concurrency: 2 },
      onEvent: (event, { stop, cancel }) => {
        if (event.kind === "task-submitted" && ++submitted === 2) {
          stop.abort("SIGINT");
          cancel.abort("SIGINT");
        }
      },
    });
    expect(
      api
        .callsOf("cancelTask")
        .map((c) => c.taskId)
        .toSorted(),
    ).toEqual(["A1", "B1"]);
    expect(run.appended.filter((r) => r.t === "cancel").map((r) => r.key)).toEqual([first.key]);
    expect(eventsOf(run, "task-cancelled").find((e) => e.taskId === "B1")).toMatchObject({
      ok: false,
      message: "503 on DELETE",
    });
    expect(manifestOf(run, first).status).toBe("CANCELLED");
    expect(["PENDING", "RUNNING"]).toContain(manifestOf(run, second).status);
  });
});

describe("executePlan: reruns from the journal", () => {
  it("a rerun of a finished job makes zero API calls and hands over equal manifest records", async () => {
    const plan = planOf(4);
    const [ok1, ok2, failed, held] = tasksOf(plan) as [TaskPlan, TaskPlan, TaskPlan, TaskPlan];
    const api = new ScriptedApi()
      .onCreate(failed.key, create.created("F1"))
      .onGet("F1", get.failed("ASSET.INVALID"))
      .onCreate(held.key, create.ambiguous());
    const options = { resubmitAmbiguous: false };
    const first = await runEngine({ plan, api, options });
    expect(first.manifest.tasks.map((t) => t.status)).toEqual([
      "SUCCEEDED",
      "SUCCEEDED",
      "FAILED",
      "AMBIGUOUS",
    ]);
    expect(first.result.appended).toBeGreaterThan(0);

    const again = new ScriptedApi();
    const gated: TaskPlan[][] = [];
    const second = await runEngine({
      plan,
      api: again,
      options,
      startAt: first.endedAt + 86_400_000,
      beforeSubmit: async (tasks) => {
        gated.push(tasks);
        return { budget: null };
      },
    });
    expect(again.calls).toEqual([]);
    expect(second.downloads).toEqual([]);
    expect(second.appended).toEqual([]);
    expect(gated).toEqual([[]]);
    expect(second.manifest).toEqual(first.manifest);
    expect(eventsOf(second, "run-started")).toMatchObject([
      { toSubmit: 0, toPoll: 0, toDownload: 0, skipped: 2, held: 2 },
    ]);
    expect(second.result).toMatchObject({
      stop: null,
      allSucceeded: false,
      alreadyDone: 2,
      fetchedAgain: 0,
      touchedTasks: 0,
      taskGets: 0,
      appended: 0,
    });
    for (const task of [ok1, ok2]) expect(manifestOf(second, task).status).toBe("SUCCEEDED");
  });

  it("after a stop (first Ctrl-C) the tasks stay in flight; the next run polls them at once instead of creating them again", async () => {
    const plan = planOf(2);
    const [first, second] = tasksOf(plan) as [TaskPlan, TaskPlan];
    const api = new ScriptedApi()
      .onCreate(first.key, create.created("A1"))
      .onCreate(second.key, create.created("B1"))
      .onGet("A1", get.running(0.2))
      .onGet("B1", get.running(0.2));
    let submitted = 0;
    const stopped = await runEngine({
      plan,
      api,
      options: { concurrency: 2 },
      onEvent: (event, { stop }) => {
        if (event.kind === "task-submitted" && ++submitted === 2) stop.abort("SIGINT");
      },
    });
    expect(stopped.result.stop?.reason).toBe("interrupt");
    expect(api.callsOf("cancelTask")).toEqual([]);
    expect(stopped.appended.map((r) => r.t).toSorted()).toEqual(["created", "created", "intent", "intent"]);

    const resumedAt = stopped.endedAt + 60_000;
    const again = new ScriptedApi()
      .onGet("A1", get.succeeded(outputUrl("A1")))
      .onGet("B1", get.failed("INTERNAL"));
    const resumed = await runEngine({ plan, api: again, options: { concurrency: 2 }, startAt: resumedAt });
    expect(eventsOf(resumed, "run-started")).toMatchObject([{ toSubmit: 0, toPoll: 2 }]);
    // Polled at once (no policy delay): their state is unknown.
    const firstGets = ["getTask A1", "getTask B1"].map(
      (what) => resumed.timeline.find((e) => e.what === what)?.at,
    );
    expect(firstGets).toEqual([resumedAt, resumedAt]);
    // The resumed B1 failed INTERNAL: resubmitted (attempt 2), counted as the run's second attempt.
    expect(again.createdKeys()).toEqual([second.key]);
    expect(manifestOf(resumed, first)).toMatchObject({ status: "SUCCEEDED", taskId: "A1", attempts: 1 });
    expect(manifestOf(resumed, second)).toMatchObject({
      status: "SUCCEEDED",
      taskId: `${second.key}#1`,
      attempts: 2,
      history: [{ attempt: 1, taskId: "B1", status: "FAILED" }],
    });
    expect(resumed.result).toMatchObject({ stop: null, allSucceeded: true });
  });
});
