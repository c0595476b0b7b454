-- CreateTable
CREATE TABLE "UserToken" (
    "id" VARCHAR(22) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "kid" VARCHAR(16) NOT NULL,
    "issuedAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "revokedAt" TIMESTAMPTZ(3),
    "lastUsedAt" TIMESTAMPTZ(3) NOT NULL,
    "userAgent" VARCHAR(512),
    "address" VARCHAR(64),
    "logoutTokenHash" VARCHAR(64) NOT NULL,

    CONSTRAINT "UserToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UserCredential" (
    "userInternalId" VARCHAR(36) NOT NULL,
    "passwordHash" VARCHAR(256) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserCredential_pkey" PRIMARY KEY ("userInternalId")
);

-- CreateIndex
CREATE UNIQUE INDEX "UserToken_logoutTokenHash_key" ON "UserToken"("logoutTokenHash");

-- CreateIndex
CREATE INDEX "UserToken_applicationId_userId_idx" ON "UserToken"("applicationId", "userId");

-- AddForeignKey
ALTER TABLE "UserCredential" ADD CONSTRAINT "UserCredential_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

