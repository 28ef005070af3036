/** Latency samples of one measured window, and the summary the report prints. */

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
  /** Samples above one second. */
  over1s: number;
}

/** Keeps every sample (a few hundred thousand at most) so percentiles are exact, not bucketed. */
export class Samples {
  private values = new Float64Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  histogram(): number[] {
    return histogram(this.values.subarray(0, this.n));
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.n).sort();
    let sum = 0;
    let over1s = 0;
    for (const v of sorted) {
      sum += v;
      if (v > 1000) over1s++;
    }
    return {
      count: this.n,
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: this.n ? (sorted[this.n - 1] as number) : 0,
      mean: this.n ? sum / this.n : 0,
      over1s,
    };
  }
}

/** Nearest-rank percentile of an ascending array (0 when empty). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Latency histogram as the report shows it: how many samples fall under each bound (ms). */
export const HISTOGRAM_BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export function histogram(samples: ArrayLike<number>): number[] {
  const counts: number[] = new Array(HISTOGRAM_BOUNDS.length + 1).fill(0);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    let b = HISTOGRAM_BOUNDS.findIndex((bound) => v <= bound);
    if (b < 0) b = HISTOGRAM_BOUNDS.length;
    counts[b] = (counts[b] as number) + 1;
  }
  return counts;
}

/** A stretch of a run between two moments (epoch ms), named for what happened then. */
export interface Phase {
  name: string;
  from: number;
  to: number;
}

/** The latency of the steps answered within each phase (a step at a boundary counts in the later one). */
export function cutTimeline(
  timeline: { at: number[]; ms: number[] },
  phases: Phase[],
): { name: string; seconds: number; latency: LatencySummary }[] {
  return phases.map((phase) => {
    const samples = new Samples();
    timeline.at.forEach((at, i) => {
      if (at >= phase.from && at < phase.to) samples.add(timeline.ms[i] as number);
    });
    return { name: phase.name, seconds: Math.max(0, phase.to - phase.from) / 1000, latency: samples.summary() };
  });
}
