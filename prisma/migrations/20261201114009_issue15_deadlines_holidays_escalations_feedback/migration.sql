-- AlterTable
ALTER TABLE "BenefitType" ADD COLUMN     "decisionWorkingDays" INTEGER NOT NULL DEFAULT 10;

-- AlterTable
ALTER TABLE "VisitReason" ADD COLUMN     "acceptanceAmount" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "acceptanceUnit" TEXT NOT NULL DEFAULT 'working_days',
ADD COLUMN     "visitWorkingDays" INTEGER NOT NULL DEFAULT 5;

-- CreateTable
CREATE TABLE "Holiday" (
    "id" SERIAL NOT NULL,
    "date" DATE NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Holiday_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Escalation" (
    "id" SERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "subjectKind" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "visitRequestId" INTEGER,
    "applicationId" INTEGER,
    "deadlineAt" TIMESTAMP(3) NOT NULL,
    "sentAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),
    "resolvedBy" TEXT,
    "resolution" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Escalation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Feedback" (
    "id" SERIAL NOT NULL,
    "citizenId" INTEGER NOT NULL,
    "subjectKind" TEXT NOT NULL,
    "subjectId" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "askedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "score" INTEGER,
    "comment" TEXT,
    "answeredAt" TIMESTAMP(3),
    "followUpStatus" TEXT NOT NULL DEFAULT 'none',
    "followUpClosedAt" TIMESTAMP(3),
    "followUpClosedBy" TEXT,
    "districtId" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Feedback_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Holiday_date_key" ON "Holiday"("date");

-- CreateIndex
CREATE INDEX "Escalation_resolvedAt_idx" ON "Escalation"("resolvedAt");

-- CreateIndex
CREATE UNIQUE INDEX "Escalation_subjectKind_subjectId_kind_key" ON "Escalation"("subjectKind", "subjectId", "kind");

-- CreateIndex
CREATE INDEX "Feedback_citizenId_askedAt_idx" ON "Feedback"("citizenId", "askedAt");

-- CreateIndex
CREATE INDEX "Feedback_followUpStatus_districtId_idx" ON "Feedback"("followUpStatus", "districtId");

-- CreateIndex
CREATE UNIQUE INDEX "Feedback_subjectKind_subjectId_key" ON "Feedback"("subjectKind", "subjectId");

-- CreateIndex
CREATE INDEX "VisitRequest_status_createdAt_idx" ON "VisitRequest"("status", "createdAt");

-- AddForeignKey
ALTER TABLE "Escalation" ADD CONSTRAINT "Escalation_visitRequestId_fkey" FOREIGN KEY ("visitRequestId") REFERENCES "VisitRequest"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Escalation" ADD CONSTRAINT "Escalation_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Feedback" ADD CONSTRAINT "Feedback_citizenId_fkey" FOREIGN KEY ("citizenId") REFERENCES "Citizen"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
