-- CreateIndex
CREATE UNIQUE INDEX "Appeal_open_applicationId_key" ON "Appeal"("applicationId") WHERE (status = ANY (ARRAY['received'::text, 'under_review'::text]));
