import { InvalidInputError, PayloadTooLargeError } from "../../core/domain/errors.js";
import type { RawRecord } from "../../core/services/imports/rows.js";

/** One array element longer than this is not a record of any import. */
export const MAX_JSON_ELEMENT_BYTES = 1024 * 1024;

enum B {
  Quote = 0x22,
  Backslash = 0x5c,
  Comma = 0x2c,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
  OpenBracket = 0x5b,
  CloseBracket = 0x5d,
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const invalid = (message: string) => new InvalidInputError("INVALID_JSON", message);

/**
 * The elements of a JSON array read from a byte stream as it arrives, each parsed on its own: a
 * 64 MiB import is never held as one string or one object tree, only one element at a time (and
 * what the import keeps of it). Structural characters are ASCII, so scanning bytes is safe for
 * UTF-8 text; each element is decoded and handed to JSON.parse, which checks its syntax.
 */
export async function* jsonArrayRecords(
  source: AsyncIterable<Uint8Array | string>,
  limits: { maxBytes: number; maxItems: number },
): AsyncGenerator<RawRecord> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let bytes = 0;
  let started = false; // saw "["
  let ended = false; // saw the closing "]"
  let expectValue = true; // after "[" or ",": a value must come (no trailing comma)
  let inElement = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Uint8Array[] = [];
  let partBytes = 0;
  let row = 0;

  const finish = (chunk: Uint8Array, from: number, to: number): RawRecord => {
    parts.push(chunk.subarray(from, to));
    const whole = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
    parts = [];
    partBytes = 0;
    inElement = false;
    expectValue = false;
    if (whole.length > MAX_JSON_ELEMENT_BYTES) {
      throw invalid(`element ${row + 1} of the array is longer than ${MAX_JSON_ELEMENT_BYTES} bytes`);
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(whole));
    } catch (err) {
      if (err instanceof SyntaxError) throw invalid(`element ${row + 1} of the array is not valid JSON`);
      throw invalid("the body is not valid UTF-8");
    }
    row++;
    if (row > limits.maxItems) {
      throw new PayloadTooLargeError(`the import has more than ${limits.maxItems} rows`);
    }
    const data = value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
    return { row, data: data as Record<string, unknown> };
  };

  for await (const piece of source) {
    const chunk = typeof piece === "string" ? Buffer.from(piece) : piece;
    bytes += chunk.length;
    if (bytes > limits.maxBytes) {
      throw new PayloadTooLargeError(`the body is larger than ${limits.maxBytes} bytes`);
    }
    let start = inElement ? 0 : -1;
    const out: RawRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (inElement) {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === B.Backslash) escaped = true;
          else if (b === B.Quote) inString = false;
          continue;
        }
        if (b === B.Quote) inString = true;
        else if (b === B.OpenBrace || b === B.OpenBracket) depth++;
        else if (b === B.CloseBrace || b === B.CloseBracket) {
          if (depth === 0) {
            // A scalar element ends at the array's closing bracket.
            if (b !== B.CloseBracket) throw invalid(`element ${row + 1} of the array is not valid JSON`);
            out.push(finish(chunk, start, i));
            ended = true;
          } else if (--depth === 0) out.push(finish(chunk, start, i + 1));
        } else if (b === B.Comma && depth === 0) {
          out.push(finish(chunk, start, i));
          expectValue = true;
        }
        continue;
      }
      const at = bytes - chunk.length + i;
      if (isSpace(b) || (!started && at < 3 && b === BOM[at])) continue;
      if (ended) throw invalid("text after the end of the array");
      if (!started) {
        if (b !== B.OpenBracket) throw invalid("the body must be a JSON array of records");
        started = true;
      } else if (b === B.CloseBracket) {
        if (expectValue && row > 0) throw invalid("a comma before the end of the array");
        ended = true;
      } else if (b === B.Comma) {
        if (expectValue) throw invalid("a missing value in the array");
        expectValue = true;
      } else {
        if (!expectValue) throw invalid("a missing comma between elements of the array");
        inElement = true;
        start = i;
        depth = b === B.OpenBrace || b === B.OpenBracket ? 1 : 0;
        inString = b === B.Quote;
        escaped = false;
      }
    }
    if (inElement) {
      parts.push(chunk.subarray(start));
      partBytes += chunk.length - start;
      if (partBytes > MAX_JSON_ELEMENT_BYTES) {
        throw invalid(`element ${row + 1} of the array is longer than ${MAX_JSON_ELEMENT_BYTES} bytes`);
      }
    }
    yield* out;
  }
  if (!started) throw invalid("the body must be a JSON array of records");
  if (!ended) throw invalid("the array is never closed");
}

/** The UTF-8 byte-order mark, skipped at the very start of the body. */
const BOM = [0xef, 0xbb, 0xbf];
