#!/usr/bin/env node
// Thin shim: the CLI lives in the built entry so the published package runs without a TS toolchain.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
