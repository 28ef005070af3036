-- CreateTable
CREATE TABLE "ServiceContact" (
    "id" INTEGER NOT NULL,
    "hotline" TEXT,
    "ussdCode" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ServiceContact_pkey" PRIMARY KEY ("id")
);

-- Earlier seeds wrote placeholder "Inson" centre phones (+998 7x 000 00 0x) and generic addresses for
-- the three pilot districts. They were never true: forget them, so the help screen tells the citizen
-- where to go until the agency sets the real contacts.
UPDATE "District"
SET "insonPhone" = NULL, "insonAddress" = NULL
WHERE "insonPhone" ~ '^\+998 7[0-9] 000 00 0[0-9]$';
