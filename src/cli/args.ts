import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "../errors.js";
import { closestMatch } from "../job/suggest.js";

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
    throw new UsageError(describeParseError(error, options), usage);
  }
}

/**
 * node:util's messages, in actbatch's words: one short line, and for an unknown option the closest
 * known one (a typo of a long flag is the usual mistake).
 */
export function describeParseError(error: unknown, options: ParseArgsOptionsConfig): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /^Unknown option '([^']*)'/.exec(message)?.[1] ?? "";
    const known = Object.entries(options).flatMap(([name, option]) => [
      `--${name}`,
      ...(option.short === undefined ? [] : [`-${option.short}`]),
    ]);
    const match = flag.startsWith("--") ? closestMatch(flag, known) : undefined;
    return `unknown option ${flag}${match === undefined ? "" : `; did you mean ${match}?`}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const missing = /^Option '(-[^' ]+)(?:, (-[^' ]+))? <value>' argument missing/.exec(message);
    if (missing) return `option ${missing[2] ?? missing[1]} needs a value`;
    const extra = /^Option '(-[^' ]+)(?:, (-[^' ]+))?' does not take an argument/.exec(message);
    if (extra) return `option ${extra[2] ?? extra[1]} takes no value`;
  }
  return message.replace(/\. To specify a positional argument.*$/s, "");
}

/** Parses a positive integer flag value, naming the flag when it is not one. */
export function parsePositiveInt(flag: string, raw: string | undefined, usage: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw))
    throw new UsageError(`${flag} expects a positive integer, got "${raw}"`, usage);
  return Number(raw);
}
