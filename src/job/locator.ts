// Where a value of the job was written. A job is composed from several files (the job file, the
// bases it extends, asset catalogues) and from matrices that make many pairs out of one entry; the
// checks after composition still name values by JSON pointer into the composed job, and a Locator
// turns that pointer into the file, line and column where the value is written.
import type { SourceLocation } from "./types.js";

export interface Locator {
  /** The job file (the one given on the command line). */
  readonly file: string;
  /**
   * Where the value at a JSON pointer (as in ajv's instancePath) was written, or its key when
   * `part` is "key". Falls back to the nearest enclosing value for a pointer that does not exist.
   */
  locate(pointer: string, part?: "key" | "value"): SourceLocation;
}

interface Route {
  target: Locator;
  pointer: string;
}

/** The parent of a JSON pointer ("" for a top-level one). */
export function parentPointer(pointer: string): string {
  return pointer.slice(0, Math.max(pointer.lastIndexOf("/"), 0));
}

/**
 * A Locator of the composed job: each route sends a pointer (and everything under it) to the
 * place in another locator where that part was written. The longest routed prefix wins, so a
 * route for `/pairs/3/character` overrides the one for `/pairs/3`.
 */
export class RoutedLocator implements Locator {
  private readonly routes = new Map<string, Route>();

  constructor(
    readonly file: string,
    private readonly fallback: Locator,
  ) {}

  /** Sends `pointer` and everything under it to `targetPointer` in `target`. */
  route(pointer: string, target: Locator, targetPointer: string = pointer): void {
    this.routes.set(pointer, { target, pointer: targetPointer });
  }

  locate(pointer: string, part: "key" | "value" = "value"): SourceLocation {
    for (let current = pointer; ; current = parentPointer(current)) {
      const route = this.routes.get(current);
      if (route) return route.target.locate(route.pointer + pointer.slice(current.length), part);
      if (current === "") return this.fallback.locate(pointer, part);
    }
  }
}

/** A locator that puts every pointer at one place (a file found by a glob, say). */
export function fixedLocator(location: SourceLocation): Locator {
  return { file: location.file, locate: () => location };
}
