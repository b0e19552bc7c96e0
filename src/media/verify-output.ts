// Checks a downloaded render against what was asked for: a readable MP4 whose video track has the
// requested width:height and lasts about as long as the reference. The result is data to record on
// the task (manifest `outputs[].checks`), deterministic so the manifest stays diffable.
import { open, type FileHandle } from "node:fs/promises";
import { Mp4Error } from "./mp4.js";
import { probeMp4 } from "./probe.js";

export interface OutputCheck {
  /** mp4: the file parses; ratio: width:height; duration: against the reference. */
  name: "mp4" | "ratio" | "duration";
  ok: boolean;
  expected?: string;
  actual?: string;
  /** Why it failed, or why it was not checked. */
  message?: string;
}

export interface OutputVerification {
  /** Every check that ran passed. */
  ok: boolean;
  checks: OutputCheck[];
  /** What the header says, when it parsed. */
  info?: { durationSec: number; width: number; height: number };
}

export interface VerifyOutputOptions {
  /** The requested ratio, "1280:720". */
  ratio: string;
  /** The reference's duration, when known; the duration is not checked otherwise. */
  referenceDurationSec?: number;
  /** Allowed difference in seconds (default: the larger of 1 s and 5% of the reference). */
  durationToleranceSec?: number;
  /** Allowed relative difference of width/height from the ratio (default 0.02: encoders round to even sizes). */
  ratioTolerance?: number;
}

/** The probe's reads are at most this long, but for a large moov (its default chunk). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * Read buffers given back by finished verifications: a run verifies thousands of files a few at a
 * time, and a fresh buffer per read is memory outside the heap that waits for a garbage collection.
 */
const spareReadBuffers: Buffer[] = [];
const MAX_SPARE_READ_BUFFERS = 8;

/** Reads only the file's header boxes (a few KB), whatever its size. */
export async function verifyRenderedOutput(
  file: string,
  options: VerifyOutputOptions,
): Promise<OutputVerification> {
  const handle = await open(file, "r");
  try {
    return await verifyOpenedOutput(handle, (await handle.stat()).size, options);
  } finally {
    await handle.close();
  }
}

/**
 * The same checks on a file the caller has open and knows the size of (a download checks the file
 * it has just written, before closing it: no second open, stat and close per output).
 */
export async function verifyOpenedOutput(
  handle: FileHandle,
  size: number,
  options: VerifyOutputOptions,
): Promise<OutputVerification> {
  // Each read gets its own buffer (the probe may hold one read while it makes the next); the header
  // facts it returns are numbers, so the buffers are free again once it is done.
  const borrowed: Buffer[] = [];
  let info;
  try {
    info = await probeMp4(
      async (start, length) => {
        // Only the bytes read are handed on: the rest need no zeroing.
        let buffer: Buffer;
        if (length <= READ_BUFFER_BYTES) {
          buffer = spareReadBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
          borrowed.push(buffer);
        } else buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await handle.read(buffer, 0, length, start);
        return buffer.subarray(0, bytesRead);
      },
      size,
      { maxBoxes: 10_000 },
    );
  } catch (error) {
    if (!(error instanceof Mp4Error)) throw error;
    return {
      ok: false,
      checks: [{ name: "mp4", ok: false, message: `not a readable MP4: ${error.message}` }],
    };
  } finally {
    for (const buffer of borrowed)
      if (spareReadBuffers.length < MAX_SPARE_READ_BUFFERS) spareReadBuffers.push(buffer);
  }
  return judgeOutput(info.durationSec, info.video, options);
}

/** The checks, from what a header said: pure, for callers that parsed the file themselves. */
export function judgeOutput(
  durationSec: number,
  video: { width: number; height: number } | null,
  options: VerifyOutputOptions,
): OutputVerification {
  if (video === null)
    return { ok: false, checks: [{ name: "mp4", ok: false, message: "the MP4 has no video track" }] };
  const checks: OutputCheck[] = [{ name: "mp4", ok: true }];
  const [ratioWidth, ratioHeight] = options.ratio.split(":").map(Number);
  const actualSize = `${video.width}x${video.height}`;
  if (!ratioWidth || !ratioHeight || !video.height) {
    checks.push({
      name: "ratio",
      ok: false,
      expected: options.ratio,
      actual: actualSize,
      message: "cannot compare",
    });
  } else {
    const wanted = ratioWidth / ratioHeight;
    const off = Math.abs(video.width / video.height - wanted) / wanted;
    const ok = off <= (options.ratioTolerance ?? 0.02);
    checks.push({
      name: "ratio",
      ok,
      expected: options.ratio,
      actual: actualSize,
      ...(!ok && { message: `the video is ${actualSize}, not ${options.ratio}` }),
    });
  }
  const reference = options.referenceDurationSec;
  const actualDuration = `${round(durationSec)} s`;
  if (reference === undefined) {
    checks.push({
      name: "duration",
      ok: true,
      actual: actualDuration,
      message: "not checked: the reference's duration is unknown",
    });
  } else {
    const tolerance = options.durationToleranceSec ?? Math.max(1, reference * 0.05);
    const ok = Math.abs(durationSec - reference) <= tolerance;
    checks.push({
      name: "duration",
      ok,
      expected: `${round(reference)} s`,
      actual: actualDuration,
      ...(!ok && { message: `the video lasts ${actualDuration}, the reference ${round(reference)} s` }),
    });
  }
  return {
    ok: checks.every((check) => check.ok),
    checks,
    info: { durationSec: round(durationSec), width: video.width, height: video.height },
  };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
