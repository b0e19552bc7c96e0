// What the reliability harness and its out-of-process simulator host say to each other.
import type { SimulatorOptions } from "../../../src/sim/index.js";

/** Error bodies that echo the Authorization header back, on every n-th request of the given routes. */
export interface EchoMode {
  routes: ("create" | "get")[];
  every: number;
  status: number;
  /** How the key comes back: the header line, inside JSON, base64, URL-encoded, or its first 20 characters. */
  form: "header" | "json" | "base64" | "url" | "prefix";
}

export interface HostOptions {
  /** Simulator options (JSON-serialisable ones: no clock). */
  sim?: Omit<SimulatorOptions, "clock" | "apiKey">;
  /** The only key the simulator accepts. */
  apiKey?: string;
  /** The runner's output folder, whose journal the proxy reads on each create. */
  journalDir?: string;
  echo?: EchoMode;
  /**
   * The first create of each body is answered by the proxy with this (a 429 wave, say); later ones go
   * through. A list is dealt out to new bodies in turn.
   */
  firstCreate?: CannedAnswer | CannedAnswer[];
}

export interface CannedAnswer {
  status: number;
  /** A header value "{now+N}" becomes the HTTP date N ms after the moment of the answer. */
  headers?: Record<string, string>;
  body: string;
}

/** One API request as the proxy in front of the simulator saw it. */
export interface ProxyRecord {
  at: number;
  method: string;
  path: string;
  kind: "create" | "get" | "delete" | "other";
  /** HTTP status, "reset" (the simulator dropped the connection), or "<status>-echo". */
  status: string;
  /** taskKeyOf(body) of a create. */
  key: string | null;
  /** First 12 hex digits of the sha256 of the Authorization header (never the header), or null. */
  auth: string | null;
}

/** What the runner's journal held when a create for `key` reached the proxy. */
export interface IntentCheck {
  key: string;
  at: number;
  /** The key's last journal record was an intent with no answer yet. */
  found: boolean;
  detail: string;
}

export interface HostUrls {
  /** CometAPI-form base URL of the proxy (what the runner is given). */
  baseUrl: string;
  simOrigin: string;
  proxyOrigin: string;
}
