-- CreateTable
CREATE TABLE "UserLocator" (
    "id" VARCHAR(23) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "userInternalId" VARCHAR(36) NOT NULL,
    "locator" VARCHAR(260) NOT NULL,
    "verificationStatus" VARCHAR(32) NOT NULL,
    "position" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "UserLocator_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeletedUser" (
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "deletedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "DeletedUser_pkey" PRIMARY KEY ("applicationId","userId")
);

-- CreateIndex
CREATE INDEX "UserLocator_userInternalId_idx" ON "UserLocator"("userInternalId");

-- CreateIndex
CREATE UNIQUE INDEX "UserLocator_applicationId_locator_key" ON "UserLocator"("applicationId", "locator");

-- AddForeignKey
ALTER TABLE "UserLocator" ADD CONSTRAINT "UserLocator_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

