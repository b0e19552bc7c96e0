// A run's Ctrl-C and SIGTERM, driven through a fake process port: what each signal does, what it
// prints, and that no handler outlives the run (or is installed at all when the arguments are wrong).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InterruptSignal } from "../../src/cli/interrupts.js";
import type { CliIo, ProcessPort } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { wireRunInterrupts } from "../../src/cli/signal-wiring.js";
import { firstStopSignal } from "../../src/cli/stop-signal.js";
import { loadPlan, type Plan } from "../../src/job/index.js";
import type { RunEvent } from "../../src/run/events.js";

/** A process that only records: its listeners per signal, every listener ever added, its exits. */
class FakeProcess implements ProcessPort {
  readonly listeners = new Map<InterruptSignal, Set<() => void>>();
  installs = 0;
  readonly exits: number[] = [];
  on(signal: InterruptSignal, listener: () => void): void {
    this.installs++;
    const set = this.listeners.get(signal) ?? new Set();
    set.add(listener);
    this.listeners.set(signal, set);
  }
  off(signal: InterruptSignal, listener: () => void): void {
    this.listeners.get(signal)?.delete(listener);
  }
  exit(code: number): void {
    this.exits.push(code);
  }
  send(signal: InterruptSignal): void {
    for (const listener of this.listeners.get(signal) ?? []) listener();
  }
  installed(): number {
    return [...this.listeners.values()].reduce((sum, set) => sum + set.size, 0);
  }
}

function textStream(): { stream: PassThrough; text: () => string } {
  const chunks: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
  return { stream, text: () => chunks.join("") };
}

let dir: string;
let job: string;
let plan: Plan;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "actbatch-signals-"));
  job = join(dir, "job.yaml");
  await writeFile(
    job,
    [
      "version: 1",
      "name: signals",
      "assets:",
      '  hero: { type: image, uri: "https://assets.example.com/hero.png" }',
      '  take: { type: video, uri: "https://assets.example.com/take.mp4" }',
      "pairs:",
      "  - { id: hero-take, character: hero, reference: take }",
      "sweep:",
      "  seed: [1, 2, 3, 4]",
      "",
    ].join("\n"),
  );
  plan = (await loadPlan(job, { outDir: join(dir, "wired"), cwd: dir, env: {} })).plan;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The wiring of one run on a fake process, with a job's engine running and two tasks submitted. */
function wiredRun(keepInstalled = false) {
  const fake = new FakeProcess();
  const stderr = textStream();
  const events: RunEvent[] = [];
  const interrupts = wireRunInterrupts(fake, {
    stderr: stderr.stream,
    report: (event) => events.push(event),
    connectionFlags: ["--simulate"],
    shardFlags: ["--shard", "1/2"],
    keepInstalled,
  });
  interrupts.jobStarted(plan);
  for (const key of ["a", "b"])
    interrupts.emit({
      kind: "task-submitted",
      task: { key, pair: "hero-take", params: {} },
      taskId: key,
      attempt: 1,
    });
  const interruptions = () => events.filter((event) => event.kind === "interrupted");
  return { fake, stderr, interrupts, interruptions };
}

describe("a run's signal wiring on a fake process", () => {
  it("stops gracefully with the hint on a first SIGINT, cancels on the second, exits 130 on the third", () => {
    const { fake, stderr, interrupts, interruptions } = wiredRun();
    expect(fake.installed()).toBe(2);

    fake.send("SIGINT");
    expect(interrupts.stop.aborted).toBe(true);
    expect(interrupts.stop.reason).toBe("SIGINT");
    expect(interrupts.cancel.aborted).toBe(false);
    expect(interruptions()).toEqual([{ kind: "interrupted", signal: "SIGINT", cancelling: false }]);
    expect(stderr.text().split("\n")).toEqual([
      "2 tasks are still rendering at the service (and paid for); their ids are recorded",
      `  to collect them later: actbatch run ${plan.spec.file} --out ${plan.outputDir} --simulate --shard 1/2`,
      `  to cancel them at the API: press Ctrl-C again now, or later: actbatch cancel ${plan.outputDir} --simulate`,
      "",
    ]);

    fake.send("SIGINT");
    expect(interrupts.cancel.aborted).toBe(true);
    expect(interruptions().at(-1)).toEqual({ kind: "interrupted", signal: "SIGINT", cancelling: true });
    expect(fake.exits).toEqual([]);

    fake.send("SIGINT");
    expect(fake.exits).toEqual([130]);
  });

  it("exits 143 on a third SIGTERM, the README's code for SIGTERM", () => {
    const { fake, interrupts } = wiredRun();
    fake.send("SIGTERM");
    expect(interrupts.stop.reason).toBe("SIGTERM");
    fake.send("SIGTERM");
    fake.send("SIGTERM");
    expect(fake.exits).toEqual([143]);
  });

  it("tells a second signal after the job's engine ended that nothing is cancelled", () => {
    const { fake, stderr, interrupts } = wiredRun();
    fake.send("SIGINT");
    interrupts.jobEnded();
    fake.send("SIGINT");
    expect(interrupts.cancel.aborted).toBe(false);
    expect(stderr.text()).toContain(
      "SIGINT again: the job's run has already ended, so nothing is cancelled; tasks still in flight stay resumable",
    );
  });

  it("removes its handlers on dispose, unless the CLI owns the process", () => {
    const embedded = wiredRun();
    embedded.interrupts.dispose();
    expect(embedded.fake.installed()).toBe(0);
    // The binary keeps answering while it exits: a late Ctrl-C must not fall to the default action.
    const owned = wiredRun(true);
    owned.interrupts.dispose();
    expect(owned.fake.installed()).toBe(2);
  });

  it("serving commands resolve with the first stop signal and stop listening", async () => {
    const fake = new FakeProcess();
    const stopped = firstStopSignal(fake);
    fake.send("SIGTERM");
    await expect(stopped).resolves.toBe("SIGTERM");
    expect(fake.installed()).toBe(0);
  });
});

function io(fake: FakeProcess, stderr: PassThrough): CliIo {
  return { stdout: new PassThrough(), stderr, env: {}, cwd: dir, process: fake };
}

describe("actbatch run with a fake process port", () => {
  it("installs no handler when an argument or the job file is wrong", async () => {
    for (const args of [
      ["run", job, "--concurrency", "0"],
      ["run", job, "--progress", "loud"],
      ["run", join(dir, "missing.yaml")],
    ]) {
      const fake = new FakeProcess();
      const stderr = textStream();
      expect(await main(args, io(fake, stderr.stream))).toBe(2);
      expect(fake.installs).toBe(0);
    }
  });

  it("answers three SIGINTs during a run: stop with the hint, cancel, exit 130; then removes its handlers", async () => {
    const fake = new FakeProcess();
    const stderr = textStream();
    // Three Ctrl-Cs in a row as soon as a task is submitted (renders take seconds at the default speed).
    let sent = false;
    stderr.stream.on("data", (chunk: Buffer) => {
      if (sent || !/submitted /.test(chunk.toString("utf8"))) return;
      sent = true;
      for (let i = 0; i < 3; i++) fake.send("SIGINT");
    });
    const out = join(dir, "out-interrupted");
    const code = await main(
      ["run", job, "--simulate", "--out", out, "--progress", "plain"],
      io(fake, stderr.stream),
    );
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(fake.exits).toEqual([130]);
    const text = stderr.text();
    expect(text).toContain("SIGINT: stopping; recording the tasks in flight");
    expect(text).toMatch(/\d+ tasks? (is|are) still rendering at the service/);
    expect(text).toContain(`to collect them later: actbatch run ${job} --out ${out} --simulate`);
    expect(text).toContain("SIGINT again: cancelling the tasks in flight");
    expect(fake.installed()).toBe(0);
  });
});
