// A task id goes into request paths (GET and DELETE /v1/tasks/{id}): only an id that is one plain path
// segment is taken, so that no answer can make a request name another route, before or after a proxy
// normalises the path (`..`, `/`, `%2f`, `\`, `?`, `#`, control characters).

const MAX_TASK_ID = 200;
const PLAIN = /^[A-Za-z0-9_.:-]+$/;

/** Why `id` is not a plain path segment, or null when it is one. */
export function taskIdProblem(id: string): string | null {
  if (id === "") return "it is empty";
  if (id.length > MAX_TASK_ID) return `it is longer than ${MAX_TASK_ID} characters`;
  if (/^\.+$/.test(id)) return "a path of dots names another route";
  if (!PLAIN.test(id)) return "it has characters other than letters, digits and _ . : -";
  return null;
}

/** An id for a message: quoted, escaped and clipped (it came from the service). */
export function quoteTaskId(id: string): string {
  return JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
}
