// MP4 headers: parse a whole file or probe a remote one with ranged reads; build test files.
export { Mp4Error, parseMp4, parseMoov, readBoxHeader, type BoxHeader, type Mp4Info } from "./mp4.js";
export { probeMp4, type ProbeMp4Options, type RangeReader } from "./probe.js";
export { buildMp4, fillerByte, mp4Parts, type BuildMp4Options } from "./mp4-build.js";
export {
  judgeOutput,
  verifyRenderedOutput,
  type OutputCheck,
  type OutputVerification,
  type VerifyOutputOptions,
} from "./verify-output.js";
