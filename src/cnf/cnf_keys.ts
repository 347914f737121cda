/**
 * Keeps the `metrics` group's key filter (the penetration guard) in step with the CNF table: built from
 * every `cnf_id` at start, then rebuilt on an interval so rows written behind the cache's back are
 * found. Writes through the cache add their id at once (see Group).
 * @module
 */
import type { SourceKeyFilter } from "../cache/key_filter.ts";
import { log } from "../log.ts";
import type { CnfRepository } from "./repository.ts";

/** Rows read per page while listing the table's ids. */
const PAGE = 1000;

/**
 * Every `cnf_id` in the table, a page at a time.
 *
 * @param repo The CNF repository.
 * @returns The ids in byte order.
 */
export async function* cnfIds(repo: CnfRepository): AsyncGenerator<string> {
  let after = "";
  for (;;) {
    const page = await repo.list(after, PAGE);
    for (const m of page) yield m.cnfId;
    if (page.length < PAGE) return;
    after = page[page.length - 1].cnfId;
  }
}

/**
 * Builds the filter now and rebuilds it every `refreshMs`. A failed build keeps the last filter (before
 * the first success none rules anything out) and is logged; the next interval tries again.
 *
 * @param filter The group's filter.
 * @param repo The CNF repository.
 * @param refreshMs Time between rebuilds.
 * @returns Stops the rebuilds.
 */
export async function keepKeyFilter(
  filter: SourceKeyFilter,
  repo: CnfRepository,
  refreshMs: number,
): Promise<() => void> {
  const rebuild = async () => {
    try {
      await filter.rebuild(() => cnfIds(repo));
    } catch (e) {
      const { active } = filter.stats();
      log("warn", "key filter rebuild failed", {
        error: (e as Error).message,
        filter: active ? "the last filter stays" : "no filter yet: every key goes to the source",
      });
    }
  };
  await rebuild();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= rebuild().finally(() => running = undefined);
  }, refreshMs);
  return () => clearInterval(timer);
}
