import { hostname } from "node:os";
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { lockPath } from "../../src/journal/paths.js";
import { acquireRunLock, parseLockInfo } from "../../src/run/lock.js";
import { startNode, type RunningChild } from "../helpers/node-child.js";
import { withTempDir } from "../helpers/manifest-fixtures.js";

/** A child process that takes the lock of `dir` and holds it until killed (or exits at once). */
function lockingChild(dir: string, then: "hold" | "exit" = "hold"): RunningChild {
  return startNode(`
    const { acquireRunLock } = await import(dist + "run/lock.js");
    try {
      const lock = await acquireRunLock(${JSON.stringify(dir)}, { command: "run jobs/hero.yaml" });
      console.log("won " + (lock.note ?? ""));
      if (${JSON.stringify(then)} === "exit") process.exit(0);
      setInterval(() => {}, 1000);
    } catch (error) {
      console.log("lost " + error.message + " | " + error.exitCode);
    }`);
}

async function outcome(child: RunningChild): Promise<string> {
  return Promise.race([child.waitFor("won"), child.waitFor("lost")]);
}

function rejection(promise: Promise<unknown>): Promise<UserError> {
  return promise.then(
    () => {
      throw new Error("expected the lock to be refused");
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(UserError);
      return error as UserError;
    },
  );
}

describe("acquireRunLock", () => {
  it("writes who holds the lock and removes it on release", async () => {
    await withTempDir(async (dir) => {
      const lock = await acquireRunLock(dir, { command: "run jobs/hero.yaml" });
      expect(lock.path).toBe(join(dir, ".actbatch", "lock"));
      expect(lock.replaced).toBeNull();
      expect(lock.note).toBeNull();
      const info = parseLockInfo(await readFile(lock.path, "utf8"));
      expect(info).toMatchObject({ pid: process.pid, hostname: hostname(), command: "run jobs/hero.yaml" });
      expect(Number.isNaN(Date.parse(info?.startedAt ?? ""))).toBe(false);
      await lock.release();
      expect(await readdir(join(dir, ".actbatch"))).toEqual([]);
      // Released means free: it can be taken again.
      await (await acquireRunLock(dir)).release();
    });
  });

  it("refuses a second lock in the same process", async () => {
    await withTempDir(async (dir) => {
      const lock = await acquireRunLock(dir);
      const error = await rejection(acquireRunLock(dir));
      expect(error.message).toContain(`pid ${process.pid}`);
      await lock.release();
    });
  });

  it("refuses a folder locked by another live process, naming it, with exit code 2 and a hint", async () => {
    await withTempDir(async (dir) => {
      const holder = lockingChild(dir);
      try {
        await holder.waitFor("won");
        const error = await rejection(acquireRunLock(dir));
        expect(error.exitCode).toBe(2);
        expect(error.message).toMatch(
          new RegExp(
            `^another actbatch run \\(pid ${holder.pid}, started \\d{4}-.+, "run jobs/hero.yaml"\\) is using ${dir}$`,
          ),
        );
        expect(error.hint).toContain(`kill ${holder.pid}`);
        // The refused attempt leaves the holder's lock exactly as it was.
        expect(parseLockInfo(await readFile(lockPath(dir), "utf8"))?.pid).toBe(holder.pid);
      } finally {
        holder.kill();
        await holder.done;
      }
    });
  });

  it("takes over the lock of a process killed with SIGKILL, with a note", async () => {
    await withTempDir(async (dir) => {
      const holder = lockingChild(dir);
      await holder.waitFor("won");
      holder.kill("SIGKILL");
      await holder.done;
      const lock = await acquireRunLock(dir);
      expect(lock.replaced?.pid).toBe(holder.pid);
      expect(lock.note).toMatch(new RegExp(`earlier run .* no longer running \\(pid ${holder.pid}`));
      expect(parseLockInfo(await readFile(lock.path, "utf8"))?.pid).toBe(process.pid);
      await lock.release();
    });
  });

  it("is released when the holding process exits without releasing it", async () => {
    await withTempDir(async (dir) => {
      const holder = lockingChild(dir, "exit");
      await holder.waitFor("won");
      expect((await holder.done).code).toBe(0);
      expect(await readdir(join(dir, ".actbatch"))).toEqual([]);
    });
  });

  it("lets exactly one of several processes starting together have the lock", async () => {
    await withTempDir(async (dir) => {
      const children = Array.from({ length: 4 }, () => lockingChild(dir));
      try {
        const outcomes = await Promise.all(children.map(outcome));
        expect(outcomes.filter((line) => line.startsWith("won"))).toHaveLength(1);
        for (const line of outcomes.filter((candidate) => candidate.startsWith("lost")))
          expect(line).toMatch(/^lost another actbatch run \(pid \d+, .*\| 2$/);
      } finally {
        for (const child of children) child.kill();
        await Promise.all(children.map((child) => child.done));
      }
    });
  });

  it("lets exactly one of several processes take over the same stale lock", async () => {
    await withTempDir(async (dir) => {
      await plantLock(dir, { pid: await exitedPid(), hostname: hostname() });
      const children = Array.from({ length: 4 }, () => lockingChild(dir));
      try {
        const outcomes = await Promise.all(children.map(outcome));
        const winners = outcomes.filter((line) => line.startsWith("won"));
        expect(winners).toHaveLength(1);
        expect(winners[0]).toContain("took over the lock of an earlier run");
      } finally {
        for (const child of children) child.kill();
        await Promise.all(children.map((child) => child.done));
      }
    });
  });

  it("never takes over a lock held on another host", async () => {
    await withTempDir(async (dir) => {
      await plantLock(dir, { pid: await exitedPid(), hostname: "build-agent-7" });
      const error = await rejection(acquireRunLock(dir));
      expect(error.message).toMatch(/another actbatch run \(pid \d+ on host build-agent-7, started/);
      expect(error.hint).toContain(lockPath(dir));
    });
  });

  it("treats a lock carrying this process's pid (a reused pid after a crash) as stale", async () => {
    await withTempDir(async (dir) => {
      await plantLock(dir, { pid: process.pid, hostname: hostname() });
      const lock = await acquireRunLock(dir);
      expect(lock.replaced?.pid).toBe(process.pid);
      await lock.release();
    });
  });

  it("replaces an unreadable lock file only once it is old", async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, ".actbatch"), { recursive: true });
      await writeFile(lockPath(dir), "{ garbage");
      expect((await rejection(acquireRunLock(dir))).message).toMatch(/is not complete yet/);
      const old = new Date(Date.now() - 60_000);
      await utimes(lockPath(dir), old, old);
      const lock = await acquireRunLock(dir);
      expect(lock.note).toMatch(/unreadable lock file/);
      await lock.release();
    });
  });

  it("release never deletes a lock that another run has taken since", async () => {
    await withTempDir(async (dir) => {
      const lock = await acquireRunLock(dir);
      await plantLock(dir, { pid: 1, hostname: hostname() });
      await lock.release();
      expect(parseLockInfo(await readFile(lockPath(dir), "utf8"))?.pid).toBe(1);
    });
  });
});

async function plantLock(dir: string, who: { pid: number; hostname: string }): Promise<void> {
  await mkdir(join(dir, ".actbatch"), { recursive: true });
  const info = {
    ...who,
    startedAt: "2026-01-01T00:00:00.000Z",
    command: "run jobs/old.yaml",
    token: "feedfacecafebeef",
  };
  await writeFile(lockPath(dir), JSON.stringify(info));
}

function exitedPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid as number));
  });
}
