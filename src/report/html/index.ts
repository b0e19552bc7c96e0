// The contact sheet: `actbatch report` and `run --report`.
export {
  writeHtmlReport,
  buildHtmlReport,
  estimateManifestCost,
  REPORT_FILE,
  type HtmlReportOptions,
} from "./write.js";
export {
  estimateCost,
  formatCost,
  formatUsd,
  COMETAPI_USD_PER_TASK,
  RUNWAY_CREDITS_PER_SECOND,
  type CostEstimate,
} from "./cost.js";
export { escapeHtml } from "./escape.js";
export { loadJobContext, type JobContext } from "./references.js";
export { resolvePricing, type Pricing } from "./pricing.js";
