// The validators the commands use are compiled ahead of time from the schema files
// (scripts/generate-validators.ts): a schema edited without generating them again fails here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GENERATED } from "../../scripts/generate-validators.ts";
import { repoRoot } from "../helpers/cli.js";

describe("generated schema validators", () => {
  it.each(GENERATED.map((file) => [file.path, file] as const))(
    "%s is what the generator makes of today's schema (else: node scripts/generate-validators.ts)",
    (path, file) => {
      expect(readFileSync(join(repoRoot, path), "utf8") === file.source()).toBe(true);
    },
  );
});
