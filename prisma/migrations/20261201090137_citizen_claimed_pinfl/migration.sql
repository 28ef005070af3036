-- AlterTable
ALTER TABLE "Citizen" ADD COLUMN     "claimedPinfl" TEXT,
ADD COLUMN     "pinflClaimedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Citizen_claimedPinfl_idx" ON "Citizen"("claimedPinfl");

-- Until now a PINFL typed by a caller was stored as the identity. Only the beneficiary import sets
-- externalId, so a PINFL on a citizen without one can only have been typed: it becomes a claim.
UPDATE "Citizen"
   SET "claimedPinfl" = "pinfl", "pinflClaimedAt" = "updatedAt", "pinfl" = NULL
 WHERE "externalId" IS NULL AND "pinfl" IS NOT NULL;
