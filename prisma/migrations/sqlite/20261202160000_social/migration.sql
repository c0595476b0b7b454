-- CreateTable
CREATE TABLE "UserBlock" (
    "applicationId" TEXT NOT NULL,
    "blockerId" TEXT NOT NULL,
    "blockedId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,

    PRIMARY KEY ("applicationId", "blockerId", "blockedId")
);

-- CreateTable
CREATE TABLE "UserContact" (
    "applicationId" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "contactId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,

    PRIMARY KEY ("applicationId", "ownerId", "contactId")
);

-- CreateTable
CREATE TABLE "UserMetadata" (
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("applicationId", "userId", "key"),
    CONSTRAINT "UserMetadata_applicationId_userId_fkey" FOREIGN KEY ("applicationId", "userId") REFERENCES "User" ("applicationId", "userId") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "UserDeletion" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "by" TEXT NOT NULL,
    "reason" TEXT,
    "feedback" TEXT,
    "deletedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Report" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "reporterId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "details" TEXT,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Feedback" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DeviceLink" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "codeHash" TEXT NOT NULL,
    "pollTokenHash" TEXT NOT NULL,
    "address" TEXT,
    "userAgent" TEXT,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "approvedUserId" TEXT,
    "deviceName" TEXT,
    "approvedAt" DATETIME,
    "consumedAt" DATETIME
);

-- AlterTable: columns added in place. (A rebuilt "User" table would be dropped inside the migration's
-- transaction, where PRAGMA foreign_keys cannot be switched off, and the drop would cascade to locators.)
ALTER TABLE "User" ADD COLUMN "suspendedAt" DATETIME;
ALTER TABLE "User" ADD COLUMN "suspensionReason" TEXT;
ALTER TABLE "User" ADD COLUMN "presenceVisibility" TEXT NOT NULL DEFAULT 'everyone';
ALTER TABLE "User" ADD COLUMN "lastSeenVisibility" TEXT NOT NULL DEFAULT 'everyone';
-- CreateIndex
CREATE UNIQUE INDEX "DeviceLink_codeHash_key" ON "DeviceLink"("codeHash");

-- CreateIndex
CREATE INDEX "DeviceLink_expiresAt_idx" ON "DeviceLink"("expiresAt");

-- CreateIndex
CREATE INDEX "Feedback_applicationId_createdAt_idx" ON "Feedback"("applicationId", "createdAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_createdAt_idx" ON "Report"("applicationId", "createdAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_userId_createdAt_idx" ON "Report"("applicationId", "userId", "createdAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_reporterId_createdAt_idx" ON "Report"("applicationId", "reporterId", "createdAt");

-- CreateIndex
CREATE INDEX "UserBlock_applicationId_blockedId_idx" ON "UserBlock"("applicationId", "blockedId");

-- CreateIndex
CREATE INDEX "UserContact_applicationId_contactId_idx" ON "UserContact"("applicationId", "contactId");

-- CreateIndex
CREATE INDEX "UserDeletion_applicationId_deletedAt_idx" ON "UserDeletion"("applicationId", "deletedAt");

-- CreateIndex
CREATE INDEX "UserMetadata_applicationId_key_idx" ON "UserMetadata"("applicationId", "key");

