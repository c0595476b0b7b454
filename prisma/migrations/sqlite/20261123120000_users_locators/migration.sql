-- CreateTable
CREATE TABLE "UserLocator" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "userInternalId" TEXT NOT NULL,
    "locator" TEXT NOT NULL,
    "verificationStatus" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL,
    CONSTRAINT "UserLocator_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "DeletedUser" (
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "deletedAt" DATETIME NOT NULL,

    PRIMARY KEY ("applicationId", "userId")
);

-- CreateIndex
CREATE INDEX "UserLocator_userInternalId_idx" ON "UserLocator"("userInternalId");

-- CreateIndex
CREATE UNIQUE INDEX "UserLocator_applicationId_locator_key" ON "UserLocator"("applicationId", "locator");

