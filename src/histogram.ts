/**
 * A Prometheus histogram cheap enough for the hot path: an observation is one map lookup and a few
 * array writes, and the text format is built only when /metrics is scraped.
 * @module
 */

/** The buckets of one label set; observing through it skips the label lookup. */
export class HistogramSeries {
  readonly labels: string;
  readonly counts: Float64Array;
  sum = 0;
  readonly #bounds: readonly number[];

  constructor(labels: string, bounds: readonly number[]) {
    this.labels = labels;
    this.counts = new Float64Array(bounds.length + 1);
    this.#bounds = bounds;
  }

  /** Records one observation. */
  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
  }
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Label pairs in the text format, e.g. `op="get",code="200"`, with values escaped. */
export function labelText(names: readonly string[], values: readonly string[]): string {
  return names.map((n, i) => `${n}="${escape(values[i])}"`).join(",");
}

/** A histogram over a fixed list of label names and bucket bounds. */
export class Histogram {
  readonly #name: string;
  readonly #help: string;
  readonly #labelNames: readonly string[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

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

  /** The series of the given label values, made on first use. */
  series(labelValues: readonly string[]): HistogramSeries {
    const key = labelValues.join("\0");
    let series = this.#series.get(key);
    if (!series) {
      const labels = labelText(this.#labelNames, labelValues);
      series = new HistogramSeries(labels, this.#bounds);
      this.#series.set(key, series);
    }
    return series;
  }

  /** Records one observation for the given label values. */
  observe(labelValues: readonly string[], value: number): void {
    this.series(labelValues).observe(value);
  }

  /** The histogram in the Prometheus text format (empty when nothing was observed). */
  text(): string {
    // The family is shown before its first observation too, so a scrape (or a check) can tell a metric
    // that has seen nothing yet from one that does not exist.
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
