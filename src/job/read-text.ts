// The files a job is made of (the job file, its bases, its catalogues) read as text: a size limit
// before anything is read, UTF-8 checked with the place of the first bad byte.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { isAbsolute, join, normalize, dirname } from "node:path";
import { diagnosticAt, SpecError } from "./diagnostics.js";
import type { SourceLocation } from "./types.js";

/**
 * Far above any hand-written job (a realistic one is a few KB; assets are referenced, not inlined),
 * far below what would take the YAML parser long to refuse (a 10 MB scalar: seconds).
 */
export const MAX_JOB_FILE_BYTES = 2 * 1024 * 1024;
/** A catalogue of 100,000 assets is about 10 MB. */
export const MAX_CATALOGUE_BYTES = 16 * 1024 * 1024;

/** `relative` (as written in `from`) as a path to show: beside `from`, unless it is absolute. */
export function besideFile(from: string, relative: string): string {
  return isAbsolute(relative) ? relative : normalize(join(dirname(from), relative));
}

/** The file's bytes, or a thrown fs error (EISDIR for a folder; EFBIG when over `limit`). */
export function readFileWithin(path: string, limit: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    if (info.size > limit)
      throw Object.assign(new Error(`${info.size} bytes`), { code: "EFBIG", size: info.size });
    const bytes = Buffer.alloc(info.size);
    let read = 0;
    while (read < info.size) {
      const got = readSync(fd, bytes, read, info.size - read, read);
      if (got === 0) break;
      read += got;
    }
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export function tooLarge(file: string, bytes: number, what = "a job file", limit = "2 MB"): SpecError {
  return new SpecError([
    diagnosticAt(
      { file, line: 1, column: 1 },
      `the file is ${bytes.toLocaleString("en-US")} bytes, too large for ${what} (at most ${limit}); is this the right file?`,
    ),
  ]);
}

/** The text of a file, or a SpecError located at its first byte that is not UTF-8. */
export function decodeUtf8(file: string, bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    let line = 1;
    let column = 1;
    const prefix = firstInvalidUtf8Offset(bytes);
    for (let i = 0; i < prefix; i++) {
      if (bytes[i] === 0x0a) [line, column] = [line + 1, 1];
      else if ((bytes[i]! & 0xc0) !== 0x80) column++;
    }
    const at: SourceLocation = { file, line, column };
    throw new SpecError([diagnosticAt(at, "the file is not valid UTF-8 text")]);
  }
}

/** Offset of the first byte that does not decode, found by halving: the decoder does not say. */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let low = 0;
  let high = bytes.length;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    try {
      // stream: an incomplete character at the end of the prefix is not an error.
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, middle), { stream: true });
      low = middle;
    } catch {
      high = middle - 1;
    }
  }
  return low;
}
