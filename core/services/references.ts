import { newReference, type ReferenceKind } from "../domain/reference.js";

/** Runs `create` with fresh references until one is not taken (unique violations are rare). */
export async function withFreshReference<T>(
  kind: ReferenceKind,
  create: (reference: string) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await create(newReference(kind));
    } catch (err) {
      if (attempt < 5 && isUniqueViolation(err, "reference")) continue;
      throw err;
    }
  }
}

export function isUniqueViolation(err: unknown, field?: string): boolean {
  const e = err as {
    code?: string;
    constraint?: unknown;
    detail?: unknown;
    meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: unknown; kind?: unknown } } };
  };
  // A statement on the plain-SQL path (Database.sql) fails with pg's own error: SQLSTATE 23505,
  // naming the constraint and, in its detail, the key ("Key (reference)=(…) already exists.").
  if (e?.code === "23505") {
    return !field || [e.constraint, e.detail].some((v) => typeof v === "string" && v.includes(field));
  }
  // A plain-SQL statement's violation arrives as a failed raw query (P2010) with the driver's kind.
  const raw = e?.code === "P2010" && e.meta?.driverAdapterError?.cause?.kind === "UniqueConstraintViolation";
  if (e?.code !== "P2002" && !raw) return false;
  if (!field) return true;
  return JSON.stringify(e.meta ?? {}).includes(field);
}
