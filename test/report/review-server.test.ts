// `actbatch review`'s server as a client sees it: what it serves, what it refuses, what it writes.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFile, cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { readManifest } from "../../src/manifest/manifest.js";
import type { Manifest } from "../../src/manifest/types.js";
import { openReview, type OpenedReview } from "../../src/report/review/session.js";
import { binPath, repoRoot, runCli } from "../helpers/cli.js";
import {
  renderDemo,
  renderWithLocalReference,
  type LocalReferenceFolder,
} from "../helpers/review-folders.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One raw request: the path goes on the wire as written (no normalising), headers as given. */
function call(
  url: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port: Number(port),
        path,
        method: options.method ?? "GET",
        headers: options.headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    outgoing.on("error", reject);
    outgoing.end(options.body);
  });
}

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).toSorted();
}

let out: string;
let manifest: Manifest;
let review: OpenedReview;

beforeAll(async () => {
  out = join(await mkdtemp(join(tmpdir(), "actbatch-serve-")), "out");
  await renderDemo([], out);
  manifest = await readManifest(out);
  review = await openReview({ target: out, cwd: repoRoot, env: {} });
}, 60_000);

afterAll(async () => {
  await review?.close();
});

describe("the review server serves", () => {
  it("its page, with the decisions route and the folder's files by route only", async () => {
    const page = await call(review.url, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(String(page.headers["content-security-policy"])).toContain("frame-ancestors 'none'");
    const html = page.body.toString("utf8");
    expect(html.match(/class="cell[ "]/g)).toHaveLength(12);
    expect(html).toContain(`data-src="/files/${manifest.tasks[0]!.outputs[0]!.file}"`);
  });

  it("an output whole and by byte range, as a video element asks for it", async () => {
    const file = manifest.tasks[0]!.outputs[0]!.file;
    const bytes = await readFile(join(out, file));
    const whole = await call(review.url, `/files/${file}`);
    expect(whole.status).toBe(200);
    expect(whole.headers["content-type"]).toBe("video/mp4");
    expect(whole.body.equals(bytes)).toBe(true);
    const part = await call(review.url, `/files/${file}`, { headers: { Range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe(`bytes 100-199/${bytes.length}`);
    expect(part.body.equals(bytes.subarray(100, 200))).toBe(true);
    expect(
      (await call(review.url, `/files/${file}`, { headers: { Range: `bytes=${bytes.length}-` } })).status,
    ).toBe(416);
  });
});

describe("the review server refuses", () => {
  it("every path but its own routes: traversal, the manifest, the folder's own state", async () => {
    const secret = (await readFile(join(out, "manifest.json"), "utf8")).slice(0, 40);
    const file = manifest.tasks[0]!.outputs[0]!.file;
    const served: string[] = [];
    for (const path of [
      "/manifest.json",
      "/files/manifest.json",
      "/files/../manifest.json",
      "/files/%2e%2e/manifest.json",
      "/files/..%2fmanifest.json",
      `/files/${file.split("/")[0]}/../../manifest.json`,
      "/files/.actbatch/journal.ndjson",
      "/files//etc/passwd",
      "/files/%2fetc%2fpasswd",
      "/reference/0",
      "/before/" + file,
      "/files/" + file.replace("/", "%5c"),
      "/%00",
      "../../etc/passwd",
    ]) {
      const answer = await call(review.url, path);
      if (![400, 404].includes(answer.status) || answer.body.toString("utf8").includes(secret))
        served.push(`${path}: ${answer.status}`);
    }
    expect(served).toEqual([]);
  });

  it("a file the manifest names once it is a link out of the folder", async () => {
    const folder = join(await mkdtemp(join(tmpdir(), "actbatch-link-")), "out");
    await cp(out, folder, { recursive: true });
    const outside = join(folder, "..", "secret.mp4");
    await writeFile(outside, "not for the page");
    const [first, second] = manifest.tasks;
    await rm(join(folder, first!.outputs[0]!.file));
    await symlink(outside, join(folder, first!.outputs[0]!.file));
    const inside = join(folder, second!.outputs[0]!.file);
    await rm(inside);
    await symlink(join(folder, manifest.tasks[2]!.outputs[0]!.file), inside);
    const linked = await openReview({ target: folder, cwd: repoRoot, env: {} });
    try {
      const refused = await call(linked.url, `/files/${first!.outputs[0]!.file}`);
      expect(refused.status).toBe(404);
      expect(refused.body.toString()).not.toContain("not for the page");
      // A link that stays inside the folder is still the folder's file.
      expect((await call(linked.url, `/files/${second!.outputs[0]!.file}`)).status).toBe(200);
    } finally {
      await linked.close();
    }
  });

  it("a foreign Host header (a name pointed at 127.0.0.1 by another site) on every route", async () => {
    const { port } = new URL(review.url);
    for (const host of [
      "evil.example",
      `evil.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      "127.0.0.1",
    ]) {
      for (const path of ["/", `/files/${manifest.tasks[0]!.outputs[0]!.file}`]) {
        const answer = await call(review.url, path, { headers: { Host: host } });
        expect(answer.status, `${host} ${path}`).toBe(421);
        expect(answer.body.length).toBeLessThan(100);
      }
    }
    expect((await call(review.url, "/", { headers: { Host: `localhost:${port}` } })).status).toBe(200);
  });

  it("any method but GET on files and POST on decisions", async () => {
    expect((await call(review.url, "/", { method: "POST" })).status).toBe(405);
    expect(
      (await call(review.url, `/files/${manifest.tasks[0]!.outputs[0]!.file}`, { method: "DELETE" })).status,
    ).toBe(405);
    expect((await call(review.url, "/api/decisions")).status).toBe(405);
  });

  it("a decision from another origin, not JSON, over 4 KB or on an unknown key, writing nothing", async () => {
    const before = await listTree(out);
    const { port } = new URL(review.url);
    const origin = `http://127.0.0.1:${port}`;
    const key = manifest.tasks[0]!.key;
    const post = (headers: Record<string, string>, body: string) =>
      call(review.url, "/api/decisions", { method: "POST", headers, body });
    const json = { "Content-Type": "application/json" };
    const pick = JSON.stringify({ key, decision: "pick" });
    expect((await post(json, pick)).status).toBe(403);
    expect((await post({ ...json, Origin: "http://evil.example" }, pick)).status).toBe(403);
    expect((await post({ ...json, Origin: `http://127.0.0.1:${Number(port) + 1}` }, pick)).status).toBe(403);
    expect((await post({ "Content-Type": "text/plain", Origin: origin }, pick)).status).toBe(415);
    const big = JSON.stringify({ key, note: "x".repeat(5000) });
    expect((await post({ ...json, Origin: origin }, big)).status).toBe(413);
    expect((await post({ ...json, Origin: origin }, "{")).status).toBe(400);
    const unknown = await post(
      { ...json, Origin: origin },
      JSON.stringify({ key: "0123456789abcdef", decision: "pick" }),
    );
    expect(unknown.status).toBe(404);
    expect(await listTree(out)).toEqual(before);
  });
});

describe("the review server writes decisions", () => {
  it("to review.json at once, keyed by task key with the params and the time, and nothing else", async () => {
    const before = await listTree(out);
    const { port } = new URL(review.url);
    const task = manifest.tasks[3]!;
    const answer = await call(review.url, "/api/decisions", {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: `http://127.0.0.1:${port}` },
      body: JSON.stringify({ key: task.key, decision: "reject", note: "eyes drift" }),
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString()).entry).toMatchObject({
      decision: "reject",
      note: "eyes drift",
    });
    const saved = JSON.parse(await readFile(join(out, "review.json"), "utf8"));
    expect(saved.decisions[task.key]).toMatchObject({
      decision: "reject",
      note: "eyes drift",
      pair: task.pair,
      params: task.params,
    });
    expect(Date.parse(saved.decisions[task.key].at)).toBeGreaterThan(Date.now() - 60_000);
    expect(await listTree(out)).toEqual([...before, "review.json"].toSorted());
    // The page served next shows it.
    const page = (await call(review.url, "/")).body.toString();
    expect(page).toMatch(new RegExp(`data-key="${task.key}"[^>]*data-review="reject"`));
  });

  it("that a rerun of the job leaves as they are", async () => {
    const before = await readFile(join(out, "review.json"), "utf8");
    await renderDemo([], out);
    expect(await readFile(join(out, "review.json"), "utf8")).toBe(before);
  });
});

describe("a local reference clip", () => {
  let local: LocalReferenceFolder;
  let served: OpenedReview;

  beforeAll(async () => {
    local = await renderWithLocalReference(join(out, manifest.tasks[0]!.outputs[0]!.file));
    served = await openReview({ target: local.out, cwd: repoRoot, env: {} });
  }, 60_000);

  afterAll(async () => {
    await served?.close();
  });

  it("is served from its recorded file while the file holds its recorded bytes, and refused once it changes", async () => {
    const html = (await call(served.url, "/")).body.toString();
    expect(html).toContain('class="clip ref-clip" data-src="/reference/0"');
    const bytes = await readFile(local.reference);
    const answer = await call(served.url, "/reference/0");
    expect(answer.status).toBe(200);
    expect(createHash("sha256").update(answer.body).digest("hex")).toBe(
      createHash("sha256").update(bytes).digest("hex"),
    );
    await appendFile(local.reference, "edited");
    expect((await call(served.url, "/reference/0")).status).toBe(404);
  });
});

describe("actbatch review", () => {
  it("prints its address, serves until Ctrl-C, and stops saying where the decisions are", async () => {
    const child = spawn(process.execPath, [binPath, "review", out, "--no-open"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
        const match = /^review: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`exited early: ${stderr}`)));
    });
    expect((await call(url, "/")).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).toContain("review stopped (SIGINT)");
    expect(stderr).toContain(join(out, "review.json"));
  });

  it("listens on loopback only unless --allow-remote", async () => {
    const result = await runCli(["review", out, "--no-open", "--host", "0.0.0.0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the review server listens on loopback only, not "0.0.0.0"');
  });

  it("--export-picks prints lists that, pasted into the job, plan exactly the picked tasks", async () => {
    const folder = join(await mkdtemp(join(tmpdir(), "actbatch-picks-")), "out");
    await cp(out, folder, { recursive: true });
    const picked = [manifest.tasks[0]!, manifest.tasks[5]!, manifest.tasks[9]!];
    const decisions: Record<string, unknown> = {};
    for (const task of picked)
      decisions[task.key] = {
        decision: "pick",
        note: "",
        pair: task.pair,
        params: task.params,
        at: "2025-01-01T00:00:00Z",
      };
    decisions[manifest.tasks[1]!.key] = { decision: "reject", note: "", pair: "x", params: {}, at: "t" };
    await writeFile(join(folder, "review.json"), JSON.stringify({ version: 1, job: "demo", decisions }));
    const exported = await runCli(["review", folder, "--export-picks"]);
    expect(exported.code).toBe(0);
    const pasted = parseDocument(exported.stdout).toJS() as { include: unknown[]; exclude: unknown[] };
    const job = parseDocument(await readFile(join(repoRoot, "jobs/demo.yaml"), "utf8"));
    job.set("exclude", pasted.exclude);
    job.set("include", pasted.include);
    const file = join(folder, "..", "picked.yaml");
    await writeFile(file, job.toString());
    const plan = await runCli(["plan", file, "--json"]);
    expect(plan.code).toBe(0);
    const keys = (JSON.parse(plan.stdout) as { tasks: { key: string }[] }).tasks.map((task) => task.key);
    expect(keys.toSorted()).toEqual(picked.map((task) => task.key).toSorted());

    const none = await runCli(["review", out, "--export-picks"]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe("");
  });
});
