import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/sim/index.js";
import { create, driveToEnd, rawGet, startTestSimulator, type BareTask } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A Range request, and what it must answer for a body of `size` bytes: the span sent, or a 416. */
const CASES: {
  name: string;
  headers: (size: number, etag: string) => Record<string, string>;
  expect: (size: number) => [first: number, last: number] | "whole" | 416;
}[] = [
  { name: "no Range", headers: () => ({}), expect: () => "whole" },
  { name: "a closed range", headers: () => ({ range: "bytes=100-199" }), expect: () => [100, 199] },
  { name: "an open range", headers: () => ({ range: "bytes=1000-" }), expect: (size) => [1000, size - 1] },
  { name: "a suffix", headers: () => ({ range: "bytes=-10" }), expect: (size) => [size - 10, size - 1] },
  {
    name: "an end past the size",
    headers: () => ({ range: "bytes=0-999999999" }),
    expect: (size) => [0, size - 1],
  },
  { name: "a start at the size", headers: (size) => ({ range: `bytes=${size}-` }), expect: () => 416 },
  { name: "an empty suffix", headers: () => ({ range: "bytes=-0" }), expect: () => 416 },
  { name: "start after end", headers: () => ({ range: "bytes=5-2" }), expect: () => 416 },
  { name: "several ranges (ignored)", headers: () => ({ range: "bytes=0-1,5-6" }), expect: () => "whole" },
  { name: "another unit (ignored)", headers: () => ({ range: "items=0-5" }), expect: () => "whole" },
  {
    name: "a stale If-Range",
    headers: () => ({ range: "bytes=10-19", "if-range": '"stale"' }),
    expect: () => "whole",
  },
  {
    name: "a current If-Range",
    headers: (_size, etag) => ({ range: "bytes=10-19", "if-range": etag }),
    expect: () => [10, 19],
  },
];

interface RangeAnswer {
  name: string;
  status: number | null;
  contentRange: string | string[] | undefined;
  contentLength: string | string[] | undefined;
  body: string;
}

/**
 * Every case of CASES (and a HEAD with a range) against one URL: what came back, and what should
 * have, as data. Both routes that serve bytes must answer alike: Range has one implementation.
 */
async function rangeAnswers(
  url: string,
): Promise<{ size: number; observed: RangeAnswer[]; expected: RangeAnswer[] }> {
  const whole = (await rawGet(url)).bytes;
  const size = whole.length;
  const etag = String((await rawGet(url, {}, "HEAD")).headers["etag"]);
  const observed: RangeAnswer[] = [];
  const expected: RangeAnswer[] = [];
  const record = async (
    name: string,
    headers: Record<string, string>,
    method: string,
    want: [first: number, last: number] | "whole" | 416,
  ) => {
    const answer = await rawGet(url, headers, method);
    const span: [number, number] = want === 416 ? [0, -1] : want === "whole" ? [0, size - 1] : want;
    const bytes = whole.subarray(span[0], span[1] + 1);
    const body = method === "HEAD" ? Buffer.alloc(0) : bytes;
    observed.push({
      name,
      status: answer.status,
      contentRange: answer.headers["content-range"],
      contentLength: answer.headers["content-length"],
      body: answer.bytes.equals(body) ? "as expected" : `${answer.bytes.length} other bytes`,
    });
    expected.push({
      name,
      status: want === 416 ? 416 : want === "whole" ? 200 : 206,
      contentRange:
        want === 416
          ? `bytes */${size}`
          : want === "whole"
            ? undefined
            : `bytes ${span[0]}-${span[1]}/${size}`,
      contentLength: String(bytes.length),
      body: "as expected",
    });
  };
  for (const { name, headers, expect: want } of CASES)
    await record(name, headers(size, etag), "GET", want(size));
  await record("HEAD with a range", { range: "bytes=100-199" }, "HEAD", [100, 199]);
  return { size, observed, expected };
}

describe("Range on every route that serves bytes", () => {
  it("output downloads", async () => {
    sim = await startTestSimulator();
    const id = await create(sim.origin);
    const last = (await driveToEnd(sim, id)).at(-1) as BareTask;
    const { size, observed, expected } = await rangeAnswers(last.output?.[0] ?? "");
    expect(size).toBeGreaterThan(1000);
    expect(observed).toEqual(expected);
  });

  it("probe-able assets", async () => {
    sim = await startTestSimulator();
    for (const name of ["take.mp4?simSize=5000", "still.png?simSize=3000"]) {
      const { size, observed, expected } = await rangeAnswers(`${sim.origin}/assets/${name}`);
      expect(size).toBeGreaterThan(1000);
      expect(observed).toEqual(expected);
    }
  });
});
