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
    meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: unknown } } };
  };
  if (e?.code !== "P2002") return false;
  if (!field) return true;
  return JSON.stringify(e.meta ?? {}).includes(field);
}
