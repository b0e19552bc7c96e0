import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.js";

export interface ParsedArgs<T extends ParseArgsOptionsConfig> {
  values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true }>>["values"];
  positionals: string[];
}

/**
 * Strict flag parsing for one command: an unknown flag or a missing value becomes a UsageError
 * carrying the command's usage text, so every command reports mistakes the same way.
 */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  usage: string,
): ParsedArgs<T> {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, ""), usage);
  }
}

/** Parses a positive integer flag value, naming the flag when it is not one. */
export function parsePositiveInt(flag: string, raw: string | undefined, usage: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw))
    throw new UsageError(`${flag} expects a positive integer, got "${raw}"`, usage);
  return Number(raw);
}
