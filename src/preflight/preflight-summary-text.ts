import type { PreflightReport } from "./preflight.js";

/** One line: how many assets were checked and what it cost. */
export function formatPreflightSummary(report: PreflightReport): string {
  const total = report.assets.length;
  const bad = report.assets.filter((probe) => probe.verdict === "problem").length;
  const cached = report.assets.filter((probe) => probe.cached).length;
  const what = `${total} asset${total === 1 ? "" : "s"} checked`;
  const verdict = bad === 0 ? "all usable" : `${bad} with problems`;
  const cost = `${report.requests} request${report.requests === 1 ? "" : "s"}, ${report.bytes} bytes read`;
  return `preflight: ${what}, ${verdict} (${cost}${cached > 0 ? `, ${cached} from cache` : ""})`;
}
