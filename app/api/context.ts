import type { SqlDatabase } from "../../core/db/adapters.js";
import type { PrismaClient } from "../../core/db/database.js";
import type { PaceOptions } from "../../core/services/imports/rows.js";
import type { BackOfficeServices } from "../core.js";

/**
 * What the back-office routes work with; one instance per server: the core's back-office
 * services (app/core.ts builds them once), and what the API itself adds.
 */
export interface ApiContext extends BackOfficeServices {
  prisma: PrismaClient;
  sql: SqlDatabase;
  clock: () => Date;
  /** Upper bound on an imported CSV file, in bytes. */
  maxCsvBytes: number;
  /** How imports share the process with people's steps (core/services/imports/rows.ts). */
  pace: PaceOptions;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who acts, for the audit log: `api:<token name>`. */
    apiActor: string;
  }
}

/** Import bodies may be large; everything else keeps the server's small default. */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;
