// Small, dependency-free statistics for benchmark samples: median, percentiles, mean, spread.
// Percentiles use linear interpolation between closest ranks, so small sample sets still give stable figures.

/** The samples sorted ascending, as a new array (the input is left alone). */
export function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** The `p`-th percentile (0–100) of samples already sorted ascending; NaN for no samples. */
export function percentileOfSorted(ascending: ArrayLike<number>, p: number): number {
  const n = ascending.length;
  if (n === 0) return Number.NaN;
  if (p <= 0) return ascending[0] ?? Number.NaN;
  if (p >= 100) return ascending[n - 1] ?? Number.NaN;
  const rank = (p / 100) * (n - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  const low = ascending[lower] ?? Number.NaN;
  const high = ascending[upper] ?? Number.NaN;
  return low + (high - low) * (rank - lower);
}

export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(sorted(samples), p);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  let sum = 0;
  for (const s of samples) sum += s;
  return sum / samples.length;
}

export function max(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : Math.max(...samples);
}

export function min(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : Math.min(...samples);
}

/** (max − min) / median: how much the rounds disagree, to flag a noisy measurement. */
export function relativeSpread(samples: readonly number[]): number {
  return (max(samples) - min(samples)) / median(samples);
}

/** `a / b`, or null when either side is missing or b is zero. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a / b;
}
