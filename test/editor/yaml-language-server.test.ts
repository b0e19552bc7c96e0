// The schema must drive a real editor: yaml-language-server (what VS Code's YAML extension runs),
// started over stdio, reads the modeline of a job file, flags a bad value on its line and offers
// the keys under `defaults`.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LspClient } from "./lsp-client.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const serverBin = `${repoRoot}node_modules/yaml-language-server/bin/yaml-language-server`;
const installed = existsSync(serverBin);
if (!installed)
  console.warn(
    "test/editor skipped: node_modules/yaml-language-server is missing (it is a devDependency: run npm install)",
  );

// Not written to disk: the editor sends the text; the modeline resolves against this path.
const documentUri = pathToFileURL(`${repoRoot}jobs/editor-check.yaml`).href;
const text = [
  "# yaml-language-server: $schema=../schemas/job.schema.json", // line 0
  "version: 1",
  "name: editor-check",
  "defaults:",
  "  expressionIntensity: 9", // line 4: above the maximum of 5
  "  ", // line 5: where completion is asked for
  "pairs:",
  '  - { id: a, character: { type: image, uri: "https://a.example.com/h.png" }, reference: { type: video, uri: "https://a.example.com/t.mp4" } }',
  "",
].join("\n");

interface Diagnostic {
  range: { start: { line: number; character: number } };
  message: string;
}

describe.skipIf(!installed)("the job schema in an editor (yaml-language-server over stdio)", () => {
  let client: LspClient;
  let diagnostics: Diagnostic[];

  beforeAll(async () => {
    const settings = {
      yaml: {
        validate: true,
        completion: true,
        hover: true,
        schemaStore: { enable: false },
        format: { enable: false },
      },
    };
    client = new LspClient(process.execPath, [serverBin, "--stdio"], settings);
    await client.request("initialize", {
      processId: process.pid,
      rootUri: pathToFileURL(repoRoot).href,
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
        textDocument: {
          publishDiagnostics: {},
          completion: { completionItem: { snippetSupport: true } },
          synchronization: { didSave: true },
        },
      },
      workspaceFolders: [{ uri: pathToFileURL(repoRoot).href, name: "actbatch" }],
    });
    client.notify("initialized", {});
    client.notify("workspace/didChangeConfiguration", { settings });
    const published = client.waitFor<{ uri: string; diagnostics: Diagnostic[] }>(
      "textDocument/publishDiagnostics",
      (params) => params.uri === documentUri && params.diagnostics.length > 0,
      30_000,
    );
    client.notify("textDocument/didOpen", {
      textDocument: { uri: documentUri, languageId: "yaml", version: 1, text },
    });
    diagnostics = (await published).diagnostics;
  }, 60_000);

  afterAll(async () => {
    await client?.close();
  });

  it("reports the out-of-range value on its own line", () => {
    expect(diagnostics.map((d) => d.range.start.line)).toEqual([4]);
    expect(diagnostics[0]?.message).toMatch(/above the maximum of 5/);
    // The schema came from the modeline, not from a catalogue.
    expect(JSON.stringify(diagnostics[0])).toContain("schemas/job.schema.json");
  });

  it("offers the request fields as completions under defaults", async () => {
    const answer = (await client.request("textDocument/completion", {
      textDocument: { uri: documentUri },
      position: { line: 5, character: 2 },
    })) as { items: { label: string }[] } | { label: string }[];
    const items = Array.isArray(answer) ? answer : answer.items;
    const labels = items.map((item) => item.label);
    expect(labels).toEqual(
      expect.arrayContaining(["ratio", "bodyControl", "seed", "contentModeration", "model"]),
    );
    expect(labels).not.toContain("expressionIntensity"); // already set
    expect(labels).not.toContain("pairs"); // a top-level key, not a field of defaults
  }, 30_000);

  it("offers extends and assetSources at the top level, matrix in a pair, its keys inside it", async () => {
    const uri = pathToFileURL(`${repoRoot}jobs/editor-catalogue.yaml`).href;
    const catalogue = [
      "# yaml-language-server: $schema=../schemas/job.schema.json", // line 0
      "version: 1",
      "name: editor-catalogue",
      "", // line 3: a top-level key
      "pairs:",
      "  - ", // line 5: a pair's key
      "  - matrix:",
      "      ", // line 7: a matrix's key
      "",
    ].join("\n");
    client.notify("textDocument/didOpen", {
      textDocument: { uri, languageId: "yaml", version: 1, text: catalogue },
    });
    const labelsAt = async (line: number, character: number): Promise<string[]> => {
      const answer = (await client.request("textDocument/completion", {
        textDocument: { uri },
        position: { line, character },
      })) as { items: { label: string }[] } | { label: string }[];
      return (Array.isArray(answer) ? answer : answer.items).map((item) => item.label);
    };
    expect(await labelsAt(3, 0)).toEqual(expect.arrayContaining(["extends", "assetSources"]));
    expect(await labelsAt(5, 4)).toEqual(expect.arrayContaining(["matrix", "id", "character"]));
    expect(await labelsAt(7, 6)).toEqual(expect.arrayContaining(["character", "reference"]));
  }, 30_000);
});
