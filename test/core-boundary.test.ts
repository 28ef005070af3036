import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "./support/spawn.js";

const FORBIDDEN = [/^grammy/, /^@grammyjs\//, /^fastify/, /^@fastify\//, /^africastalking/];
const FORBIDDEN_DIRS = ["bot/", "ussd/", "app/"];

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : Promise.resolve(e.name.endsWith(".ts") ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

describe("core/ is framework-free", () => {
  it("imports nothing from grammY, Fastify, Africa's Talking or the channel and app folders", async () => {
    const files = await sources(join(projectRoot, "core"));
    expect(files.length).toBeGreaterThan(10);
    const offences: string[] = [];
    for (const file of files) {
      const source = await readFile(file, "utf8");
      for (const match of source.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
        const spec = match[1] as string;
        const resolved = spec.startsWith(".") ? relative(projectRoot, join(file, "..", spec)) : spec;
        if (FORBIDDEN.some((p) => p.test(spec)) || FORBIDDEN_DIRS.some((d) => resolved.startsWith(d))) {
          offences.push(`${relative(projectRoot, file)} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
