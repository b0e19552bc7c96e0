// Types of the job-file layer. Three shapes, normalised exactly once each:
//   the file as written (JobFile, mirrors schemas/job.schema.json)  ->  ResolvedJob  ->  Plan (what a run executes).
// The Plan/TaskPlan/RequestBody part below is the contract with the run engine: change it only together with src/run.

export const RATIOS = ["1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672"] as const;
export type Ratio = (typeof RATIOS)[number];

export type ProviderName = "cometapi" | "runway";

export interface MediaRef {
  type: "image" | "video";
  uri: string;
}

/** The exact body POSTed to /v1/character_performance. Every field is always present (CometAPI requires them all). */
export interface RequestBody {
  model: "act_two";
  character: MediaRef;
  reference: { type: "video"; uri: string };
  ratio: Ratio;
  bodyControl: boolean;
  expressionIntensity: number;
  seed: number;
  contentModeration: { publicFigureThreshold: "auto" | "low" };
}

/** A place in a job file, 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export type ParamValue = string | number | boolean;

/** One task of a plan: one request body, one output file. */
export interface TaskPlan {
  /** Short hex digest of the canonical request body (src/canonical.ts taskKeyOf): the task's identity. */
  key: string;
  /** Position in plan order (file order), 0-based. */
  index: number;
  pair: string;
  /** The values that vary for this task (swept or included), by request field name. */
  params: Record<string, ParamValue>;
  request: RequestBody;
  /** Output file path relative to the output directory, POSIX separators, already checked safe and unique. */
  output: string;
  /** The spec lines that produced this task (the pair, and any include that added or extended it). */
  source: SourceLocation[];
}

export interface ProviderSettings {
  name: ProviderName;
  /** Base URL override from the job file (before --base-url / ACTBATCH_BASE_URL). */
  baseUrl?: string;
  runwayVersion?: string;
}

/** Everything a run needs, with no I/O left to do on the spec. */
export interface Plan {
  job: string;
  spec: { file: string; sha256: string };
  provider: ProviderSettings;
  concurrency: number;
  /** The output directory as written (placeholders expanded), relative to the working directory unless absolute. */
  outputDir: string;
  tasks: TaskPlan[];
}
