// What a run does before its first create, and with each downloaded file: the asset preflight, the
// cost estimate and the budget (gateTasks), Runway's account (checkAccount), and the output checks.
import { Writable } from "node:stream";
import type { ApiClient } from "../api/types.js";
import { isLoopbackHost } from "../api/url-policy.js";
import type { CostEstimate } from "../cost/index.js";
import type { BudgetSpec, LoadedPlan, ProviderName, TaskPlan } from "../job/types.js";
import type { ManifestOutputCheck } from "../manifest/types.js";
import type { FileHandle } from "node:fs/promises";
import { verifyOpenedOutput, type VerifyOutputOptions } from "../media/verify-output.js";
import { assessOrganization, gateRun, type RunGate } from "../preflight/index.js";
import type { RunEvent } from "./events.js";

/** Preflight, cost estimate and budget for the tasks about to be submitted; its lines become notes. */
export async function gateTasks(
  loaded: LoadedPlan,
  tasks: TaskPlan[],
  options: {
    outputDir: string;
    preflight: boolean;
    loopbackOnly: boolean;
    provider: ProviderName;
    budget: BudgetSpec | undefined;
    allowUnknownCost: boolean;
    emit: (event: RunEvent) => void;
  },
): Promise<RunGate> {
  const notes = new Writable({
    write(chunk: Buffer | string, _encoding, done): void {
      for (const line of String(chunk).split("\n"))
        if (line !== "") options.emit({ kind: "note", message: line });
      done();
    },
  });
  // Against a simulator no asset on a domain is fetched: when no asset is on loopback either, there
  // is nothing to probe, and saying so for every asset of every run would only be noise.
  const probeable =
    !options.loopbackOnly ||
    (loaded.report.assets ?? []).some((asset) => asset.path !== undefined || isLoopbackUri(asset.uri));
  const gate = await gateRun(loaded, {
    outputDir: options.outputDir,
    preflight: options.preflight && probeable,
    loopbackOnly: options.loopbackOnly,
    provider: options.provider,
    tasks,
    budgetFlags: options.budget ?? {},
    allowUnknownCost: options.allowUnknownCost,
    stderr: notes,
  });
  return gate;
}

/**
 * Runway's account before the first create (GET /v1/organization): its balance, today's usage and
 * the tier's limits, said in one line, with a warning when the job cannot finish today or the
 * balance will not cover it. Returns the tier's concurrency for act_two. Never stops the run: the
 * creates themselves are refused when the account cannot take them.
 */
export async function checkAccount(
  api: Pick<ApiClient, "getOrganization">,
  tasksToSubmit: number,
  estimate: CostEstimate,
  emit: (event: RunEvent) => void,
): Promise<number | null> {
  const outcome = await api.getOrganization();
  if (outcome.kind === "error") {
    emit({ kind: "note", message: `account: not read (${outcome.message})` });
    return null;
  }
  if (outcome.kind === "unusable") {
    emit({ kind: "note", message: "account: not read (GET /v1/organization gave no usable answer)" });
    return null;
  }
  const org = outcome.organization;
  const assessment = assessOrganization(org, tasksToSubmit, estimate);
  const limits = [
    org.maxConcurrentGenerations === null ? null : `${org.maxConcurrentGenerations} at once`,
    assessment.generationsLeftToday === null
      ? null
      : `${assessment.generationsLeftToday} of ${org.maxDailyGenerations} generations left today`,
  ].filter((part) => part !== null);
  emit({
    kind: "note",
    message: `account: ${org.creditBalance.toLocaleString("en-US")} credits${limits.length > 0 ? `; act_two: ${limits.join(", ")}` : ""}`,
  });
  for (const warning of assessment.warnings) emit({ kind: "note", message: `warning: ${warning}` });
  return assessment.tierConcurrency;
}

/**
 * The output checks of a file the download has open; a file that cannot be read at all is a failed
 * check, not a crashed run.
 */
export async function checkOpenedOutput(
  file: FileHandle,
  size: number,
  options: VerifyOutputOptions,
): Promise<ManifestOutputCheck[]> {
  try {
    return (await verifyOpenedOutput(file, size, options)).checks;
  } catch (error) {
    return [{ name: "mp4", ok: false, message: `cannot read the file: ${(error as Error).message}` }];
  }
}

function isLoopbackUri(uri: string): boolean {
  try {
    return isLoopbackHost(new URL(uri).hostname);
  } catch {
    return false;
  }
}
