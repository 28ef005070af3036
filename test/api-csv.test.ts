import { describe, expect, it } from "vitest";
import { CsvParser, csvRecords } from "../app/api/csv.js";
import { CsvError } from "../core/domain/errors.js";

const parse = (text: string, chunk = text.length) => {
  const parser = new CsvParser();
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = 0; i < text.length; i += chunk) rows.push(...parser.push(text.slice(i, i + chunk)));
  rows.push(...parser.end());
  return rows;
};

const columns = { known: ["a", "b", "c"], required: ["a"] };

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe("CSV parsing", () => {
  it("handles quotes, doubled quotes, delimiters and line breaks inside quotes, CRLF and blank lines", () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n\r\nplain,,last\n';
    for (const chunk of [1, 2, 3, 7, text.length]) {
      expect(parse(text, chunk)).toEqual([
        { line: 1, fields: ["a", "b", "c"] },
        { line: 2, fields: ["x, y", 'say "hi"', "two\nlines"] },
        { line: 5, fields: ["plain", "", "last"] },
      ]);
    }
  });

  it("takes semicolons as the delimiter when the header has them and no commas", () => {
    expect(parse("a;b\n1,5;2\n")).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1,5", "2"] },
    ]);
  });

  it("reports a quote that is never closed", () => {
    expect(() => parse('a,b\n"open,1\n2,3\n')).toThrow(CsvError);
  });

  it("keeps a last row without a final line break", () => {
    expect(parse("a\n1")).toEqual([
      { line: 1, fields: ["a"] },
      { line: 2, fields: ["1"] },
    ]);
  });
});

describe("CSV records from a byte stream", () => {
  it("yields records while the stream is still arriving (the file is never held whole)", async () => {
    let released: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      released = resolve;
    });
    let secondChunkSent = false;
    async function* source() {
      yield new TextEncoder().encode("a,b\n1,2\n");
      await gate;
      secondChunkSent = true;
      yield new TextEncoder().encode("3,4\n");
    }
    const records = csvRecords(source(), columns, 1_000);
    const first = await records.next();
    expect(first.value).toMatchObject({ row: 1, line: 2, data: { a: "1", b: "2" } });
    expect(secondChunkSent).toBe(false);
    released();
    const rest = await collect(records);
    expect(rest.map((r) => r.data)).toEqual([{ a: "3", b: "4" }]);
  });

  it("decodes UTF-8 characters split across chunks and drops a byte-order mark", async () => {
    const bytes = new TextEncoder().encode("\uFEFFa,b\nQoʻrgʻon,Қўрғон\n");
    async function* source() {
      for (let i = 0; i < bytes.length; i += 3) yield bytes.slice(i, i + 3);
    }
    const records = await collect(csvRecords(source(), columns, 1_000));
    expect(records.map((r) => r.data)).toEqual([{ a: "Qoʻrgʻon", b: "Қўрғон" }]);
  });

  it("refuses bytes that are not UTF-8, a size over the limit, and bad headers", async () => {
    async function* bytes(...chunks: Uint8Array[]) {
      yield* chunks;
    }
    await expect(
      collect(csvRecords(bytes(new Uint8Array([0x61, 0x0a, 0xff, 0x0a])), columns, 1_000)),
    ).rejects.toMatchObject({
      code: "CSV_ENCODING",
    });
    await expect(collect(csvRecords(bytes(new TextEncoder().encode("a\n1\n2\n")), columns, 4))).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      statusCode: 413,
    });
    await expect(collect(csvRecords(bytes(new TextEncoder().encode("a,a\n")), columns, 100))).rejects.toMatchObject({
      code: "CSV_HEADER",
    });
    await expect(collect(csvRecords(bytes(new TextEncoder().encode("b\n1\n")), columns, 100))).rejects.toMatchObject({
      code: "CSV_HEADER",
      message: expect.stringContaining("missing column(s): a"),
    });
  });

  it("marks a row with the wrong number of fields instead of failing the file", async () => {
    async function* source() {
      yield "a,b\n1\n1,2\n";
    }
    const records = await collect(csvRecords(source(), columns, 100));
    expect(records[0]?.problems?.[0]?.code).toBe("FIELD_COUNT");
    expect(records[1]?.problems).toBeUndefined();
  });
});
