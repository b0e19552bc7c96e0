// Which provider prices a folder's sheet. The manifest does not record it, so: the command's
// --provider, else the provider the folder's last run talked to (.actbatch/connection.json), else
// the job file's, else CometAPI. CometAPI's price per task is the job file's when it sets one.
import type { ProviderName } from "../../job/types.js";
import { readConnectionRecord } from "../../run/connection-record.js";
import type { JobContext } from "./references.js";

export interface Pricing {
  provider: ProviderName;
  usdPerTask?: number;
  /** Where the provider came from, for the sheet's header. */
  source: "flag" | "last run" | "job file" | "default";
}

export async function resolvePricing(
  outputDir: string,
  job: JobContext | null,
  flag: ProviderName | undefined,
): Promise<Pricing> {
  const price = job?.plan?.provider.pricePerTaskUsd;
  const withPrice = (pricing: Pricing): Pricing =>
    price === undefined ? pricing : { ...pricing, usdPerTask: price };
  if (flag !== undefined) return withPrice({ provider: flag, source: "flag" });
  const record = await readConnectionRecord(outputDir).catch(() => null);
  if (record) return withPrice({ provider: record.provider, source: "last run" });
  if (job?.plan) return withPrice({ provider: job.plan.provider.name, source: "job file" });
  return { provider: "cometapi", source: "default" };
}
