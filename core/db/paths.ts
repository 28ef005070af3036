import { fileURLToPath } from "node:url";

/** Project-relative locations, resolved from this file so they work from src and from dist. */
const root = new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url);

export const projectRoot = fileURLToPath(root);
export const schemaPath = fileURLToPath(new URL("prisma/schema.prisma", root));
export const migrationsDir = fileURLToPath(new URL("prisma/migrations", root));
export const seedDataDir = fileURLToPath(new URL("prisma/seed/data", root));
export const localesDir = fileURLToPath(new URL("locales", root));
