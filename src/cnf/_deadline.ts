/**
 * A time limit on one database operation, so a hung database fails a request instead of holding it.
 * @module
 */

/** Thrown when a database operation did not finish in time; the service maps it to UNAVAILABLE. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/**
 * Resolves as `work` does, or rejects with a {@linkcode DeadlineError} once `ms` have passed. A late
 * outcome of `work` is dropped, never reported as an unhandled rejection.
 *
 * @param work The operation.
 * @param ms The limit in milliseconds.
 * @param what The operation, for the error message, e.g. `"read of CNF-001"`.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineError(`database ${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
