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
 * Complementary: a group with exactly one suppressed member would give it away by subtraction, so a
 * second published part is suppressed too (the total only when no part is left): the smallest one,
 * except that a part which also closes another such group is preferred, since it protects two
 * cells at the cost of one. A new suppression can leave another group with a single hidden cell,
 * so this repeats until no group has exactly one. It only ever adds suppressions, so it ends.
 *
 * Returns the ids of the suppressed cells.
 */
export function suppressCells(cells: ReadonlyMap<string, RawCount>, groups: Group[], minPeople: number): Set<string> {
  const suppressed = new Set<string>();
  for (const [id, cell] of cells) if (cell.people < minPeople) suppressed.add(id);

  const usable = groups.filter((g) => g.parts.length > 0);
  const groupsOf = new Map<string, number[]>();
  const hiddenIn = usable.map(() => 0);
  usable.forEach((group, index) => {
    for (const id of [group.total, ...group.parts]) {
      if (!cells.has(id)) throw new Error(`suppression group refers to unknown cell ${id}`);
      const list = groupsOf.get(id);
      if (list) list.push(index);
      else groupsOf.set(id, [index]);
      if (suppressed.has(id)) hiddenIn[index] = (hiddenIn[index] as number) + 1;
    }
  });

  /** Other groups of `id` that this suppression would close (they hold one hidden cell now). */
  const closes = (id: string, current: number) =>
    (groupsOf.get(id) ?? []).filter((g) => g !== current && hiddenIn[g] === 1).length;
  const queue = usable.map((_, index) => index);
  const queued = new Set(queue);
  for (let head = 0; head < queue.length; head++) {
    const index = queue[head] as number;
    queued.delete(index);
    if (hiddenIn[index] !== 1) continue;
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
    suppressed.add(pick);
    for (const other of groupsOf.get(pick) ?? []) {
      hiddenIn[other] = (hiddenIn[other] as number) + 1;
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
