-- AlterTable
ALTER TABLE "ConversationSession" ADD COLUMN     "leaseToken" TEXT,
ADD COLUMN     "leaseUntil" TIMESTAMP(3);
