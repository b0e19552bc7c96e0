// Properties 1-3 and 6 of the guarantees, under SIGKILL: a job run, killed at random moments (the
// black-box killer) and at each named crash point (the white-box one), and rerun until it is done.
//   1. at most one paid task per key, except keys the runner itself reports as possibly charged twice
//   2. no paid task is lost: every task id the simulator created is in the final manifest
//   3. the intent is durable before the POST leaves: the proxy in front of the simulator finds it in
//      the journal on disk on every create
//   6. (in part) after every kill, manifest.json is absent, or the old or new one, never torn; every
//      file at a final path is complete
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CRASH_POINTS } from "../../src/crash-points.js";
import { readManifest } from "../../src/manifest/manifest.js";
import { parseJournal } from "../../src/journal/writer.js";
import { formatViolations } from "./invariants.js";
import { inspectAfterKill } from "./harness/after-kill.js";
import { count, figures, FULL, prng, replayHint, seedFor, uniform } from "./harness/mode.js";
import { describeOutcome, type RunOutcome } from "./harness/runner.js";
import { createScenario, jobYaml, type JobShape, type Scenario } from "./harness/workspace.js";

const SPEED = 50;

type Kill = { kind: "random"; delayMs: number } | { kind: "point"; point: string };

describe("crashes: SIGKILL at random moments and at every named crash point, then rerun to the end", () => {
  const seed = seedFor("crash");
  const random = prng(seed);
  const randomKills = count(6, 50);
  let scenario: Scenario;
  // 200 tasks in full mode, 40 in quick mode.
  const shape: JobShape = FULL ? { pairs: 4, seeds: 10 } : { pairs: 2, seeds: 4 };

  beforeAll(async () => {
    scenario = await createScenario({
      job: shape,
      speed: SPEED,
      concurrency: FULL ? 20 : 10,
      host: { sim: { seed, outputBytes: 48 * 1024, concurrency: FULL ? 20 : 10 } },
    });
  });
  afterAll(async () => {
    await scenario?.close();
  });

  it(
    "pays at most once per key (ambiguous ones flagged), loses no paid task, and journals every intent before its POST",
    async () => {
      // The schedule: random kills, with each named crash point slotted in at a random place.
      const schedule: Kill[] = Array.from({ length: randomKills }, () => ({
        kind: "random",
        delayMs: Math.round(uniform(random, 150, FULL ? 2500 : 1800)),
      }));
      // Named points go first, in the order a task passes them (a random pass of each), while the
      // work they need is still ahead: a create-phase point after a run that finished every create
      // would never be reached.
      schedule.unshift(
        ...CRASH_POINTS.map((point): Kill => ({
          kind: "point",
          point: `${point}@${1 + Math.floor(random() * 3)}`,
        })),
      );
      // When a point still finds no work left (the job finished first), the job grows by one seed:
      // new keys to create, render and download, the old keys unchanged.
      let seeds = shape.seeds;
      const growJob = async (): Promise<void> => {
        seeds++;
        await writeFile(scenario.jobFile, jobYaml({ ...shape, seeds }));
      };

      const log: string[] = [];
      const afterKillProblems: string[] = [];
      const unexpectedExits: string[] = [];
      let randomKilled = 0;
      const pointsKilled = new Set<string>();
      let finished: RunOutcome | null = null;
      const pointRetries = new Map<string, number>();
      for (let index = 0; index < schedule.length; index++) {
        const kill = schedule[index] as Kill;
        const outcome =
          kill.kind === "random"
            ? await scenario.run({ killAfterMs: kill.delayMs })
            : await scenario.run({ crashAt: kill.point });
        const label =
          kill.kind === "random" ? `random kill after ${kill.delayMs} ms` : `crash at ${kill.point}`;
        log.push(`#${index + 1} ${label}: ${describeOutcome(outcome)}`);
        if (outcome.hung) throw new Error(`run hung\n${log.join("\n")}\n${replayHint()}`);
        if (outcome.signal === "SIGKILL") {
          if (kill.kind === "random") randomKilled++;
          else pointsKilled.add(kill.point.split("@")[0] ?? kill.point);
          const state = await inspectAfterKill(scenario.outDir, scenario.sim);
          for (const problem of state.problems)
            afterKillProblems.push(`after #${index + 1} (${label}): ${problem}`);
        } else if (kill.kind === "point" && (outcome.code === 0 || outcome.code === 1)) {
          // The run ended before passing the point as often as asked: hit its first pass next, with
          // fresh work when this run finished the job.
          const point = kill.point.split("@")[0] ?? kill.point;
          const retries = (pointRetries.get(point) ?? 0) + 1;
          pointRetries.set(point, retries);
          if (retries > 3) throw new Error(`crash point ${point} never reached\n${log.join("\n")}`);
          if (outcome.code === 0) {
            await growJob();
            log.push(`(job grown to ${seeds} seeds, for ${point})`);
          }
          schedule.splice(index + 1, 0, { kind: "point", point: `${point}@1` });
        } else if (outcome.code === 0) {
          finished = outcome;
          // The job is done: later kills would only hit no-op reruns.
          break;
        } else if (outcome.code !== 1) {
          unexpectedExits.push(
            `run #${index + 1} (${label}): ${describeOutcome(outcome)}\n${outcome.stderr.slice(-2000)}`,
          );
        }
      }
      // Rerun, unkilled, until the job is done.
      for (let rerun = 0; finished === null && rerun < 5; rerun++) {
        const outcome = await scenario.run();
        log.push(`final run ${rerun + 1}: ${describeOutcome(outcome)}`);
        if (outcome.code === 0) finished = outcome;
      }
      const requestsBefore = (await scenario.sim.proxyLog()).length;
      const noop = await scenario.run();
      log.push(`no-op rerun: ${describeOutcome(noop)}`);

      const context = `${log.join("\n")}\nseed ${seed}; ${replayHint("crash.test.ts")}`;
      expect(
        finished,
        `the job never finished\n${context}\n${scenario.runs.at(-1)?.stderr.slice(-3000)}`,
      ).not.toBeNull();
      expect(noop.code, `${context}`).toBe(0);

      const stats = await scenario.sim.stats();
      const violations = await scenario.check();
      expect(formatViolations(violations), `${context}`).toBe("");
      expect(afterKillProblems.join("\n"), `${context}`).toBe("");
      expect(unexpectedExits.join("\n"), `${context}`).toBe("");

      // Property 1 figures: keys created more than once, and whether each is flagged.
      const manifest = await readManifest(scenario.outDir);
      const keys = manifest.tasks.length;
      const duplicated = Object.values(stats.createsByKey).filter((creates) => creates > 1).length;
      const extraCreates = stats.creates - Object.keys(stats.createsByKey).length;
      const flagged = manifest.tasks.filter((task) => task.possiblyChargedTwice).length;
      expect(manifest.summary.succeeded, `${context}`).toBe(keys);

      // Property 3: every create found its intent on disk.
      const checks = await scenario.sim.intentChecks();
      const missing = checks.filter((check) => !check.found);
      expect(missing.map((check) => `${check.key}: ${check.detail}`).join("\n"), `${context}`).toBe("");

      // The no-op rerun made no API call at all.
      expect((await scenario.sim.proxyLog()).length - requestsBefore, `${context}`).toBe(0);

      const kills = randomKilled + pointsKilled.size;
      figures(
        "property 1 (at most one paid task per key under kill -9)",
        `${kills} kills (${randomKilled} random, ${pointsKilled.size} of ${CRASH_POINTS.length} named crash points: ${[...pointsKilled].join(", ")}), ${scenario.runs.length} runs, ${keys} keys, ${stats.creates} creates, ${duplicated} keys created more than once (${extraCreates} extra creates), all flagged possibly charged twice (${flagged} keys flagged in all, counting kills before the POST left), 0 unflagged duplicates`,
      );
      figures(
        "property 2 (no paid task lost)",
        `${stats.tasks.length} tasks in the simulator's ledger, ${stats.tasks.length} accounted for in the final manifest (0 lost), ${manifest.summary.succeeded}/${keys} keys SUCCEEDED with verified files`,
      );
      figures(
        "property 3 (intent durable before the POST)",
        `${checks.length} creates checked against the journal on disk, ${missing.length} without their intent`,
      );
      figures(
        "property 6 (manifest never torn, final files never partial, after each kill)",
        `${kills} kills inspected, ${afterKillProblems.length} problems`,
      );
      expect(pointsKilled.size, `named crash points reached\n${context}`).toBe(CRASH_POINTS.length);
    },
    FULL ? 900_000 : 120_000,
  );

  it("afterwards, `status --verify` names a file edited after the run, and a plain rerun repairs it without a new render", async () => {
    const manifest = await readManifest(scenario.outDir);
    const victim = manifest.tasks.find((task) => task.outputs.length > 0)?.outputs[0];
    if (!victim) throw new Error("the crash run left no output to edit");
    await appendFile(join(scenario.outDir, victim.file), "edited");
    const status = await scenario.run({ args: ["status", "out", "--verify"] });
    expect(status.code, `${status.stdout}${status.stderr}`).toBe(1);
    expect(status.stdout + status.stderr).toContain(victim.file);
    const creates = (await scenario.sim.stats()).creates;
    const rerun = await scenario.run();
    expect(rerun.code, `${rerun.stderr.slice(-1500)}`).toBe(0);
    expect((await scenario.sim.stats()).creates).toBe(creates);
    expect(formatViolations(await scenario.check())).toBe("");
    // The advice is the plain rerun just shown (it downloads the file again for free), not --force
    // (which re-renders and pays for every task of the job).
    expect(status.stdout + status.stderr).not.toMatch(/--force/);
  });

  it("the journal it left survives a torn tail at every byte of its last record; a damaged middle record stops the next run", async () => {
    const path = join(scenario.outDir, ".actbatch", "journal.ndjson");
    const bytes = await readFile(path);
    const whole = parseJournal(bytes);
    expect(whole.tornTail).toBe(false);
    const lastStart = bytes.subarray(0, bytes.length - 1).lastIndexOf(0x0a) + 1;
    let repaired = 0;
    for (let cut = lastStart; cut < bytes.length - 1; cut++) {
      const torn = parseJournal(bytes.subarray(0, cut));
      expect(torn.records.length).toBe(whole.records.length - 1);
      expect(torn.tornTail || cut === lastStart).toBe(true);
      repaired++;
    }
    // One flipped character in a middle record: an error naming the line, not silently fewer tasks.
    const middle = Math.floor(lastStart / 2);
    const damaged = Buffer.from(bytes);
    damaged[middle] = damaged[middle] === 0x41 ? 0x42 : 0x41;
    expect(() => parseJournal(damaged)).toThrow(/journal line \d+: damaged record in the middle/);
    await writeFile(path, damaged);
    const before = (await scenario.sim.proxyLog()).length;
    const refused = await scenario.run();
    expect(refused.code, `${refused.stderr}`).toBe(1);
    expect(refused.stderr).toMatch(/journal .* is damaged \(journal line \d+/);
    expect((await scenario.sim.proxyLog()).length - before).toBe(0);
    await writeFile(path, bytes);
    figures(
      "property 7 (journal torn tail)",
      `a journal of ${whole.records.length} records cut at each of the ${repaired} byte offsets of its last record: ${whole.records.length - 1} records loaded every time; a damaged middle record: refused with its line number, 0 requests`,
    );
  });
});

describe("crashes with --no-resubmit-ambiguous: never a second create for any key", () => {
  const seed = seedFor("crash-hold");
  const random = prng(seed);
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await createScenario({
      job: FULL ? { pairs: 2, seeds: 10 } : { pairs: 1, seeds: 4 },
      speed: SPEED,
      concurrency: 10,
      host: { sim: { seed, outputBytes: 8 * 1024, concurrency: 10 } },
    });
  });
  afterAll(async () => {
    await scenario?.close();
  });

  it(
    "holds every ambiguous key instead of paying twice, and reports each one",
    async () => {
      const hold = ["--no-resubmit-ambiguous"];
      const kills: Kill[] = [
        { kind: "point", point: "after-create-response@2" },
        { kind: "point", point: "after-intent@1" },
        ...Array.from({ length: count(3, 20) }, (): Kill => ({
          kind: "random",
          delayMs: Math.round(uniform(random, 150, 1800)),
        })),
      ];
      const log: string[] = [];
      let killed = 0;
      for (const kill of kills) {
        const outcome =
          kill.kind === "random"
            ? await scenario.run({ killAfterMs: kill.delayMs, extraArgs: hold })
            : await scenario.run({ crashAt: kill.point, extraArgs: hold });
        log.push(
          `${kill.kind === "random" ? `kill after ${kill.delayMs} ms` : kill.point}: ${describeOutcome(outcome)}`,
        );
        if (outcome.signal === "SIGKILL") killed++;
        else break;
      }
      const final = await scenario.run({ extraArgs: hold });
      log.push(`final: ${describeOutcome(final)}`);
      const context = `${log.join("\n")}\nseed ${seed}; ${replayHint("crash.test.ts")}`;
      const manifest = await readManifest(scenario.outDir);
      const held = manifest.tasks.filter((task) => task.status === "AMBIGUOUS");
      expect(final.code, `${context}\n${final.stderr.slice(-1500)}`).toBe(held.length > 0 ? 1 : 0);
      expect(manifest.summary.succeeded + held.length, `${context}`).toBe(manifest.tasks.length);

      const stats = await scenario.sim.stats();
      const twice = Object.entries(stats.createsByKey).filter(([, creates]) => creates > 1);
      expect(twice, `${context}`).toEqual([]);
      expect(formatViolations(await scenario.check()), `${context}`).toBe("");
      // A held key the service did create is a paid task without a known id: it must still be counted.
      const heldButCreated = held.filter((task) => (stats.createsByKey[task.key] ?? 0) > 0);
      for (const task of heldButCreated) expect(task.attempts).toBeGreaterThanOrEqual(1);
      figures(
        "property 1 (with --no-resubmit-ambiguous)",
        `${killed} kills, ${manifest.tasks.length} keys, ${stats.creates} creates, 0 keys created twice; ${held.length} keys held as AMBIGUOUS and reported (${heldButCreated.length} of them were in fact created by the service, ${held.length - heldButCreated.length} never left), ${manifest.summary.succeeded} SUCCEEDED`,
      );
    },
    FULL ? 600_000 : 90_000,
  );
});
