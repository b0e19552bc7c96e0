// What travels on the wire to the service: the create body and the values its fields may take. The
// API layer owns these; src/job/types.ts re-exports them for the planner, which builds the bodies.

/** Which service (and so which dialect of answers) a run talks to. */
export type ProviderName = "cometapi" | "runway";

export const RATIOS = ["1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672"] as const;
export type Ratio = (typeof RATIOS)[number];

export interface MediaRef {
  type: "image" | "video";
  uri: string;
}

export const PUBLIC_FIGURE_THRESHOLDS = ["auto", "low"] as const;
export type PublicFigureThreshold = (typeof PUBLIC_FIGURE_THRESHOLDS)[number];

export interface ContentModeration {
  publicFigureThreshold: PublicFigureThreshold;
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
  contentModeration: ContentModeration;
}
