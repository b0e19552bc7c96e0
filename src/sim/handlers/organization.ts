// GET /v1/organization (Runway only, authenticated and faulted like a task GET): the account's
// figures as ../account.ts reports them.
import type { SimContext } from "../context.js";
import type { Exchange } from "../exchange.js";

export function handleOrganization(ctx: SimContext, exchange: Exchange): void {
  exchange.sendJson(200, ctx.account.organization());
}
