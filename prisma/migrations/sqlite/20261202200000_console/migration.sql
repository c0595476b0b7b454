-- CreateTable
CREATE TABLE "ConsoleCredential" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME
);

-- CreateIndex
CREATE UNIQUE INDEX "ConsoleCredential_secretHash_key" ON "ConsoleCredential"("secretHash");

-- CreateIndex
CREATE INDEX "ConsoleCredential_expiresAt_idx" ON "ConsoleCredential"("expiresAt");

