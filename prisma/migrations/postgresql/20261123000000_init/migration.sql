-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Application" (
    "id" VARCHAR(23) NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "settings" TEXT NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Application_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccessKey" (
    "accessKey" VARCHAR(16) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "secretEncrypted" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "AccessKey_pkey" PRIMARY KEY ("accessKey")
);

-- CreateTable
CREATE TABLE "User" (
    "id" VARCHAR(36) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "screenName" VARCHAR(256) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServerMeta" (
    "key" VARCHAR(64) NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "ServerMeta_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "AccessKey_applicationId_idx" ON "AccessKey"("applicationId");

-- CreateIndex
CREATE UNIQUE INDEX "User_applicationId_userId_key" ON "User"("applicationId", "userId");

-- AddForeignKey
ALTER TABLE "AccessKey" ADD CONSTRAINT "AccessKey_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

