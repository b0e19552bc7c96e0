#!/usr/bin/env node
// Thin shim: the CLI lives in the built entry so the published package runs without a TS toolchain.
// The version check comes first, in syntax any Node runs, so an old Node gets one clear line instead
// of a stack trace from a dependency that needs Node 22.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `actbatch: needs Node.js >= 22.19, this is ${process.version}. ` +
      "In a clone of actbatch, `sh scripts/node22.sh node bin/actbatch.js ...` brings Node 22 for you.\n",
  );
  process.exit(2);
}
// Node's compile cache keeps the compiled code of actbatch and its dependencies on disk (in the
// system's temporary folder): from the second command on, start-up skips most of the compiling.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const { enableCompileCache } = await import("node:module");
enableCompileCache?.();
const { main } = await import("../dist/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
