// `actbatch simulate` as a user runs it: the built CLI in its own process.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { binPath, repoRoot, runCli } from "../helpers/cli.js";
import { create, getTask, startTestSimulator } from "./helpers.js";

describe("actbatch simulate", () => {
  it("prints its URL as soon as it listens and the time scale a run elsewhere needs, serves the API, and stops cleanly on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [binPath, "simulate", "--port", "0", "--speed", "100", "--shape", "wrapped"],
      {
        cwd: repoRoot,
        env: { ...process.env, ACTBATCH_SIM_API_KEY: "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const match = /^actbatch simulator listening on (http:\/\/127\.0\.0\.1:\d+\/runwayml)$/.exec(line);
      expect(match).not.toBeNull();
      const baseUrl = match?.[1] ?? "";
      const id = await create(baseUrl);
      await new Promise((resolve) => setTimeout(resolve, 40));
      const answer = await getTask(baseUrl, id);
      expect(answer.body).toMatchObject({ code: "success", data: { task_id: id } });
      const stats = (await (await fetch(baseUrl.replace(/\/runwayml$/, "/__sim/stats"))).json()) as {
        creates: number;
      };
      expect(stats.creates).toBe(1);
      child.kill("SIGTERM");
      // "close", not "exit": stderr is read to its end.
      const [code] = (await once(child, "close")) as [number | null];
      expect(code).toBe(0);
      // The banner says how a run in another process keeps pace with --speed 100.
      expect(stderr).toContain("a run in another process matches it with ACTBATCH_TIME_SCALE=100");
      expect(stderr).toContain(
        `ACTBATCH_TIME_SCALE=100 COMETAPI_KEY=any actbatch run JOB.yaml --base-url ${baseUrl}\n`,
      );
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("rejects a bad flag value with its usage and exit code 2", async () => {
    const result = await runCli(["simulate", "--shape", "round"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--shape expects bare, wrapped or mixed, got "round"');
    expect(result.stderr).toContain('Run "actbatch simulate --help"');
    const faults = await runCli(["simulate", "--faults", "teapot=1"]);
    expect(faults.code).toBe(2);
    expect(faults.stderr).toContain('invalid fault spec: unknown fault "teapot"');
    const remote = await runCli(["simulate", "--host", "0.0.0.0"]);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain("loopback");
  });

  it("says so when the port is taken", async () => {
    const sim = await startTestSimulator();
    try {
      const result = await runCli(["simulate", "--port", new URL(sim.origin).port]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      await sim.close();
    }
  });

  it("prints its help", async () => {
    const result = await runCli(["simulate", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--faults SPEC");
  });
});
