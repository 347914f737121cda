/**
 * The error a repository throws when a create would overwrite an existing CNF's metric.
 * @module
 */

/** Thrown by `CnfRepository.create` when a row for the CNF already exists; the service maps it to ALREADY_EXISTS. */
export class CnfExistsError extends Error {
  /** The identifier that is already taken. */
  readonly cnfId: string;

  /** @param cnfId The identifier that is already taken. */
  constructor(cnfId: string) {
    super(
      `cnf_id: a metric for "${cnfId}" already exists; expected an id without one (use update to change it)`,
    );
    this.name = "CnfExistsError";
    this.cnfId = cnfId;
  }
}
