// Typed errors: every failure a user can cause names the file or thing at fault and what is wrong.

export class RoseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A shape or dtype mismatch found while building a graph. */
export class ShapeError extends RoseError {}

/** onnxruntime rejected a graph or failed while running it. */
export class EngineError extends RoseError {}

/** A file that cannot be read as what it claims to be (corrupt, truncated, wrong format). */
export class FormatError extends RoseError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/**
 * Invalid user-provided configuration or command-line arguments. `options` names the library options at
 * fault as the message spells them (`batchSize`), so a front end can say its own flag (`--batch-size`).
 */
export class ConfigError extends RoseError {
  constructor(
    message: string,
    readonly options: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A data row that cannot be used (missing field, unknown label, empty text). */
export class DataError extends RoseError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    problem: string,
  ) {
    super(line === null ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
  }
}

/** Training diverged (NaN or infinite loss). */
export class DivergenceError extends RoseError {}

/** A sweep's Redis queue cannot be used (unreachable, malformed URL, or busy with another sweep). */
export class QueueError extends RoseError {}
