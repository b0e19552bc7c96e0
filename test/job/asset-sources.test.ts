// Asset catalogues (CSV, JSONL, globs of local files): rows become assets checked as the job
// file's own are, and every mistake is reported at its line and column in the catalogue.
import { afterEach, describe, expect, it } from "vitest";
import { parseCsv } from "../../src/job/csv.js";
import { lines, writeJobTree, type JobTree } from "./job-tree.js";

let tree: JobTree | undefined;
afterEach(async () => {
  await tree?.remove();
  tree = undefined;
});

const JOB = (...sources: string[]) =>
  lines(
    "version: 1",
    "name: catalogue",
    "assetSources:",
    ...sources,
    "pairs:",
    "  - matrix: { character: [cat, fox, owl], reference: [wave] }",
    '    id: "{character}"',
  );

describe("asset catalogues", () => {
  it("read CSV (any column order, quoted values, paths beside the CSV), JSONL and globs", async () => {
    tree = await writeJobTree({
      "jobs/job.yaml": JOB(
        "  - csv: ./catalog/characters.csv",
        "  - jsonl: ./catalog/takes.jsonl",
        '  - glob: "./clips/*.png"',
      ),
      "jobs/catalog/characters.csv": lines(
        "type,name,uri,path",
        'image,fox,"https://assets.example.com/fox,1.png",',
        "image,owl,,./owl.png",
      ),
      "jobs/catalog/owl.png": "owl bytes",
      "jobs/catalog/takes.jsonl": lines(
        '{"name": "wave", "type": "video", "uri": "https://assets.example.com/wave.mp4", "duration": 6}',
        "",
      ),
      "jobs/clips/cat.png": "cat bytes",
      "jobs/clips/.hidden.png": "not listed",
    });
    const { plan, report } = await tree.load("jobs/job.yaml");
    expect(plan.tasks.map((task) => task.pair)).toEqual(["cat", "fox", "owl"]);
    expect(plan.tasks[1]?.request.character.uri).toBe("https://assets.example.com/fox,1.png");
    expect(plan.localFiles?.map((file) => file.path).toSorted()).toEqual([
      `${tree.dir}/jobs/catalog/owl.png`,
      `${tree.dir}/jobs/clips/cat.png`,
    ]);
    expect(report.assets?.find((asset) => asset.names.includes("wave"))?.durationHint).toBe(6);
    // The assets are located in their catalogues, for preflight's messages.
    expect(report.assets?.find((asset) => asset.names.includes("owl"))?.sources).toEqual([
      { file: "jobs/catalog/characters.csv", line: 3, column: 7 },
    ]);
  });

  it("check each row as an asset, at the catalogue's line and column", async () => {
    tree = await writeJobTree({
      "job.yaml": JOB("  - csv: ./characters.csv", "  - jsonl: ./takes.jsonl"),
      "characters.csv": lines(
        "name,type,uri",
        "fox,imgae,https://assets.example.com/fox.png",
        "owl,image",
        "Bad Name,image,https://assets.example.com/b.png",
      ),
      "takes.jsonl": lines(
        '{"name": "wave", "type": "video", "url": "https://assets.example.com/wave.mp4"}',
        '{"name": "hop", "type": "video", ',
      ),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      "characters.csv:3:1: error: this row has 2 values, but the header names 3 columns (name,type,uri)",
      "characters.csv:4:1: error: the asset name \"Bad Name\" is not a valid name: expected lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters",
      expect.stringMatching(/^takes\.jsonl:2:\d+: error: not valid JSON: /),
    ]);
    await tree.remove();
    tree = await writeJobTree({
      "job.yaml": JOB("  - csv: ./characters.csv", "  - jsonl: ./takes.jsonl"),
      "characters.csv": lines(
        "name,type,uri",
        "fox,imgae,https://assets.example.com/fox.png",
        "owl,image,http://assets.example.com/owl.png",
      ),
      "takes.jsonl": lines('{"name": "wave", "type": "video", "url": "https://assets.example.com/wave.mp4"}'),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'characters.csv:2:5: error: expected one of "image", "video", got "imgae"',
      "takes.jsonl:1:1: error: missing uri (an https:// URL, a data: URI or a runway:// upload URI) or path (a local file)",
      'takes.jsonl:1:35: error: unknown key "url": did you mean "uri"?',
    ]);
  });

  it("refuse an unknown column with a suggestion, a missing file, and a glob that matches nothing", async () => {
    tree = await writeJobTree({
      "job.yaml": JOB("  - csv: ./characters.csv", "  - csv: ./nowhere.csv", '  - glob: "./clips/*.mp4"'),
      "characters.csv": lines("name,tpye,uri", "fox,image,https://assets.example.com/fox.png"),
    });
    expect(await tree.problems("job.yaml")).toEqual(
      [
        'characters.csv:1:6: error: unknown column "tpye": did you mean "type"?',
        'characters.csv:1:1: error: the header has no "type" column; expected a header row such as name,type,uri',
        "job.yaml:5:10: error: cannot read ./nowhere.csv: no such file",
        'job.yaml:6:11: error: "./clips/*.mp4" matches no file (a glob is relative to the folder of job.yaml)',
      ].toSorted((a, b) => a.localeCompare(b)),
    );
  });

  it("refuse a name defined twice in one file, naming both places; a base's asset is overridden", async () => {
    tree = await writeJobTree({
      "job.yaml": lines(
        "version: 1",
        "name: twice",
        "assets:",
        '  fox: { type: image, uri: "https://assets.example.com/fox.png" }',
        "assetSources:",
        "  - csv: ./characters.csv",
        "pairs:",
        "  - { id: p, character: fox, reference: { type: video, uri: 'https://assets.example.com/w.mp4' } }",
      ),
      "characters.csv": lines("name,type,uri", "fox,image,https://assets.example.com/other-fox.png"),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'characters.csv:2:1: error: asset "fox" is defined twice: here and at job.yaml:4:3',
    ]);
    await tree.remove();
    tree = await writeJobTree({
      "base.yaml": lines("version: 1", "assetSources:", "  - csv: ./characters.csv"),
      "characters.csv": lines("name,type,uri", "fox,image,https://assets.example.com/old-fox.png"),
      "job.yaml": lines(
        "version: 1",
        "extends: ./base.yaml",
        "name: override",
        "assets:",
        '  fox: { type: image, uri: "https://assets.example.com/new-fox.png" }',
        "pairs:",
        "  - { id: p, character: fox, reference: { type: video, uri: 'https://assets.example.com/w.mp4' } }",
      ),
    });
    const { plan } = await tree.load("job.yaml");
    expect(plan.tasks[0]?.request.character.uri).toBe("https://assets.example.com/new-fox.png");
  });

  it("a glob names its files' type by extension, or refuses to guess", async () => {
    tree = await writeJobTree({
      "job.yaml": JOB('  - glob: "./media/*"', "  - jsonl: ./takes.jsonl"),
      "media/fox.png": "fox",
      "media/notes.txt": "text",
      "takes.jsonl": lines('{"name": "wave", "type": "video", "uri": "https://assets.example.com/w.mp4"}'),
    });
    expect(await tree.problems("job.yaml")).toEqual([
      'job.yaml:4:11: error: media/notes.txt: cannot tell an image from a video by its extension ".txt"; add type: image or type: video to this entry',
    ]);
  });
});

describe("the CSV reader", () => {
  it("keeps where each value starts, through quotes, CRLF, a BOM and blank lines", () => {
    const { records, problems } = parseCsv('\uFEFFa,b\r\n\r\n"x\ny", z \n"q""uote",""\n');
    expect(problems).toEqual([]);
    expect(records).toEqual([
      {
        line: 1,
        cells: [
          { text: "a", line: 1, column: 1 },
          { text: "b", line: 1, column: 3 },
        ],
      },
      {
        line: 3,
        cells: [
          { text: "x\ny", line: 3, column: 1 },
          { text: "z", line: 4, column: 5 },
        ],
      },
      {
        line: 5,
        cells: [
          { text: 'q"uote', line: 5, column: 1 },
          { text: "", line: 5, column: 11 },
        ],
      },
    ]);
  });

  it("reports an unclosed quote and text after a closing quote", () => {
    expect(parseCsv('a,"b"c\n"open').problems).toEqual([
      {
        line: 1,
        column: 6,
        message: 'unexpected text after a closing quote; write "" for a quote inside a quoted value',
      },
      { line: 2, column: 1, message: 'a quoted value is not closed (a " with no closing ")' },
    ]);
  });
});
