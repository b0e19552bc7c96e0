// The transport's text answers (sendText) against scripted loopback servers: the same outcomes as
// send followed by readText, for every way an answer can end.
import { afterEach, describe, expect, it } from "vitest";
import { StreamedBody, readText } from "../../src/api/streamed-body.js";
import { createTransport, type Transport, type TransportRequest } from "../../src/api/transport.js";
import { sendJson, startScriptedServer, type ScriptedHandler } from "../helpers/scripted-server.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function serve(handler: ScriptedHandler): Promise<{ origin: string; requests: unknown[] }> {
  const server = await startScriptedServer(handler);
  cleanups.push(() => server.close());
  return server;
}

function transportFor(origin: string, connections = 4): Transport {
  const transport = createTransport({
    apiOrigin: origin,
    apiKey: "key-not-a-secret",
    runwayVersion: "2024-11-06",
    connections,
    connectMs: 5_000,
    headersMs: 5_000,
    bodyMs: 5_000,
  });
  cleanups.push(() => transport.close());
  return transport;
}

function get(origin: string, signal?: AbortSignal): TransportRequest {
  return { origin, path: "/v1/tasks/t", method: "GET", headers: {}, signal, credentials: true };
}

describe("sendText", () => {
  it("answers the status, headers and body that send and readText give", async () => {
    // A fixed Date: the two answers compared may come either side of a second's boundary.
    const date = "Sun, 06 Dec 2026 07:05:25 GMT";
    const server = await serve((_req, res) => sendJson(res, 200, { id: "t", status: "RUNNING" }, { date }));
    const transport = transportFor(server.origin);
    const text = await transport.sendText(get(server.origin), 1024);
    const sent = await transport.send(get(server.origin));
    if (sent.kind !== "response") throw new Error("no response");
    expect(text).toEqual({
      kind: "response",
      status: sent.status,
      headers: sent.headers,
      text: await readText(sent.body, 1024),
      cut: false,
    });
    expect(text.kind === "response" && JSON.parse(text.text)).toEqual({ id: "t", status: "RUNNING" });
  });

  it("sends the key and the version to the API's origin", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const server = await serve((req, res) => {
      seen.push(req.headers);
      sendJson(res, 200, {});
    });
    await transportFor(server.origin).sendText(get(server.origin), 1024);
    expect(seen[0]).toMatchObject({ authorization: "Bearer key-not-a-secret", "user-agent": "actbatch" });
  });

  it("cuts an answer at the chunk that passes the limit, as readText does", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("0123456789");
      setTimeout(() => res.write("abcdef"), 30);
    });
    const result = await transportFor(server.origin).sendText(get(server.origin), 10);
    expect(result).toMatchObject({ kind: "response", status: 200, text: "0123456789", cut: true });
  });

  it("a body that breaks off after the headers is broken, with the status it had", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"id":"t');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const result = await transportFor(server.origin).sendText(get(server.origin), 1024);
    expect(result.kind).toBe("broken");
    expect(result.kind === "broken" && result.status).toBe(200);
  });

  it("no answer at all is failed, after the request left", async () => {
    const server = await serve((_req, res) => {
      res.socket?.destroy();
    });
    const result = await transportFor(server.origin).sendText(get(server.origin), 1024);
    expect(result).toMatchObject({ kind: "failed", sent: true, aborted: false });
    expect(result.kind === "failed" && result.code).toBe("UND_ERR_SOCKET");
  });

  it("an aborted signal sends nothing", async () => {
    const server = await serve((_req, res) => sendJson(res, 200, {}));
    const controller = new AbortController();
    controller.abort();
    const result = await transportFor(server.origin).sendText(get(server.origin, controller.signal), 1024);
    expect(result).toMatchObject({ kind: "failed", sent: false, aborted: true });
    expect(server.requests).toHaveLength(0);
  });

  it("an abort while the request waits for a connection ends it at once, unsent", async () => {
    const arrivals: Array<() => void> = [];
    const firstArrived = new Promise<void>((resolve) => arrivals.push(resolve));
    // Never answers: the one connection stays busy.
    const server = await serve(() => arrivals.shift()?.());
    const transport = transportFor(server.origin, 1);
    const busy = new AbortController();
    const first = transport.sendText(get(server.origin, busy.signal), 1024);
    await firstArrived;
    const controller = new AbortController();
    const second = transport.sendText(get(server.origin, controller.signal), 1024);
    controller.abort();
    expect(await second).toMatchObject({ kind: "failed", sent: false, aborted: true });
    busy.abort();
    expect(await first).toMatchObject({ kind: "failed", sent: true, aborted: true });
    expect(server.requests).toHaveLength(1);
  });

  it("an abort while the body arrives is broken, and the signal says aborted", async () => {
    const controller = new AbortController();
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // Aborted two loop turns after the bytes reached the socket, with no timer: the client reads them
      // in the poll phase between the two turns, whatever the load (a timer could fire before it).
      res.write('{"id":', () => setImmediate(() => setImmediate(() => controller.abort())));
    });
    const result = await transportFor(server.origin).sendText(get(server.origin, controller.signal), 1024);
    expect(result.kind).toBe("broken");
    expect(controller.signal.aborted).toBe(true);
  });
});

describe("send: a body the caller reads as it arrives", () => {
  const MIB = 1024 * 1024;

  it("pauses the connection past a megabyte unread, and resumes it when the caller takes", () => {
    const calls: string[] = [];
    const controller = {
      pause: () => calls.push("pause"),
      resume: () => calls.push("resume"),
      abort: () => calls.push("abort"),
    };
    const outcomes: unknown[] = [];
    const body = new StreamedBody(null, (outcome) => outcomes.push(outcome));
    body.onRequestStart(controller);
    body.onResponseStart(controller, 200, {});
    expect(outcomes).toMatchObject([{ kind: "response", status: 200, body }]);
    const chunk = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 3; i++) body.onResponseData(controller, chunk);
    expect(calls).toEqual([]);
    body.onResponseData(controller, chunk);
    expect(calls).toEqual(["pause"]);
    void body.take();
    expect(calls).toEqual(["pause", "resume"]);
  });

  it("delivers every byte of a body larger than what it buffers, to a caller slower than the network", async () => {
    const total = 16 * MIB;
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(total) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      let written = 0;
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const sent = await transportFor(server.origin).send(get(server.origin));
    if (sent.kind !== "response") throw new Error("no response");
    let received = 0;
    for (let chunks = await sent.body.take(); chunks !== null; chunks = await sent.body.take()) {
      for (const chunk of chunks) received += chunk.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(received).toBe(total);
  });

  it("discard drops an unfinished body's connection, and a later take says so", async () => {
    const closedEarly: Array<() => void> = [];
    const closed = new Promise<void>((resolve) => closedEarly.push(resolve));
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789");
      res.on("close", () => {
        if (!res.writableFinished) closedEarly[0]?.();
      });
    });
    const sent = await transportFor(server.origin).send(get(server.origin));
    if (sent.kind !== "response") throw new Error("no response");
    expect(Buffer.concat((await sent.body.take()) ?? []).toString()).toBe("0123456789");
    sent.body.discard();
    await closed;
    await expect(sent.body.take()).rejects.toThrow(/discarded/);
  });

  it("an abort while the body arrives rejects the caller's take with the abort's reason", async () => {
    const controller = new AbortController();
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789");
    });
    const sent = await transportFor(server.origin).send(get(server.origin, controller.signal));
    if (sent.kind !== "response") throw new Error("no response");
    expect(Buffer.concat((await sent.body.take()) ?? []).toString()).toBe("0123456789");
    const waiting = sent.body.take();
    controller.abort(new Error("stopped by the caller"));
    await expect(waiting).rejects.toThrow("stopped by the caller");
  });

  it("a body that breaks off after the headers rejects the caller's take", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789", () => setImmediate(() => res.socket?.destroy()));
    });
    const sent = await transportFor(server.origin).send(get(server.origin));
    if (sent.kind !== "response") throw new Error("no response");
    const taken: Buffer[] = [];
    const reading = (async () => {
      for (let chunks = await sent.body.take(); chunks !== null; chunks = await sent.body.take())
        taken.push(...chunks);
    })();
    await expect(reading).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(Buffer.concat(taken).toString()).toBe("0123456789");
  });
});
