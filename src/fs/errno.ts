/** The errno code (`ENOENT`, `EEXIST`…) of a failed file-system call, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

export function hasErrnoCode(error: unknown, ...codes: string[]): boolean {
  const code = errnoCode(error);
  return code !== undefined && codes.includes(code);
}

/** The file system is out of space or quota (here, or in an error's causes): writing again will not help. */
export function isDiskFull(error: unknown): boolean {
  for (let at = error, depth = 0; at !== undefined && depth < 5; depth++) {
    if (hasErrnoCode(at, "ENOSPC", "EDQUOT")) return true;
    at = at instanceof Error ? at.cause : undefined;
  }
  return false;
}

/** Why a file could not be read, in words: "no such file", "permission denied", or the error's own message. */
export function describeFsError(error: unknown): string {
  switch (errnoCode(error)) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
      return "permission denied";
    case "EISDIR":
      return "it is a folder, not a file";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
