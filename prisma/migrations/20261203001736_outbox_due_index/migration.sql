-- CreateIndex
CREATE INDEX "Outbox_due_channel_idx" ON "Outbox"("channel", "nextAttemptAt", "id") WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]) AND "providerMessageId" IS NULL);

-- CreateIndex
CREATE INDEX "Outbox_due_idx" ON "Outbox"("nextAttemptAt", "id") WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]) AND "providerMessageId" IS NULL);
