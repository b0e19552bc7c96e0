// The review server's plain-text answers, shared by its routes.
import type { ServerResponse } from "node:http";

export function send(response: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  response.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(body);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
