-- AlterTable
ALTER TABLE "User" ADD COLUMN     "lastSeenVisibility" VARCHAR(8) NOT NULL DEFAULT 'everyone',
ADD COLUMN     "presenceVisibility" VARCHAR(8) NOT NULL DEFAULT 'everyone',
ADD COLUMN     "suspendedAt" TIMESTAMPTZ(3),
ADD COLUMN     "suspensionReason" VARCHAR(200);

-- CreateTable
CREATE TABLE "UserBlock" (
    "applicationId" VARCHAR(23) NOT NULL,
    "blockerId" VARCHAR(72) NOT NULL,
    "blockedId" VARCHAR(72) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserBlock_pkey" PRIMARY KEY ("applicationId","blockerId","blockedId")
);

-- CreateTable
CREATE TABLE "UserContact" (
    "applicationId" VARCHAR(23) NOT NULL,
    "ownerId" VARCHAR(72) NOT NULL,
    "contactId" VARCHAR(72) NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserContact_pkey" PRIMARY KEY ("applicationId","ownerId","contactId")
);

-- CreateTable
CREATE TABLE "UserMetadata" (
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "key" VARCHAR(64) NOT NULL,
    "type" VARCHAR(8) NOT NULL,
    "value" VARCHAR(1024) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserMetadata_pkey" PRIMARY KEY ("applicationId","userId","key")
);

-- CreateTable
CREATE TABLE "UserDeletion" (
    "id" VARCHAR(22) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "by" VARCHAR(8) NOT NULL,
    "reason" VARCHAR(200),
    "feedback" TEXT,
    "deletedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserDeletion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Report" (
    "id" VARCHAR(22) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "reporterId" VARCHAR(72) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "reason" VARCHAR(200) NOT NULL,
    "details" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Report_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Feedback" (
    "id" VARCHAR(22) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "description" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Feedback_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeviceLink" (
    "id" VARCHAR(22) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "codeHash" VARCHAR(64) NOT NULL,
    "pollTokenHash" VARCHAR(64) NOT NULL,
    "address" VARCHAR(64),
    "userAgent" VARCHAR(512),
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "approvedUserId" VARCHAR(72),
    "deviceName" VARCHAR(128),
    "approvedAt" TIMESTAMPTZ(3),
    "consumedAt" TIMESTAMPTZ(3),

    CONSTRAINT "DeviceLink_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UserBlock_applicationId_blockedId_idx" ON "UserBlock"("applicationId", "blockedId");

-- CreateIndex
CREATE INDEX "UserContact_applicationId_contactId_idx" ON "UserContact"("applicationId", "contactId");

-- CreateIndex
CREATE INDEX "UserMetadata_applicationId_key_idx" ON "UserMetadata"("applicationId", "key");

-- CreateIndex
CREATE INDEX "UserDeletion_applicationId_deletedAt_idx" ON "UserDeletion"("applicationId", "deletedAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_createdAt_idx" ON "Report"("applicationId", "createdAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_userId_createdAt_idx" ON "Report"("applicationId", "userId", "createdAt");

-- CreateIndex
CREATE INDEX "Report_applicationId_reporterId_createdAt_idx" ON "Report"("applicationId", "reporterId", "createdAt");

-- CreateIndex
CREATE INDEX "Feedback_applicationId_createdAt_idx" ON "Feedback"("applicationId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "DeviceLink_codeHash_key" ON "DeviceLink"("codeHash");

-- CreateIndex
CREATE INDEX "DeviceLink_expiresAt_idx" ON "DeviceLink"("expiresAt");

-- AddForeignKey
ALTER TABLE "UserMetadata" ADD CONSTRAINT "UserMetadata_applicationId_userId_fkey" FOREIGN KEY ("applicationId", "userId") REFERENCES "User"("applicationId", "userId") ON DELETE CASCADE ON UPDATE CASCADE;

