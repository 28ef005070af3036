/*
 * Every table's plain SQL, one module per table (see statement.ts for why not Prisma TypedSQL).
 * Importing this module registers every statement: test/sql-schema.test.ts checks them all against
 * schema.prisma and the database. A new table module is added here (the test checks that too).
 */
import "./appeal.js";
import "./application.js";
import "./audit-log.js";
import "./benefit-type.js";
import "./citizen.js";
import "./conversation-session.js";
import "./district.js";
import "./draft.js";
import "./escalation.js";
import "./feedback.js";
import "./mahalla.js";
import "./outbox.js";
import "./payment.js";
import "./service-contact.js";
import "./social-card.js";
import "./staff.js";
import "./telegram-update.js";
import "./visit-request.js";

export { registeredStatements, type Statement } from "./statement.js";
