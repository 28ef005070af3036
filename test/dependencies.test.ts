import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cruise, type ICruiseOptions, type IViolation } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "./support/spawn.js";

/** The folders `npm run lint` cruises (package.json). */
const SOURCES = ["core", "bot", "ussd", "app", "scripts", "bench", "test"];

const describeViolation = (v: IViolation) =>
  v.cycle?.length
    ? `${v.rule.name}: ${[v.from, ...v.cycle.map((step) => step.name)].join(" → ")}`
    : `${v.rule.name}: ${v.from} → ${v.to}`;

const sameDependency = (a: IViolation, b: IViolation) =>
  a.rule.name === b.rule.name && a.from === b.from && a.to === b.to;

async function cruiseIn(baseDir: string, options: ICruiseOptions): Promise<IViolation[]> {
  const cwd = process.cwd();
  // The config names tsconfig.json relative to where it is run, as the CLI does.
  process.chdir(baseDir);
  try {
    const result = await cruise(SOURCES, { ...options, knownViolations: [] }, undefined, {
      tsConfig: extractTSConfig(join(baseDir, "tsconfig.json")),
    });
    if (typeof result.output === "string") throw new Error("expected the cruise result as an object");
    return result.output.summary.violations;
  } finally {
    process.chdir(cwd);
  }
}

let options: ICruiseOptions;
let known: IViolation[];
let found: IViolation[];

beforeAll(async () => {
  options = await extractDepcruiseOptions(join(projectRoot, ".dependency-cruiser.cjs"));
  known = options.knownViolations ?? [];
  // Cruised without the allowances, so that they can be checked too.
  found = await cruiseIn(projectRoot, options);
}, 120_000);

describe("dependency direction (.dependency-cruiser.cjs, also run by npm run lint)", () => {
  it("finds no import cycle and no import against the direction in the source tree", () => {
    const offences = found.filter((v) => !known.some((k) => sameDependency(k, v))).map(describeViolation);
    expect(offences).toEqual([]);
  });

  it("allows no exception: the configuration lists no known violations", () => {
    expect(known).toEqual([]);
  });
});

describe("the dependency rules", () => {
  let fixture: string;

  beforeAll(async () => {
    fixture = await mkdtemp(join(tmpdir(), "depcruise-"));
    // One offence per rule, in a tree shaped like the project's.
    const files: Record<string, string> = {
      "core/a.ts": 'import { b } from "./b.js";\nexport const a = () => b();\n',
      "core/b.ts": 'import { a } from "./a.js";\nexport const b = () => a();\n',
      "core/up.ts": 'import { x } from "../app/x.js";\nexport const up = x;\n',
      "core/framework.ts": 'import Fastify from "fastify";\nexport const server = Fastify;\n',
      "core/domain/d.ts": 'import { e } from "../engine/e.js";\nexport const d = e;\n',
      "core/engine/e.ts": 'import { f } from "../flows/f.js";\nexport const e = f;\n',
      "core/flows/f.ts": "export const f = 1;\n",
      "bot/x.ts": 'import { x } from "../app/x.js";\nimport { u } from "../ussd/u.js";\nexport const bx = [x, u];\n',
      "bot/y.ts": "export const y = 1;\n",
      "ussd/u.ts": 'import { y } from "../bot/y.js";\nexport const u = y;\n',
      "app/x.ts": 'import { s } from "../scripts/s.js";\nexport const x = s;\n',
      "app/helper.ts": 'import { t } from "../test/t.js";\nexport const helper = t;\n',
      "scripts/s.ts": "export const s = 1;\n",
      "bench/.keep.ts": "export {};\n",
      "test/t.ts": 'import { x } from "../app/x.js";\nexport const t = x;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(fixture, path)), { recursive: true });
      await writeFile(join(fixture, path), text);
    }
    await writeFile(
      join(fixture, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", strict: true } }),
    );
    await symlink(join(projectRoot, "node_modules"), join(fixture, "node_modules"), "dir");
  });
  afterAll(async () => {
    if (fixture) await rm(fixture, { recursive: true, force: true });
  });

  it("each catches what it forbids: a cycle, core importing a channel, app/ or Fastify, and the rest", async () => {
    const violations = await cruiseIn(fixture, options);
    const rules = (options.ruleSet?.forbidden ?? []).map((rule) => rule.name ?? "").sort();
    expect(rules.length).toBeGreaterThanOrEqual(10);
    expect([...new Set(violations.map((v) => v.rule.name))].sort()).toEqual(rules);
    const seen = violations.map(describeViolation);
    expect(seen.find((line) => line.startsWith("core-no-frameworks:"))).toMatch(
      /^core-no-frameworks: core\/framework\.ts → .*node_modules\/fastify\//,
    );
    expect(seen).toContain("core-not-upward: core/up.ts → app/x.ts");
    expect(seen).toContain("engine-not-flows: core/engine/e.ts → core/flows/f.ts");
    // test/ may import anything.
    expect(violations.filter((v) => v.from.startsWith("test/"))).toEqual([]);
  });
});
