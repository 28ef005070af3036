-- AlterTable
ALTER TABLE "Feedback" ADD COLUMN     "commentUntil" TIMESTAMP(3),
ADD COLUMN     "ussdOfferedAt" TIMESTAMP(3);
