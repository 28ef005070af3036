import type { Highs } from "highs";
import * as highsModule from "highs";

/**
 * The attacker's view of a release, solved exactly: every linear relation a reader knows between
 * published and suppressed cells, and for each suppressed cell the smallest and largest value it can
 * take while every relation holds and every count is non-negative. This is the audit of the
 * classical cell-suppression literature (Cox; Fischetti and Salazar), solved with HiGHS: a cell whose
 * feasible interval is narrower than the threshold is not protected, whatever rule suppressed it.
 */

/** Σ coefficient × cell = 0 ("eq") or ≤ 0 ("le"), over published and suppressed cells alike. */
export interface Relation {
  terms: readonly { cell: string; coefficient: number }[];
  kind: "eq" | "le";
}

/** total = Σ parts. */
export const sumRelation = (total: string, parts: readonly string[]): Relation => ({
  kind: "eq",
  terms: [{ cell: total, coefficient: 1 }, ...parts.map((cell) => ({ cell, coefficient: -1 }))],
});

/** Σ smaller ≤ larger. */
export const atMost = (smaller: readonly string[], larger: string): Relation => ({
  kind: "le",
  terms: [...smaller.map((cell) => ({ cell, coefficient: 1 })), { cell: larger, coefficient: -1 }],
});

/**
 * Values a suppressed cell can take. Exact (the solver's minimum and maximum) for every cell whose
 * interval is narrower than the threshold; for the others a sub-interval spanned by feasible
 * releases the solver found, which already proves them protected.
 */
export interface Interval {
  min: number;
  /** Infinity when nothing published bounds the cell from above. */
  max: number;
}

export interface AuditResult {
  /** Every checked suppressed cell's feasible interval. */
  intervals: Map<string, Interval>;
  /** Suppressed cells whose interval is narrower than the threshold (zero width: pinned). */
  narrow: string[];
  /** Linear programs solved. */
  solves: number;
  /** Checked cells left unexamined because `enoughNarrow` narrow cells were already found. */
  unexamined: string[];
}

type Loader = typeof highsModule.default.default;
// The package's types describe its CommonJS build (default export under `default`); the ES build
// that Node loads exports the loader itself. Accept either.
const exported = highsModule.default as unknown as Loader | { default: Loader };
const highsLoader: Loader = typeof exported === "function" ? exported : exported.default;

let loaded: Promise<Highs> | undefined;
/** HiGHS compiled to WebAssembly, loaded once per process. */
export const loadSolver = () => {
  loaded ??= highsLoader();
  return loaded;
};

/** LP optima are exact up to the solver's feasibility tolerance (1e-7); this margin absorbs it. */
const EPS = 1e-6;
const OPTIMAL = 7;
const UNBOUNDED = 10;

/**
 * Min and max of every suppressed cell subject to `relations` (with the published cells at their
 * values) and non-negativity. Relations whose cells are all published constrain nothing and are
 * dropped; the rest split into independent components solved one at a time. `pause` is awaited
 * between solves so that a server keeps answering while a large release is audited.
 *
 * `check` limits the examination to some suppressed cells (the others still take part as
 * unknowns): suppressing more only removes constraints from the reader's problem, so a cell proven
 * protected stays protected, and a re-audit after further suppression need only look at the cells
 * that were narrow and the ones just added. Intervals are returned for the checked cells only.
 */
export async function auditRelease(
  values: ReadonlyMap<string, number>,
  suppressed: ReadonlySet<string>,
  relations: readonly Relation[],
  threshold: number,
  pause: () => Promise<void> = async () => {},
  check: ReadonlySet<string> = suppressed,
  /** Stop examining once this many narrow cells are found (the rest are returned as unexamined). */
  enoughNarrow = Number.POSITIVE_INFINITY,
): Promise<AuditResult> {
  const highs = await loadSolver();
  const variables = [...suppressed].sort();
  const column = new Map(variables.map((cell, i) => [cell, i]));
  const rows: { columns: number[]; coefficients: number[]; lower: number; upper: number }[] = [];
  for (const relation of relations) {
    let constant = 0;
    const columns: number[] = [];
    const coefficients: number[] = [];
    for (const { cell, coefficient } of relation.terms) {
      const c = column.get(cell);
      if (c === undefined) {
        const v = values.get(cell);
        if (v === undefined) throw new Error(`relation refers to unknown cell ${cell}`);
        constant += coefficient * v;
      } else {
        const at = columns.indexOf(c);
        if (at >= 0) coefficients[at] = (coefficients[at] as number) + coefficient;
        else {
          columns.push(c);
          coefficients.push(coefficient);
        }
      }
    }
    if (columns.length === 0) continue;
    rows.push({ columns, coefficients, lower: relation.kind === "eq" ? -constant : -highs.infinity, upper: -constant });
  }

  // Independent components: relations sharing no suppressed cell are separate programs.
  const parent = variables.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i] as number] as number;
      i = parent[i] as number;
    }
    return i;
  };
  for (const row of rows) {
    const [first, ...rest] = row.columns as [number, ...number[]];
    for (const c of rest) parent[find(c)] = find(first);
  }
  const components = new Map<number, { columns: number[]; rows: typeof rows }>();
  for (let i = 0; i < variables.length; i++) {
    const root = find(i);
    const comp = components.get(root) ?? { columns: [], rows: [] };
    comp.columns.push(i);
    components.set(root, comp);
  }
  for (const row of rows) components.get(find(row.columns[0] as number))?.rows.push(row);

  const intervals = new Map<string, Interval>();
  let solves = 0;
  const checked = (c: number) => check.has(variables[c] as string);
  const unexamined: string[] = [];
  let narrowFound = 0;
  for (const comp of components.values()) {
    if (!comp.columns.some(checked)) continue;
    if (comp.rows.length === 0) {
      // Bound by nothing a reader knows: any non-negative value fits.
      for (const c of comp.columns) {
        if (checked(c)) intervals.set(variables[c] as string, { min: 0, max: Number.POSITIVE_INFINITY });
      }
      continue;
    }
    const local = new Map(comp.columns.map((c, i) => [c, i]));
    const starts = [0];
    const indices: number[] = [];
    const coefs: number[] = [];
    for (const row of comp.rows) {
      row.columns.forEach((c, k) => {
        indices.push(local.get(c) as number);
        coefs.push(row.coefficients[k] as number);
      });
      starts.push(indices.length);
    }
    const n = comp.columns.length;
    const model = highs.createModel({
      numCols: n,
      numRows: comp.rows.length,
      colCost: new Array<number>(n).fill(0),
      colLower: new Array<number>(n).fill(0),
      colUpper: new Array<number>(n).fill(highs.infinity),
      rowLower: comp.rows.map((r) => r.lower),
      rowUpper: comp.rows.map((r) => r.upper),
      matrix: { format: "csr", numRows: comp.rows.length, numCols: n, starts, indices, values: coefs },
    });
    try {
      // Without presolve each run starts from the previous optimal basis: one objective changes per run.
      model.options.set({ output_flag: false, presolve: "off" });
      // Witnesses: every optimal solution is a feasible release, so each cell's values seen over
      // all solutions span part of its interval (the feasible set is convex). A cell whose witnesses
      // already span the threshold is proven protected without programs of its own; the rest get an
      // exact minimum and maximum. Objectives over many cells at once (random positive weights,
      // seeded: the audit is reproducible) find such witnesses in a handful of runs.
      const seenMin = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
      const seenMax = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
      const unbounded = new Uint8Array(n);
      const examined = Uint8Array.from(comp.columns, (c) => (checked(c) ? 1 : 0));
      const costs = new Float64Array(n);
      const setCosts = (next: Float64Array) => {
        for (let k = 0; k < n; k++) if (next[k] !== costs[k]) model.changeColCost(k, next[k] as number);
        costs.set(next);
      };
      /** Runs the current objective; false when it is unbounded (only possible when maximising). */
      const run = (sense: "min" | "max"): boolean => {
        model.changeObjectiveSense(
          sense === "max" ? highs.constants.objectiveSense.maximize : highs.constants.objectiveSense.minimize,
        );
        const { modelStatus } = model.run();
        solves++;
        if (modelStatus === UNBOUNDED && sense === "max") return false;
        if (modelStatus !== OPTIMAL) {
          throw new Error(`the release's relations have no feasible solution (HiGHS model status ${modelStatus})`);
        }
        const x = model.getSolution().colValue;
        for (let k = 0; k < n; k++) {
          const v = x[k] as number;
          if (v < (seenMin[k] as number)) seenMin[k] = v;
          if (v > (seenMax[k] as number)) seenMax[k] = v;
        }
        return true;
      };
      const wide = (k: number) =>
        unbounded[k] === 1 || (seenMax[k] as number) - (seenMin[k] as number) >= threshold + EPS;
      let seed = 0x9e3779b9 ^ n;
      const nextRandom = () => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
        return seed / 4294967296;
      };
      // Random signs push different cells up and down in each run; stop once runs stop proving cells.
      for (let round = 0, idle = 0; round < 24 && idle < 3; round++) {
        const open: number[] = [];
        for (let k = 0; k < n; k++) if (examined[k] && !wide(k)) open.push(k);
        if (open.length === 0) break;
        const weights = new Float64Array(n);
        for (const k of open) weights[k] = (nextRandom() < 0.5 ? -1 : 1) * (1 + nextRandom());
        setCosts(weights);
        // Unbounded: some open cell can grow without limit; the exact runs below tell which.
        if (!run("max")) break;
        let proven = 0;
        for (const k of open) if (wide(k)) proven++;
        idle = proven === 0 ? idle + 1 : 0;
        await pause();
      }
      const unit = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        if (!examined[j] || wide(j)) continue;
        if (narrowFound >= enoughNarrow) {
          examined[j] = 0;
          unexamined.push(variables[comp.columns[j] as number] as string);
          continue;
        }
        unit.fill(0);
        unit[j] = 1;
        setCosts(unit);
        if (!run("max")) unbounded[j] = 1;
        else if (!((seenMin[j] as number) <= EPS)) run("min");
        if (!wide(j)) narrowFound++;
        await pause();
      }
      for (let j = 0; j < n; j++) {
        if (!examined[j]) continue;
        intervals.set(variables[comp.columns[j] as number] as string, {
          min: Math.max(0, seenMin[j] as number),
          max: unbounded[j] ? Number.POSITIVE_INFINITY : (seenMax[j] as number),
        });
      }
    } finally {
      model.dispose();
    }
  }
  const narrow = [...intervals].filter(([, iv]) => iv.max - iv.min < threshold - EPS).map(([cell]) => cell);
  return { intervals, narrow, solves, unexamined };
}
