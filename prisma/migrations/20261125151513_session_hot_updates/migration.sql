-- DropIndex
DROP INDEX "ConversationSession_expiresAt_idx";

-- AlterTable
ALTER TABLE "ConversationSession" ALTER COLUMN "state" SET DATA TYPE JSON,
ALTER COLUMN "lastScreen" SET DATA TYPE JSON;

-- Room on each page for the next version of a row: every conversation step rewrites its session,
-- and with no index on the columns it changes, PostgreSQL can do that in place (a HOT update).
ALTER TABLE "ConversationSession" SET (fillfactor = 80);
