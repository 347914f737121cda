/**
 * A Prometheus histogram cheap enough for the hot path: an observation is one map lookup and a few
 * array writes, and the text format is built only when /metrics is scraped.
 * @module
 */

interface Series {
  labels: string;
  counts: Float64Array;
  sum: number;
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A histogram over a fixed list of label names and bucket bounds. */
export class Histogram {
  readonly #name: string;
  readonly #help: string;
  readonly #labelNames: readonly string[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  /**
   * @param name Metric name, e.g. "distcache_request_duration_seconds".
   * @param help One line describing it.
   * @param labelNames The label names, in the order `observe` takes their values.
   * @param bounds Bucket upper bounds, ascending; +Inf is added.
   * @example
   * ```ts
   * const h = new Histogram("op_seconds", "Operations.", ["op"], [0.001, 0.01]);
   * h.observe(["get"], 0.004);
   * h.text(); // "# HELP op_seconds Operations.\n# TYPE op_seconds histogram\n..."
   * ```
   */
  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    this.#name = name;
    this.#help = help;
    this.#labelNames = labelNames;
    this.#bounds = bounds;
  }

  /** Records one observation for the given label values. */
  observe(labelValues: readonly string[], value: number): void {
    const key = labelValues.join("\0");
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: this.#labelNames.map((n, i) => `${n}="${escape(labelValues[i])}"`).join(","),
        counts: new Float64Array(this.#bounds.length + 1),
        sum: 0,
      };
      this.#series.set(key, series);
    }
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]) i++;
    series.counts[i]++;
    series.sum += value;
  }

  /** The histogram in the Prometheus text format (empty when nothing was observed). */
  text(): string {
    if (this.#series.size === 0) return "";
    const n = this.#name;
    const lines = [`# HELP ${n} ${this.#help}`, `# TYPE ${n} histogram`];
    for (const { labels, counts, sum } of this.#series.values()) {
      let cumulative = 0;
      for (let i = 0; i < counts.length; i++) {
        cumulative += counts[i];
        const le = i < this.#bounds.length ? String(this.#bounds[i]) : "+Inf";
        lines.push(`${n}_bucket{${labels},le="${le}"} ${cumulative}`);
      }
      lines.push(`${n}_sum{${labels}} ${sum}`, `${n}_count{${labels}} ${cumulative}`);
    }
    return lines.join("\n") + "\n";
  }
}
