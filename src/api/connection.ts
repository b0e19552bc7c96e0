// Where the API is and with which key: resolved once per run, before anything is submitted.
import { UserError } from "../errors.js";
import { describeUrl, urlProblem } from "./url-policy.js";
import type { ProviderName } from "./wire-types.js";

export const DEFAULT_RUNWAY_VERSION = "2024-11-06";

export const PROVIDERS: Record<ProviderName, { baseUrl: string; keyVariable: string }> = {
  cometapi: { baseUrl: "https://api.cometapi.com/runwayml", keyVariable: "COMETAPI_KEY" },
  runway: { baseUrl: "https://api.dev.runwayml.com", keyVariable: "RUNWAYML_API_SECRET" },
};

/** The key sent to the in-process simulator: the real key (if any) never leaves for a fake service. */
export const SIMULATOR_KEY = "actbatch-simulator-key";

/** What a job file says about its provider, as far as the connection reads it (src/job's ProviderSettings). */
export interface JobProviderSettings {
  name: ProviderName;
  baseUrl?: string;
  runwayVersion?: string;
}

export interface ConnectionInput {
  /** --provider, when given (it beats the job file's provider). */
  provider?: ProviderName;
  jobProvider: JobProviderSettings;
  /** --base-url, when given. */
  baseUrlFlag?: string;
  env: NodeJS.ProcessEnv;
  /** Set by --simulate: the simulator's base URL, which beats every other source. */
  simulateBaseUrl?: string;
}

export interface Connection {
  provider: ProviderName;
  baseUrl: string;
  apiKey: string;
  runwayVersion: string;
}

function checkBaseUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UserError(`the base URL from ${source} is not a valid URL`);
  }
  // Do not echo a URL that carries credentials: they are secrets too.
  if (url.username !== "" || url.password !== "") {
    throw new UserError(
      `the base URL from ${source} contains credentials; the key is read from the environment only`,
    );
  }
  const problem = urlProblem(url);
  if (problem !== null)
    throw new UserError(`the base URL from ${source} (${describeUrl(url.href)}) is not allowed: ${problem}`);
  if (url.search !== "" || url.hash !== "") {
    throw new UserError(`the base URL from ${source} must not have a query string or fragment`);
  }
  const base = `${url.origin}${url.pathname}`.replace(/\/+$/, "");
  if (base.endsWith("/v1")) {
    throw new UserError(
      `the base URL from ${source} ends in /v1: give everything before /v1/ (e.g. ${base.slice(0, -3)})`,
    );
  }
  return base;
}

/**
 * The provider, base URL, key and API version of a run. Base URL precedence: --simulate, --base-url,
 * ACTBATCH_BASE_URL, the job file, the provider's default. The key comes from the provider's variable
 * (COMETAPI_KEY or RUNWAYML_API_SECRET); a missing key is a user error that names the variable.
 */
export function resolveConnection(input: ConnectionInput): Connection {
  const provider = input.provider ?? input.jobProvider.name;
  const defaults = PROVIDERS[provider];
  const runwayVersion = input.jobProvider.runwayVersion ?? DEFAULT_RUNWAY_VERSION;

  if (input.simulateBaseUrl !== undefined) {
    return {
      provider,
      baseUrl: checkBaseUrl(input.simulateBaseUrl, "the simulator"),
      apiKey: SIMULATOR_KEY,
      runwayVersion,
    };
  }

  const envBaseUrl = input.env.ACTBATCH_BASE_URL?.trim();
  const baseUrl =
    input.baseUrlFlag !== undefined
      ? checkBaseUrl(input.baseUrlFlag, "--base-url")
      : envBaseUrl
        ? checkBaseUrl(envBaseUrl, "ACTBATCH_BASE_URL")
        : input.jobProvider.baseUrl !== undefined
          ? checkBaseUrl(input.jobProvider.baseUrl, "the job file")
          : defaults.baseUrl;

  const apiKey = input.env[defaults.keyVariable]?.trim() ?? "";
  if (apiKey === "") {
    throw new UserError(
      `${defaults.keyVariable} is not set: export your ${provider === "cometapi" ? "CometAPI" : "Runway"} API key in ${defaults.keyVariable} (the key is read from the environment only)`,
      undefined,
      "use --simulate to try actbatch without a key",
    );
  }
  // A key with control characters or spaces would corrupt the Authorization header (or inject another).
  if (!/^[\x21-\x7e]+$/.test(apiKey)) {
    throw new UserError(
      `${defaults.keyVariable} contains characters that cannot appear in an API key (spaces or control characters)`,
    );
  }
  return { provider, baseUrl, apiKey, runwayVersion };
}
