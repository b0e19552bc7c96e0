/** Exit codes of the CLI (DESIGN.md section 3). One table, used by every command. */
export const ExitCode = {
  ok: 0,
  taskFailed: 1,
  usage: 2,
  accountStop: 3,
  /** The output folder's disk (or quota) is full: stopped, resumable once space is freed. */
  diskFull: 4,
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem the user can fix (bad flag, bad job file, missing key). Printed as its message only. */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.usage,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** A usage mistake on the command line: printed with the command's usage text. */
export class UsageError extends UserError {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message, ExitCode.usage);
  }
}
