import Fastify, { type FastifyInstance } from "fastify";
import { apiPlugin } from "../../app/api/index.js";
import { createBackOfficeServices } from "../../app/core.js";
import type { SqlDatabase } from "../../core/db/adapters.js";
import { type PrismaClient, prismaSql } from "../../core/db/database.js";
import { newReference } from "../../core/domain/reference.js";

export const TOKEN = "backoffice-token-0123456789";
export const OTHER_TOKEN = "reporting-token-9876543210";
export const auth = { authorization: `Bearer ${TOKEN}` };

/** The back-office API alone on a bare Fastify, as app/server.ts mounts it. */
export async function apiApp(
  prisma: PrismaClient,
  options: { clock?: () => Date; callbackToken?: string; maxCsvBytes?: number; sql?: SqlDatabase } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  // The database's own plain-SQL path when given (a pool, as the server has), else one over Prisma.
  const sql = options.sql ?? prismaSql(prisma);
  await app.register(apiPlugin, {
    config: {
      apiTokens: [
        { name: "backoffice", token: TOKEN },
        { name: "reporting", token: OTHER_TOKEN },
      ],
      ussd: { callbackToken: options.callbackToken, maxCharsUcs2: 182, sessionIdleSeconds: 180 },
    },
    prisma,
    sql,
    services: createBackOfficeServices({ prisma, sql }, options.clock),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.maxCsvBytes ? { maxCsvBytes: options.maxCsvBytes } : {}),
  });
  await app.ready();
  return app;
}

let phoneCounter = 0;
/** A fresh valid Uzbek mobile number for each call. */
export function nextPhone(): string {
  phoneCounter++;
  return `+99890${String(1_000_000 + phoneCounter).slice(-7)}`;
}

export async function makeCitizen(
  prisma: PrismaClient,
  data: { phone?: string; locale?: string; externalId?: string; telegramChatId?: bigint; mahallaCode?: string } = {},
) {
  const mahalla = data.mahallaCode
    ? await prisma.mahalla.findUniqueOrThrow({ where: { code: data.mahallaCode }, select: { id: true } })
    : null;
  return prisma.citizen.create({
    data: {
      phone: data.phone ?? nextPhone(),
      locale: data.locale ?? "uz",
      externalId: data.externalId ?? null,
      telegramChatId: data.telegramChatId ?? null,
      telegramUserId: data.telegramChatId ?? null,
      mahallaId: mahalla?.id ?? null,
    },
  });
}

export async function makeApplication(
  prisma: PrismaClient,
  citizenId: number,
  status = "submitted",
  benefitCode = "CHILD_ALLOWANCE",
  submittedAt = new Date(),
) {
  const benefit = await prisma.benefitType.findUniqueOrThrow({ where: { code: benefitCode } });
  return prisma.application.create({
    data: {
      reference: newReference("A"),
      citizenId,
      benefitTypeId: benefit.id,
      answers: { children: 2 },
      status,
      channel: "ussd",
      locale: "uz",
      submittedAt,
      history: { create: { toStatus: status, actor: "citizen" } },
    },
  });
}
