-- AlterTable
ALTER TABLE "TelegramUpdate" ADD COLUMN     "chatId" BIGINT,
ADD COLUMN     "handledAt" TIMESTAMP(3),
ADD COLUMN     "leaseUntil" TIMESTAMP(3),
ADD COLUMN     "payload" JSONB;

-- CreateIndex
CREATE INDEX "TelegramUpdate_leaseUntil_idx" ON "TelegramUpdate"("leaseUntil");
