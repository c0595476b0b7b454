-- CreateTable
CREATE TABLE "UserToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "kid" TEXT NOT NULL,
    "issuedAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "revokedAt" DATETIME,
    "lastUsedAt" DATETIME NOT NULL,
    "userAgent" TEXT,
    "address" TEXT,
    "logoutTokenHash" TEXT NOT NULL
);

-- CreateTable
CREATE TABLE "UserCredential" (
    "userInternalId" TEXT NOT NULL PRIMARY KEY,
    "passwordHash" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "UserCredential_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "UserToken_logoutTokenHash_key" ON "UserToken"("logoutTokenHash");

-- CreateIndex
CREATE INDEX "UserToken_applicationId_userId_idx" ON "UserToken"("applicationId", "userId");

