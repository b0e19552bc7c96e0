import { ExitCode, UserError } from "../../errors.js";
import type { CliIo } from "../io.js";

export async function runCommand(_args: string[], _io: CliIo): Promise<number> {
  throw new UserError("actbatch merge is not available yet", ExitCode.usage);
}
