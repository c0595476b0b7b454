-- CreateTable
CREATE TABLE "ConsoleCredential" (
    "id" VARCHAR(22) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "secretHash" VARCHAR(64) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "usedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ConsoleCredential_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ConsoleCredential_secretHash_key" ON "ConsoleCredential"("secretHash");

-- CreateIndex
CREATE INDEX "ConsoleCredential_expiresAt_idx" ON "ConsoleCredential"("expiresAt");

