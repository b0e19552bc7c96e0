import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fsyncDirectory } from "../../src/fs/durable.js";
import {
  atomicTempPath,
  isAtomicTempName,
  removeAtomicLeftovers,
  writeFileAtomic,
} from "../../src/fs/atomic-write.js";
import { withTempDir } from "../helpers/manifest-fixtures.js";
import { runNode } from "../helpers/node-child.js";

describe("writeFileAtomic", () => {
  it("creates the file, then replaces it, leaving no temporary file behind", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "state.json");
      await writeFileAtomic(target, "first\n");
      expect(await readFile(target, "utf8")).toBe("first\n");
      await writeFileAtomic(target, new TextEncoder().encode("second\n"));
      expect(await readFile(target, "utf8")).toBe("second\n");
      expect(await readdir(dir)).toEqual(["state.json"]);
    });
  });

  it("removes its temporary file and keeps the old content when the rename fails", async () => {
    await withTempDir(async (dir) => {
      // A non-empty directory at the target path makes rename fail after the data is written.
      const target = join(dir, "blocked");
      await mkdir(target);
      await writeFile(join(target, "inside"), "x");
      await expect(writeFileAtomic(target, "data")).rejects.toMatchObject({
        code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
      });
      expect((await readdir(dir)).toSorted()).toEqual(["blocked"]);
    });
  });

  it("fails cleanly when the directory does not exist", async () => {
    await withTempDir(async (dir) => {
      await expect(writeFileAtomic(join(dir, "missing", "f.json"), "data")).rejects.toMatchObject({
        code: "ENOENT",
      });
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it("never shows a reader a partial file while it replaces it over and over", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "big.bin");
      const size = 512 * 1024;
      const versions = ["a", "b"].map((letter) => letter.repeat(size));
      await writeFileAtomic(target, versions[0] as string);
      const progress = { writing: true };
      const writer = (async () => {
        for (let round = 0; round < 30; round += 1)
          await writeFileAtomic(target, versions[round % 2] as string);
        progress.writing = false;
      })();
      let reads = 0;
      while (progress.writing) {
        const seen = await readFile(target, "utf8");
        reads += 1;
        expect(seen.length).toBe(size);
        expect(seen === versions[0] || seen === versions[1]).toBe(true);
      }
      await writer;
      expect(reads).toBeGreaterThan(0);
    });
  });

  it("leaves the old file intact when the process is killed half-way through the write", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "manifest.json");
      await writeFile(target, "old content\n");
      const result = await runNode(
        `const { writeFileAtomic } = await import(dist + "fs/atomic-write.js");
         await writeFileAtomic(${JSON.stringify(target)}, "N".repeat(10000), { crashPointName: "mid-manifest" });
         console.log("not killed");`,
        { ACTBATCH_CRASH_AT: "mid-manifest" },
      );
      expect(result.signal).toBe("SIGKILL");
      expect(result.stdout).not.toContain("not killed");
      expect(await readFile(target, "utf8")).toBe("old content\n");
      // The half-written data is in a hidden temporary file, never at the final path.
      const leftovers = (await readdir(dir)).filter((name) => name !== "manifest.json");
      expect(leftovers).toHaveLength(1);
      expect(isAtomicTempName(leftovers[0] as string, "manifest.json")).toBe(true);
      expect((await readFile(join(dir, leftovers[0] as string), "utf8")).length).toBe(5000);
    });
  });

  it("does not crash at a point other than the one named in ACTBATCH_CRASH_AT", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "f.json");
      const result = await runNode(
        `const { writeFileAtomic } = await import(dist + "fs/atomic-write.js");
         await writeFileAtomic(${JSON.stringify(target)}, "done", { crashPointName: "mid-manifest" });
         console.log("written");`,
        { ACTBATCH_CRASH_AT: "before-rename" },
      );
      expect(result.stdout).toContain("written");
      expect(await readFile(target, "utf8")).toBe("done");
    });
  });
});

describe("removeAtomicLeftovers", () => {
  it("removes temporary files of dead writers and keeps live writers' and unrelated files", async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, "manifest.json");
      const deadPid = await exitedPid();
      const dead = `.manifest.json.${deadPid}.0123456789ab.tmp`;
      // pid 1 always exists.
      const live = `.manifest.json.1.0123456789ab.tmp`;
      const other = `.other.json.${deadPid}.0123456789ab.tmp`;
      for (const name of [dead, live, other, "manifest.json", "notes.txt"])
        await writeFile(join(dir, name), "x");
      expect(await removeAtomicLeftovers(target)).toEqual([dead]);
      expect((await readdir(dir)).toSorted()).toEqual([live, other, "manifest.json", "notes.txt"].toSorted());
    });
  });

  it("names temporary files so that they are recognised, and only those", () => {
    const temp = atomicTempPath("/x/manifest.json");
    expect(isAtomicTempName(temp.slice("/x/".length), "manifest.json")).toBe(true);
    expect(isAtomicTempName("manifest.json", "manifest.json")).toBe(false);
    expect(isAtomicTempName(".manifest.json.12.zz.tmp", "manifest.json")).toBe(false);
    expect(atomicTempPath("/x/manifest.json")).not.toBe(temp);
  });
});

describe("fsyncDirectory", () => {
  it("syncs an existing directory and reports a missing one", async () => {
    await withTempDir(async (dir) => {
      await expect(fsyncDirectory(dir)).resolves.toBeUndefined();
      await expect(fsyncDirectory(join(dir, "nope"))).rejects.toMatchObject({ code: "ENOENT" });
    });
  });
});

/** The pid of a process that has exited (not reused within the test's lifetime in practice). */
function exitedPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid as number));
  });
}
