// The manifest (DESIGN.md section 5): assembled from the run engine's task records, written
// atomically and byte-for-byte deterministic, read back with schema validation. One import path for
// the rest of actbatch; each job lives in its own module below.
export { assembleManifest, notSubmittedTask, summarizeTasks, type ManifestInput } from "./assemble.js";
export { type ItemPlace } from "./checkpoint-layout.js";
export { createManifestCache, writeManifestCheckpoint, type ManifestCache } from "./checkpoint-writer.js";
export { MANIFEST_FILE, resolveManifestPath } from "./path.js";
export { parseManifest, readManifest } from "./read.js";
export { serializeManifest } from "./serialise.js";
export { writeManifest } from "./write.js";
