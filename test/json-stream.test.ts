import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonArrayRecords, MAX_JSON_ELEMENT_BYTES } from "../app/api/json-stream.js";
import { AppError } from "../core/domain/errors.js";

const limits = { maxBytes: 64 * 1024 * 1024, maxItems: 1_000 };

/** The body cut into chunks at the given byte offsets, as a socket may deliver it. */
async function* chunked(body: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const cut of [...new Set(cuts)].filter((c) => c > 0 && c < body.length).sort((a, b) => a - b)) {
    yield body.subarray(from, cut);
    from = cut;
  }
  yield body.subarray(from);
}

async function read(body: Buffer | string, cuts: number[] = [], l = limits) {
  const out = [];
  for await (const r of jsonArrayRecords(chunked(Buffer.from(body), cuts), l)) out.push(r);
  return out;
}

async function refusal(body: string, l = limits): Promise<{ status: number; code: string }> {
  try {
    await read(body, [], l);
  } catch (err) {
    if (err instanceof AppError) return { status: err.statusCode, code: err.code };
    throw err;
  }
  throw new Error(`accepted: ${body.slice(0, 40)}`);
}

describe("streamed JSON import bodies", () => {
  it("yields the same records as parsing the whole array, however the bytes are chunked", async () => {
    const record = fc.dictionary(
      fc.string({ unit: "grapheme", maxLength: 8 }),
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 20 }),
        fc.constantFrom('a "quoted" [text], {with} \\ marks', "ЖШШИР ўзбек", "😀,]}"),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.record({ externalId: fc.string({ maxLength: 6 }) }), { maxLength: 3 }),
      ),
      { maxKeys: 5 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        async (items, cuts, pretty) => {
          const body = Buffer.from(JSON.stringify(items, null, pretty ? 2 : undefined));
          const records = await read(
            body,
            cuts.map((c) => c % (body.length + 1)),
          );
          expect(records.map((r) => r.data)).toEqual(JSON.parse(body.toString()));
          expect(records.map((r) => r.row)).toEqual(items.map((_, i) => i + 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads one byte at a time, a byte-order mark, and elements that are not objects as empty rows", async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' [ {"a":"ў"} , 5, "x", [1] ] \n')]);
    const records = await read(
      body,
      Array.from({ length: body.length }, (_, i) => i),
    );
    expect(records.map((r) => r.data)).toEqual([{ a: "ў" }, {}, {}, {}]);
    expect(await read("[]")).toEqual([]);
  });

  it("refuses what is not one JSON array with 400 INVALID_JSON", async () => {
    for (const body of [
      "",
      "{}",
      '{"a":1}',
      "[1,]",
      "[,1]",
      '[{"a":1} {"b":2}]',
      "[{",
      '[{"a":1}',
      "[1] 2",
      "[1}",
      '[{"a":}]',
    ]) {
      expect(await refusal(body), body).toEqual({ status: 400, code: "INVALID_JSON" });
    }
    const long = `[{"a":"${"x".repeat(MAX_JSON_ELEMENT_BYTES)}"}]`;
    expect(await refusal(long)).toEqual({ status: 400, code: "INVALID_JSON" });
  });

  it("refuses more rows or bytes than allowed with 413", async () => {
    expect(await refusal("[{},{},{}]", { maxBytes: 1_000, maxItems: 2 })).toEqual({
      status: 413,
      code: "PAYLOAD_TOO_LARGE",
    });
    expect(await refusal(`[${'{"a":1},'.repeat(200)}{}]`, { maxBytes: 1_000, maxItems: 1_000 })).toEqual({
      status: 413,
      code: "PAYLOAD_TOO_LARGE",
    });
  });
});
