// Runs `prisma generate` offline. The CLI insists on a schema-engine binary before any command and
// would download one; generate does not use it, so pointing the variable at any existing file is
// enough (see shared/notes/prisma-offline.md). Migrations use the WebAssembly engine instead.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const self = fileURLToPath(import.meta.url);
const result = spawnSync("npx", ["--no-install", "prisma", "generate"], {
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? self,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  },
});
process.exit(result.status ?? 1);
