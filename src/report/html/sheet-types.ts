// What the contact sheet is rendered from: shared by the page's parts (render.ts, render-pair.ts,
// page-data.ts) and by the two callers, report.html (write.ts) and the review server.
import type { Manifest } from "../../manifest/types.js";
import type { ProviderName } from "../../job/types.js";
import type { Review } from "../review/decisions.js";
import type { CostEstimate } from "./cost.js";
import type { GridAxes } from "./grid.js";

export interface ReferenceMedia {
  /** What the sheet shows as the reference's name. */
  label: string;
  /** A URL the page may play without a network request (relative file, review route, data URI). */
  playable: string | null;
  /** An https URL the live page plays when the pair's group plays (never on load), else null. */
  remote: string | null;
  /** An external address shown as a link (never fetched by the page), else null. */
  link: string | null;
  /** Why a local reference is not played (its file changed or is gone), else null. */
  problem: string | null;
}

export interface RenderInput {
  manifest: Manifest;
  provider: ProviderName;
  cost: CostEstimate;
  axes?: GridAxes;
  /** The reference clip of each pair, by pair id. */
  references: Map<string, ReferenceMedia>;
  /** The folder's decisions (shown read-only in the static page). */
  review: Review;
  /** Why review.json could not be read, shown in the header. */
  reviewProblem?: string;
  /** The live review page: decisions are posted to the server. */
  live: boolean;
  /** How the page addresses a file of the output folder, or null when it must not. */
  outputUrl: (file: string) => string | null;
  /** --against: per changed key, the earlier output's URL. */
  changed?: Map<string, string | null>;
  /** --against: what the earlier folder is called in the page. */
  against?: string;
}
