/** Summarises a V8 .cpuprofile (node --cpu-prof): where the server's CPU time went. */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Samples per node, only those taken between `from` and `to` (µs on the monotonic clock the
 * profile's own timestamps use, i.e. process.hrtime), so start-up does not count.
 */
export function hitsWithin(profile: CpuProfile, from: number, to: number): Map<number, number> {
  const hits = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (t < from || t > to) continue;
    const id = samples[i] as number;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

export interface Hot {
  name: string;
  where: string;
  /** Share of all samples, self time only. */
  selfPercent: number;
  /** Share of samples with this function anywhere on the stack. */
  totalPercent: number;
  /** For native and runtime functions: the nearest library or project frames that led there. */
  via?: { where: string; percent: number }[];
}

export interface ProfileSummary {
  seconds: number;
  samples: number;
  /** Share of samples the process was busy (not idle). */
  busyPercent: number;
  functions: Hot[];
  /** Self time per package / project directory / runtime part. */
  areas: { area: string; selfPercent: number }[];
}

/** node_modules/<pkg> (scoped too), the project's top-level directory, or the runtime. */
export function areaOf(url: string, functionName: string, projectRoot: string): string {
  if (!url) {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(idle)" || functionName === "(program)") return functionName;
    return "native / V8";
  }
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1] as string;
  if (url.startsWith("node:")) return "node: runtime";
  const path = url.replace(/^file:\/\//, "");
  if (path.startsWith(projectRoot)) {
    const rel = path.slice(projectRoot.length).replace(/^\/+/, "");
    const parts = rel.split("/");
    const top = parts[0] === "dist" ? parts[1] : parts[0];
    return `project: ${top}/`;
  }
  return "other";
}

const shortUrl = (url: string, projectRoot: string) =>
  url
    .replace(/^file:\/\//, "")
    .replace(projectRoot, "")
    .replace(/^\/+/, "")
    .replace(/^.*node_modules\//, "");

export function summarise(
  profile: CpuProfile,
  projectRoot: string,
  window?: { from: number; to: number },
  top = 20,
): ProfileSummary {
  const windowHits = window && profile.samples ? hitsWithin(profile, window.from, window.to) : null;
  const hitsOf = (n: ProfileNode) => (windowHits ? (windowHits.get(n.id) ?? 0) : (n.hitCount ?? 0));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = profile.nodes.reduce((s, n) => s + hitsOf(n), 0) || 1;
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((s, n) => s + hitsOf(n), 0);
  const busy = total - idle || 1;

  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"}|${n.callFrame.url}|${n.callFrame.lineNumber}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const via = new Map<string, Map<string, number>>();
  const areas = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = hitsOf(n);
    if (!hits || n.callFrame.functionName === "(idle)") continue;
    self.set(key(n), (self.get(key(n)) ?? 0) + hits);
    if (!n.callFrame.url || n.callFrame.url.startsWith("node:")) {
      // Who asked for this native or runtime work: the first frame from a package or the project.
      for (let id = parent.get(n.id); id !== undefined; id = parent.get(id)) {
        const frame = byId.get(id)?.callFrame;
        if (!frame?.url || frame.url.startsWith("node:")) continue;
        const where = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url, projectRoot)}:${frame.lineNumber + 1}`;
        const callers = via.get(key(n)) ?? new Map<string, number>();
        callers.set(where, (callers.get(where) ?? 0) + hits);
        via.set(key(n), callers);
        break;
      }
    }
    const area = areaOf(n.callFrame.url, n.callFrame.functionName, projectRoot);
    areas.set(area, (areas.get(area) ?? 0) + hits);
    // Count the hits once for every distinct function on the stack.
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const k = key(node);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + hits);
    }
  }
  const pct = (hits: number) => (100 * hits) / busy;
  const functions = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, hits]) => {
      const [name, url, line] = k.split("|") as [string, string, string];
      const callers = [...(via.get(k)?.entries() ?? [])]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([where, n]) => ({ where, percent: (100 * n) / hits }));
      return {
        name,
        where: url ? `${shortUrl(url, projectRoot)}:${Number(line) + 1}` : "(native)",
        selfPercent: pct(hits),
        totalPercent: pct(inclusive.get(k) ?? hits),
        ...(callers.length ? { via: callers } : {}),
      };
    });
  return {
    seconds: (window ? window.to - window.from : profile.endTime - profile.startTime) / 1e6,
    samples: total,
    busyPercent: (100 * busy) / total,
    functions,
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, hits]) => ({ area, selfPercent: pct(hits) })),
  };
}
