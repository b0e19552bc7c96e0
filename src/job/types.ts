// Types of the job-file layer. Three shapes, normalised exactly once each:
//   the file as written (JobFile, mirrors schemas/job.schema.json)  ->  ResolvedJob  ->  Plan (what a run executes).
// The Plan/TaskPlan part below is the contract with the run engine: change it only together with src/run.
// The wire types (the create body and its fields' values) belong to the API layer, src/api/wire-types.ts;
// they are re-exported here for the planner and everything that reads a plan.
import type { ProviderName, PublicFigureThreshold, Ratio, RequestBody } from "../api/wire-types.js";

export { PUBLIC_FIGURE_THRESHOLDS, RATIOS } from "../api/wire-types.js";
export type {
  ContentModeration,
  MediaRef,
  ProviderName,
  PublicFigureThreshold,
  Ratio,
  RequestBody,
} from "../api/wire-types.js";

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
  /** CometAPI's flat price per task from the job file (the cost estimate's default otherwise). */
  pricePerTaskUsd?: number;
}

/** The job file's spending limit (either or both). */
export interface BudgetSpec {
  maxCredits?: number;
  maxUsd?: number;
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
  /** The job file's budget, when it sets one. */
  budget?: BudgetSpec;
  /** True when the job file leaves concurrency unset (the provider's tier may then size it). */
  concurrencyIsDefault?: boolean;
  /** Local files the tasks' request bodies name by placeholder URI (see LocalFile). */
  localFiles?: LocalFile[];
}

/**
 * A local file an asset names with `path:`. Request bodies (and so task keys, the journal and the
 * manifest) carry its placeholder URI; the run swaps in a data: URI or an upload's runway:// URI at
 * the moment of each create.
 */
export interface LocalFile {
  /** `local:sha256:<hex>`: by content, so a key follows what the file holds, not where it lies. */
  uri: string;
  type: "image" | "video";
  /** Absolute path. */
  path: string;
  /** The path as the job file writes it. */
  written: string;
  size: number;
  sha256: string;
}

// ---------------------------------------------------------------------------------------------
// The job file as written (JobFileLayer mirrors schemas/job.schema.json; test/job/schema-drift.test.ts
// keeps them equal), and the job composed from it (JobFile).

/** Request fields that can vary per task: swept, zipped, included or excluded. */
export const SWEEP_FIELDS = ["ratio", "bodyControl", "expressionIntensity", "seed"] as const;
export type SweepField = (typeof SWEEP_FIELDS)[number];

export const PROVIDER_NAMES = ["cometapi", "runway"] as const satisfies readonly ProviderName[];
export interface ContentModerationSpec {
  publicFigureThreshold?: PublicFigureThreshold;
}

/** Request fields a job file may fix (defaults, or per pair). */
export interface RequestFieldsSpec {
  model?: "act_two";
  ratio?: Ratio;
  bodyControl?: boolean;
  expressionIntensity?: number;
  seed?: number;
  contentModeration?: ContentModerationSpec;
}

/** Values of swept fields: a zip entry, or the values an include/exclude names. */
export interface CombinationSpec {
  ratio?: Ratio;
  bodyControl?: boolean;
  expressionIntensity?: number;
  seed?: number;
}

export interface IntegerRangeSpec {
  from: number;
  to: number;
  step?: number;
}

export interface SweepSpec {
  ratio?: Ratio[];
  bodyControl?: boolean[];
  expressionIntensity?: number[] | IntegerRangeSpec;
  seed?: number[] | IntegerRangeSpec;
  zip?: CombinationSpec[];
}

/** An image or video as a job file writes it: a URI the service fetches, or a local file (exactly one). */
export interface MediaSpec {
  type: "image" | "video";
  uri?: string;
  /** A local file, relative to the job file's folder. */
  path?: string;
}

/** An asset name (a key of `assets`) or an inline media reference. */
export type AssetRefSpec = string | MediaSpec;

export interface PairSpec extends RequestFieldsSpec {
  id: string;
  character: AssetRefSpec;
  reference: AssetRefSpec;
  sweep?: SweepSpec;
}

export interface IncludeSpec extends CombinationSpec {
  pair?: string;
}

export interface ExcludeSpec extends CombinationSpec {
  pair?: string;
}

export interface ProviderSpec {
  name?: ProviderName;
  baseUrl?: string;
  runwayVersion?: string;
  pricePerTaskUsd?: number;
}

/** A named asset: a media reference, with an optional duration hint (seconds) for the cost estimate. */
export interface AssetSpec extends MediaSpec {
  duration?: number;
}

export interface OutputSpec {
  dir?: string;
  name?: string;
}

/**
 * Pairs made by a matrix: the cross product of the asset names (or `*` patterns) it lists, with
 * the entry's other fields fixed on every pair it makes.
 */
export interface MatrixSpec {
  character?: string[];
  reference?: string[];
}

export interface MatrixPairSpec extends RequestFieldsSpec {
  matrix: MatrixSpec;
  /** A template: {character} and {reference} stand for the asset names. */
  id: string;
  /** When the matrix does not list characters: the one every pair uses. */
  character?: AssetRefSpec;
  reference?: AssetRefSpec;
  sweep?: SweepSpec;
}

/** A catalogue of assets: exactly one of csv, jsonl and glob (type only with glob). */
export interface AssetSourceSpec {
  csv?: string;
  jsonl?: string;
  glob?: string;
  type?: "image" | "video";
}

/**
 * One file as written: the job file or a base it extends. A base need not be a whole job; the
 * chain as a whole must set name and pairs. Composed (bases merged, catalogues read, matrices
 * expanded), it becomes a JobFile.
 */
export interface JobFileLayer {
  $schema?: string;
  version: 1;
  extends?: string;
  name?: string;
  provider?: ProviderSpec;
  concurrency?: number;
  defaults?: RequestFieldsSpec;
  assets?: Record<string, AssetSpec>;
  assetSources?: AssetSourceSpec[];
  pairs?: (PairSpec | MatrixPairSpec)[];
  sweep?: SweepSpec;
  include?: IncludeSpec[];
  exclude?: ExcludeSpec[];
  output?: OutputSpec;
  budget?: BudgetSpec;
}

/** The job composed from its files: what the rules, the resolver and the expansion read. */
export interface JobFile {
  $schema?: string;
  version: 1;
  name: string;
  provider?: ProviderSpec;
  concurrency?: number;
  defaults?: RequestFieldsSpec;
  assets?: Record<string, AssetSpec>;
  pairs: PairSpec[];
  sweep?: SweepSpec;
  include?: IncludeSpec[];
  exclude?: ExcludeSpec[];
  output?: OutputSpec;
  budget?: BudgetSpec;
}

// ---------------------------------------------------------------------------------------------
// The resolved job: references resolved, defaults applied, every sweep turned into dimensions.

/** Swept values of one combination, by field. */
export type Combination = Partial<Record<SweepField, ParamValue>>;

/** One axis of a pair's effective sweep. Ranges stay symbolic so the task count is known before expansion. */
export type SweepDimension =
  | { kind: "values"; field: SweepField; values: readonly ParamValue[]; source: SourceLocation }
  | { kind: "range"; field: SweepField; from: number; to: number; step: number; source: SourceLocation }
  | { kind: "zip"; fields: readonly SweepField[]; entries: readonly Combination[]; source: SourceLocation };

export interface ResolvedPair {
  id: string;
  source: SourceLocation;
  /** The complete request body before sweeps: defaults, then the pair's fixed fields. */
  base: RequestBody;
  /** The effective sweep, in file order (the first dimension varies slowest). */
  dimensions: SweepDimension[];
}

/** An include or exclude entry. */
export interface ResolvedFilter {
  /** 0-based position in the include/exclude list. */
  index: number;
  source: SourceLocation;
  pair?: string;
  values: Combination;
}

export interface OutputTemplate {
  template: string;
  source: SourceLocation;
}

export interface ResolvedJob {
  job: string;
  spec: { file: string; sha256: string };
  provider: ProviderSettings;
  concurrency: number;
  outputDir: string;
  outputName: OutputTemplate;
  pairs: ResolvedPair[];
  includes: ResolvedFilter[];
  excludes: ResolvedFilter[];
}

// ---------------------------------------------------------------------------------------------
// What a plan looked like on the way: for `plan`'s summary and warnings.

/** A problem or a warning at a place in a job file. */
export interface Diagnostic extends SourceLocation {
  message: string;
}

export interface IncludeEffect {
  index: number;
  source: SourceLocation;
  /**
   * extended: it set values on existing combinations; added: it added new tasks (for a pair where
   * it conflicted with every combination); both (an include without pair can do both); none: the plan
   * would be the same without it.
   */
  effect: "extended" | "added" | "both" | "none";
  /** Combinations it extended. */
  extended: number;
  /** Tasks it added. */
  added: number;
}

export interface ExcludeEffect {
  index: number;
  source: SourceLocation;
  /** Combinations dropped. */
  removed: number;
}

export interface PlanReport {
  total: number;
  /** Tasks per pair, in file order (after merging identical request bodies). */
  pairs: { pair: string; tasks: number }[];
  /** The distinct values each varying field takes across the plan, in order of first use. */
  swept: { field: SweepField; values: ParamValue[] }[];
  includes: IncludeEffect[];
  excludes: ExcludeEffect[];
  /** Combinations whose request body equalled an earlier task's, merged into it. */
  merged: number;
  warnings: Diagnostic[];
  /** Every distinct asset the plan's tasks use, with where it is written (for preflight and cost). */
  assets?: PlanAsset[];
  /** Environment variables the job's files use (`${NAME}`), when there are any. */
  environment?: EnvironmentUse[];
  /** Files read besides the job file (bases it extends, catalogues), when there are any. */
  inputs?: string[];
}

/** One environment variable a job used, and the value it took. */
export interface EnvironmentUse {
  name: string;
  value: string;
  /** The environment's value, or the `:-` default (NAME unset or empty). */
  from: "environment" | "default";
  /** Every place it is written. */
  sources: SourceLocation[];
}

/** One distinct asset (by type and URI) of a plan. */
export interface PlanAsset {
  type: "image" | "video";
  uri: string;
  /** How the plan's pairs use it. */
  roles: ("character" | "reference")[];
  /** Pair ids that use it, in file order. */
  pairs: string[];
  /** Asset names it is written under (empty when only written inline). */
  names: string[];
  /** Every place it is written: the named asset's key, or the pair's inline character/reference. */
  sources: SourceLocation[];
  /** The job file's duration hint, in seconds. */
  durationHint?: number;
  /** For a local file (uri is then its placeholder): its absolute path. */
  path?: string;
}

export interface LoadedPlan {
  plan: Plan;
  report: PlanReport;
}
