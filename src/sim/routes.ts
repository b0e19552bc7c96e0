// The route table: which route a method and path are. A route's template names it in the stats and
// the request log; its kind picks the handler (server.ts dispatches on it).
import type { RouteFamily } from "./tasks.js";

const COMET_PREFIX = "/runwayml";
const TASK_ID = /^[A-Za-z0-9-]{1,100}$/;

/** The API calls: each is a fault scope, and passes the checks in gate.ts. */
export type ApiKind = "create" | "get" | "delete";

export interface Route {
  template: string;
  family: RouteFamily;
  kind:
    | ApiKind
    | "download"
    | "asset"
    | "organization"
    | "upload-create"
    | "upload-file"
    | "stats"
    | "requests"
    | "unknown";
  id: string;
  /** Methods the route answers. */
  methods: string[];
}

/** Maps a path to its route; the template names it in the stats. */
export function routeOf(method: string, path: string): Route {
  let family: RouteFamily = "runway";
  let rest = path;
  if (path.startsWith(COMET_PREFIX + "/")) {
    family = "comet";
    rest = path.slice(COMET_PREFIX.length);
  }
  const prefix = family === "comet" ? COMET_PREFIX : "";
  if (rest === "/v1/character_performance")
    return {
      template: `${method} ${prefix}/v1/character_performance`,
      family,
      kind: "create",
      id: "",
      methods: ["POST"],
    };
  if (rest.startsWith("/v1/tasks/")) {
    const id = rest.slice("/v1/tasks/".length);
    if (TASK_ID.test(id)) {
      const kind = method === "DELETE" ? "delete" : "get";
      return { template: `${method} ${prefix}/v1/tasks/:id`, family, kind, id, methods: ["GET", "DELETE"] };
    }
  }
  if (family === "runway") {
    if (path === "/v1/uploads")
      return { template: `${method} /v1/uploads`, family, kind: "upload-create", id: "", methods: ["POST"] };
    if (path.startsWith("/__uploads/") && TASK_ID.test(path.slice("/__uploads/".length)))
      return {
        template: `${method} /__uploads/:id`,
        family,
        kind: "upload-file",
        id: path.slice("/__uploads/".length),
        methods: ["POST"],
      };
    if (path === "/v1/organization")
      return {
        template: `${method} /v1/organization`,
        family,
        kind: "organization",
        id: "",
        methods: ["GET"],
      };
    if (path.startsWith("/media/") && path.endsWith(".mp4")) {
      const id = path.slice("/media/".length, -".mp4".length);
      if (TASK_ID.test(id))
        return {
          template: `${method} /media/:id.mp4`,
          family,
          kind: "download",
          id,
          methods: ["GET", "HEAD"],
        };
    }
    if (path.startsWith("/assets/") && path.length > "/assets/".length)
      return { template: `${method} /assets/:name`, family, kind: "asset", id: "", methods: ["GET", "HEAD"] };
    if (path === "/__sim/requests")
      return { template: `${method} /__sim/requests`, family, kind: "requests", id: "", methods: ["GET"] };
    if (path === "/__sim/stats")
      return { template: `${method} /__sim/stats`, family, kind: "stats", id: "", methods: ["GET"] };
  }
  return { template: `${method} (unmatched)`, family, kind: "unknown", id: "", methods: [] };
}
