// The duration of a downloaded MP4, from its header: at Runway the output is as long as the
// reference, so this prices a finished task without any request. Reads only the header boxes.
import { open } from "node:fs/promises";
import { probeMp4 } from "../../media/probe.js";

/** Seconds, or null when the file is missing or is not an MP4 whose header can be read. */
export async function readMp4Duration(path: string): Promise<number | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch {
    return null;
  }
  try {
    const size = (await handle.stat()).size;
    const file = handle;
    const info = await probeMp4(async (start, length) => {
      const bytes = new Uint8Array(Math.max(0, Math.min(length, size - start)));
      const { bytesRead } = await file.read(bytes, 0, bytes.length, start);
      return bytes.subarray(0, bytesRead);
    }, size);
    return info.durationSec;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}
