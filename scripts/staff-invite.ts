// `npm run staff:invite -- --phone +998901234567`: a new one-time invite code for an existing staff
// member (earlier unused codes stop working). The code is printed once; only its hash is stored.
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../app/config.js";
import { startDatabase } from "../app/database.js";
import { createLogger } from "../app/logger.js";
import { openDatabase } from "../core/db/database.js";
import { ConflictError } from "../core/domain/errors.js";
import { normalizeUzPhone } from "../core/domain/phone.js";
import { StaffService } from "../core/services/staff.js";

const USAGE = "usage: npm run staff:invite -- --phone <+998XXXXXXXXX>";

/** Who ran the command, for the audit log. */
function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return "staff-invite";
  }
}

async function run(): Promise<number> {
  let phoneArg: string | undefined;
  try {
    ({
      values: { phone: phoneArg },
    } = parseArgs({ options: { phone: { type: "string" } }, allowPositionals: false }));
  } catch {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const phone = phoneArg ? normalizeUzPhone(phoneArg) : null;
  if (!phone) {
    process.stderr.write(`${phoneArg ? `not an Uzbek phone number: ${phoneArg}\n` : ""}${USAGE}\n`);
    return 2;
  }
  // With the app running on the embedded database this joins its server, and leaves it running.
  const database = await startDatabase(loadConfig().database, createLogger("warn"));
  const db = await openDatabase(database.target);
  try {
    const staff = new StaffService(db.prisma);
    const id = await staff.findIdByPhone(phone);
    if (id === null) {
      process.stderr.write(`no staff member with phone ${phone}\n`);
      return 1;
    }
    const invite = await staff.invite(id, `cli:${operator()}`);
    process.stdout.write(
      `invite code for staff #${id}: ${invite.code}\n` +
        `valid until ${invite.expiresAt.toISOString()}; the worker sends this to the bot:\n/start ${invite.code}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConflictError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await db.close();
    await database.stop();
  }
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`staff:invite: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    process.exit(1);
  },
);
