/** A raw count before publication: its value, and how many distinct people stand behind it. */
export interface RawCount {
  value: number;
  people: number;
}

/** Published cells that add up: `total` = sum of `parts` (ids into the cell map). */
export interface Group {
  total: string;
  parts: string[];
}

/**
 * Primary and complementary cell suppression.
 *
 * Primary: every cell behind fewer than `minPeople` people (zero included: "nobody in this district
 * was rejected" says something about everyone who applied there).
 * Complementary: a group with exactly one suppressed member would give it away by subtraction; and
 * with its total published, the hidden parts' sum is known exactly (total − published parts), so
 * when that sum is under `minPeople` every hidden part is confined to an interval narrower than the
 * threshold (zeros suppressed beside a small cell do not protect it). Either way a further
 * published part is suppressed (the total only when no part is left): the smallest one, except that
 * a part which also closes another such group is preferred, since it protects two cells at the cost
 * of one. A new suppression can expose another group, so this repeats until none is exposed. It
 * only ever adds suppressions, so it ends. This is a fast first pass: the release audit
 * (audit.ts) then proves the result over all relations at once and suppresses further if needed.
 *
 * `already` are cells suppressed beforehand (by the audit), kept and built on.
 *
 * Returns the ids of the suppressed cells.
 */
export function suppressCells(
  cells: ReadonlyMap<string, RawCount>,
  groups: Group[],
  minPeople: number,
  already: Iterable<string> = [],
): Set<string> {
  const suppressed = new Set<string>(already);
  for (const [id, cell] of cells) if (cell.people < minPeople) suppressed.add(id);

  const usable = groups.filter((g) => g.parts.length > 0);
  const groupsOf = new Map<string, number[]>();
  const hiddenIn = usable.map(() => 0);
  /** Σ values of the hidden parts of each group (what a reader derives when the total is shown). */
  const hiddenMass = usable.map(() => 0);
  const exposed = (g: number) => {
    const hidden = hiddenIn[g] as number;
    if (hidden === 1) return true;
    const group = usable[g] as Group;
    return hidden > 0 && !suppressed.has(group.total) && (hiddenMass[g] as number) < minPeople;
  };
  const hide = (id: string) => {
    suppressed.add(id);
    for (const g of groupsOf.get(id) ?? []) {
      hiddenIn[g] = (hiddenIn[g] as number) + 1;
      if ((usable[g] as Group).total !== id)
        hiddenMass[g] = (hiddenMass[g] as number) + (cells.get(id) as RawCount).value;
    }
  };
  usable.forEach((group, index) => {
    for (const id of [group.total, ...group.parts]) {
      if (!cells.has(id)) throw new Error(`suppression group refers to unknown cell ${id}`);
      const list = groupsOf.get(id);
      if (list) list.push(index);
      else groupsOf.set(id, [index]);
      if (suppressed.has(id)) {
        hiddenIn[index] = (hiddenIn[index] as number) + 1;
        if (id !== group.total) hiddenMass[index] = (hiddenMass[index] as number) + (cells.get(id) as RawCount).value;
      }
    }
  });

  /** Other groups of `id` that this suppression would close (they hold one hidden cell now). */
  const closes = (id: string, current: number) =>
    (groupsOf.get(id) ?? []).filter((g) => g !== current && exposed(g)).length;
  const queue = usable.map((_, index) => index);
  const queued = new Set(queue);
  for (let head = 0; head < queue.length; head++) {
    const index = queue[head] as number;
    queued.delete(index);
    if (!exposed(index)) continue;
    const group = usable[index] as Group;
    let pick: string | undefined;
    let best: [number, number, number, string] | undefined;
    for (const id of group.parts) {
      if (suppressed.has(id)) continue;
      const c = cells.get(id) as RawCount;
      const key: [number, number, number, string] = [-closes(id, index), c.value, c.people, id];
      if (!best || compare(key, best) < 0) {
        best = key;
        pick = id;
      }
    }
    if (pick === undefined && !suppressed.has(group.total)) pick = group.total;
    if (pick === undefined) continue;
    hide(pick);
    // The same group may still be exposed (its hidden sum still small): look at it again too.
    for (const other of groupsOf.get(pick) ?? []) {
      if (!queued.has(other)) {
        queued.add(other);
        queue.push(other);
      }
    }
  }
  return suppressed;
}

function compare(a: [number, number, number, string], b: [number, number, number, string]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || (a[3] < b[3] ? -1 : a[3] > b[3] ? 1 : 0);
}
