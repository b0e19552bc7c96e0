// The simulator of the Act-Two API (DESIGN.md section 6): a real HTTP server on loopback.
import type { AccountSettings } from "./account.js";
import type { SimRequestRecord } from "./exchange.js";
import type { FaultSpec } from "./faults.js";
import { resolveOptions, type SimShape, type SimulatorOptions } from "./options.js";
import { SimServer } from "./server.js";
import type { SimStats } from "./stats.js";
import { loadSimState, SimStateSaver } from "./persisted-state.js";

export type { SimulatorOptions, SimShape, DeleteMode } from "./options.js";
export type { SimStats, SimTaskRecord } from "./stats.js";
export type { AccountSettings } from "./account.js";
export type { SimRequestRecord } from "./exchange.js";
export type { FaultSpec, FaultTable, RequestFault, FaultScope } from "./faults.js";
export type { TaskStatus } from "./tasks.js";
export { parseFaultSpec, FAULT_GRAMMAR } from "./faults.js";
export { DEFAULT_FAILURE_CODES } from "./failure-codes.js";
export { syntheticSha256 } from "./outputs.js";

export interface Simulator {
  /** CometAPI-form base URL: "http://127.0.0.1:PORT/runwayml". */
  baseUrl: string;
  /** Runway-form base URL (always the bare shape): "http://127.0.0.1:PORT". */
  origin: string;
  stats(): SimStats;
  close(): Promise<void>;
  /** Changes the account from now on (credits: the balance left; null: unlimited). */
  setAccount(settings: AccountSettings): void;
  /** Replaces the fault table (undefined: no faults). Task failures apply to tasks created later. */
  setFaults(spec: FaultSpec | undefined): void;
  /** Changes the GET shape of the /runwayml routes. */
  setShape(shape: SimShape): void;
  /** Jumps the simulator clock forward by ms (real milliseconds, already divided by speed). */
  advance(ms: number): void;
  /** Simulator clock, epoch ms (the real clock plus every advance). */
  now(): number;
  /** The most recent requests (requestLogSize of them), oldest first. */
  requestLog(): SimRequestRecord[];
  /** Size and sha256 a complete download of a task's output must have. */
  expectedOutput(taskId: string): { bytes: number; sha256: string } | undefined;
  /** Uploads issued through POST /v1/uploads, and whether their file arrived. */
  uploads(): { runwayUri: string; filename: string; bytes: number; sha256: string; uploaded: boolean }[];
}

/** Starts a simulator and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const server = new SimServer(resolveOptions(options));
  const saver = options.statePath === undefined ? null : await keepState(server, options.statePath);
  await server.listen();
  return {
    baseUrl: `${server.origin}/runwayml`,
    origin: server.origin,
    stats: () => server.stats(),
    close: async () => {
      await server.close();
      await saver?.close();
    },
    setAccount: (settings) => server.setAccount(settings),
    setFaults: (spec) => server.setFaults(spec),
    setShape: (shape) => server.setShape(shape),
    advance: (ms) => server.advance(ms),
    now: () => server.now(),
    requestLog: () => server.requestLog(),
    expectedOutput: (taskId) => server.expectedOutput(taskId),
    uploads: () => server.uploads.list(),
  };
}

/** Restores the tasks saved at `path`, and saves them there after each change. */
async function keepState(server: SimServer, path: string): Promise<SimStateSaver> {
  const state = await loadSimState(path);
  if (state) server.restore(state);
  const saver = new SimStateSaver(path, () => server.persistedState());
  server.onTasksChanged = () => saver.request();
  return saver;
}
