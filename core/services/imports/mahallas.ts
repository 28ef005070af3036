import type { PrismaClient } from "../../db/database.js";
import type { AuditEntry } from "../../notifications/outbox.js";
import {
  changed,
  type ImportPart,
  MAHALLA_CODE,
  noCounts,
  pick,
  type Records,
  runImport,
  type UpsertCounts,
} from "./pipeline.js";
import { inChunks, type PaceOptions, type RawRecord } from "./rows.js";

interface MahallaInput {
  code: string;
  districtCode: string;
  nameUz: string;
  nameUzCyrl: string;
  nameRu: string;
  households: number | null | undefined;
  active: boolean | undefined;
}

type MahallaPlan =
  | { kind: "create"; input: MahallaInput & { districtId: number } }
  | { kind: "update"; id: number; code: string; before: object; data: object };

interface MahallaRow {
  record: RawRecord;
  input: MahallaInput;
}

const FIELDS = ["districtId", "nameUz", "nameUzCyrl", "nameRu", "households", "active", "isDemo"] as const;

function mahallaPart(prisma: PrismaClient, actor: string, counts: UpsertCounts): ImportPart<MahallaRow, MahallaPlan> {
  const seen = new Map<string, number>();
  return {
    read(record, r) {
      const code = r.text("code", {
        required: true,
        pattern: MAHALLA_CODE,
        hint: "code must be 2–40 letters or digits",
      });
      const districtCode = r.text("districtCode", {
        required: true,
        pattern: /^\d{4,10}$/,
        hint: "districtCode must be a SOATO code",
      });
      const nameUz = r.text("nameUz", { required: true, max: 200 });
      const nameUzCyrl = r.text("nameUzCyrl", { required: true, max: 200 });
      const nameRu = r.text("nameRu", { required: true, max: 200 });
      const households = r.integer("households", { min: 0, max: 100_000 });
      const active = r.boolean("active");
      if (code !== undefined) {
        const first = seen.get(code);
        if (first !== undefined) r.note("code", "DUPLICATE_IN_FILE", `code ${code} already appears in row ${first}`);
        else seen.set(code, record.row);
      }
      if (!code || !districtCode || !nameUz || !nameUzCyrl || !nameRu) return undefined;
      return { record, input: { code, districtCode, nameUz, nameUzCyrl, nameRu, households, active } };
    },

    async resolve(rows, reject) {
      const districts = new Map(
        (
          await prisma.district.findMany({
            where: { code: { in: [...new Set(rows.map((p) => p.input.districtCode))] } },
            select: { id: true, code: true },
          })
        ).map((d) => [d.code, d.id]),
      );
      const inputs: MahallaInput[] = [];
      for (const p of rows) {
        if (!districts.has(p.input.districtCode)) {
          reject(p.record, [
            { field: "districtCode", code: "UNKNOWN_DISTRICT", message: `no district ${p.input.districtCode}` },
          ]);
        } else {
          inputs.push(p.input);
        }
      }

      const existing = new Map(
        (
          await inChunks(
            inputs.map((i) => i.code),
            1_000,
            (codes) => prisma.mahalla.findMany({ where: { code: { in: codes } } }),
          )
        ).map((m) => [m.code, m]),
      );
      const creates: MahallaPlan[] = [];
      const updates: MahallaPlan[] = [];
      for (const input of inputs) {
        const districtId = districts.get(input.districtCode) as number;
        const current = existing.get(input.code);
        if (!current) {
          creates.push({ kind: "create", input: { ...input, districtId } });
          continue;
        }
        const wanted = {
          districtId,
          nameUz: input.nameUz,
          nameUzCyrl: input.nameUzCyrl,
          nameRu: input.nameRu,
          isDemo: false,
          ...(input.households !== undefined ? { households: input.households } : {}),
          ...(input.active !== undefined ? { active: input.active } : {}),
        };
        const diff = changed(current, wanted);
        if (Object.keys(diff).length === 0) counts.unchanged++;
        else
          updates.push({
            kind: "update",
            id: current.id,
            code: current.code,
            before: pick(current, [...FIELDS]),
            data: diff,
          });
      }
      // Creates first: they go in as one statement, before the updates, as their audit entries.
      return [...creates, ...updates];
    },

    async write(tx, plans) {
      const audits: AuditEntry[] = [];
      const creates = plans.flatMap((p) => (p.kind === "create" ? [p.input] : []));
      if (creates.length > 0) {
        await tx.mahalla.createMany({
          data: creates.map((c) => ({
            code: c.code,
            districtId: c.districtId,
            nameUz: c.nameUz,
            nameUzCyrl: c.nameUzCyrl,
            nameRu: c.nameRu,
            households: c.households ?? null,
            active: c.active ?? true,
            isDemo: false,
          })),
        });
        for (const c of creates) {
          const { districtCode: _, ...after } = c;
          audits.push({ actor, action: "mahalla.create", entity: "Mahalla", entityId: c.code, after });
        }
      }
      for (const u of plans) {
        if (u.kind !== "update") continue;
        await tx.mahalla.update({ where: { id: u.id }, data: u.data });
        audits.push({
          actor,
          action: "mahalla.update",
          entity: "Mahalla",
          entityId: u.code,
          before: u.before,
          after: u.data,
        });
      }
      return audits;
    },
  };
}

/**
 * The mahalla register, imported by code: new codes are created, known ones updated where they
 * differ, identical ones left alone, so sending the same file twice changes nothing. Imported
 * mahallas are real (`isDemo` false), also when they replace a demo mahalla with the same code.
 * The whole register is written in one transaction.
 */
export async function importMahallas(prisma: PrismaClient, records: Records, actor: string, pace: PaceOptions = {}) {
  const counts = noCounts();
  const { received, plans } = await runImport(prisma, records, mahallaPart(prisma, actor, counts), pace);
  counts.created = plans.filter((p) => p.kind === "create").length;
  counts.updated = plans.length - counts.created;
  return { received, ...counts };
}
