// Starts the simulator (with its journal-checking proxy) in a process of its own and talks to it over
// IPC. Needs dist/ (npm test builds it first).
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { SimRequestRecord, SimStats } from "../../../src/sim/index.js";
import type {
  CannedAnswer,
  EchoMode,
  HostOptions,
  HostUrls,
  IntentCheck,
  ProxyRecord,
} from "./host-protocol.js";

const HOST_SCRIPT = fileURLToPath(new URL("./sim-host.ts", import.meta.url));
const BUILT_SIMULATOR = fileURLToPath(new URL("../../../dist/sim/index.js", import.meta.url));

export interface SimProcess extends HostUrls {
  pid: number;
  stats(): Promise<SimStats>;
  /** Every request the simulator saw (API requests through the proxy, and downloads). */
  simLog(): Promise<SimRequestRecord[]>;
  /** Every API request the proxy forwarded or answered itself. */
  proxyLog(): Promise<ProxyRecord[]>;
  intentChecks(): Promise<IntentCheck[]>;
  /** Size and sha256 the simulator serves for each task id (null for an unknown id). */
  expectedOutputs(ids: readonly string[]): Promise<Map<string, { bytes: number; sha256: string } | null>>;
  setFaults(spec: string | null): Promise<void>;
  setAccount(settings: { credits?: number | null; dailyLimit?: number | null }): Promise<void>;
  setJournalDir(dir: string): Promise<void>;
  setEcho(mode: EchoMode | null): Promise<void>;
  setFirstCreate(answer: CannedAnswer | CannedAnswer[] | null): Promise<void>;
  close(): Promise<void>;
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export async function startSimProcess(options: HostOptions): Promise<SimProcess> {
  // The host and the CLI under test both run from dist/: `npm test` builds it first.
  if (!existsSync(BUILT_SIMULATOR))
    throw new Error(`the reliability suites run the built CLI and simulator: run "npm run build" first`);
  const child: ChildProcess = fork(HOST_SCRIPT, [JSON.stringify(options)], {
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const ready = new Promise<HostUrls>((resolve, reject) => {
    pending.set(0, { resolve: (value) => resolve(value as HostUrls), reject });
  });
  child.on("message", (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(new Error(`simulator host: ${message.error}`));
  });
  child.on("exit", (code, signal) => {
    exited = true;
    for (const waiter of pending.values())
      waiter.reject(new Error(`simulator host exited (${signal ?? code})`));
    pending.clear();
  });

  const call = <T>(op: string, arg?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) {
        reject(new Error("simulator host is not running"));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve: (value) => resolve(value as T), reject });
      child.send({ id, op, arg });
    });

  const urls = await ready;
  return {
    ...urls,
    pid: child.pid ?? 0,
    stats: () => call<SimStats>("stats"),
    simLog: () => call<SimRequestRecord[]>("simLog"),
    proxyLog: () => call<ProxyRecord[]>("proxyLog"),
    intentChecks: () => call<IntentCheck[]>("intentChecks"),
    expectedOutputs: async (ids) => {
      const table = await call<Record<string, { bytes: number; sha256: string } | null>>("expectedOutputs", [
        ...ids,
      ]);
      return new Map(Object.entries(table));
    },
    setFaults: (spec) => call<void>("setFaults", spec),
    setAccount: (settings) => call<void>("setAccount", settings),
    setJournalDir: (dir) => call<void>("setJournalDir", dir),
    setEcho: (mode) => call<void>("setEcho", mode),
    setFirstCreate: (answer) => call<void>("setFirstCreate", answer),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      await call<void>("close").catch(() => undefined);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
