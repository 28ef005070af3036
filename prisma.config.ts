import { defineConfig } from "prisma/config";

// The CLI is used only for `prisma generate` here; migrations run through the
// WebAssembly schema engine (scripts/db.ts), which needs no binary download.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
