-- CreateTable
CREATE TABLE "AttributeDef" (
    "applicationId" TEXT NOT NULL,
    "entityType" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "allowedContentTypes" TEXT NOT NULL,
    "allowedContentEncodings" TEXT NOT NULL,
    "canBeEmpty" BOOLEAN NOT NULL,
    "createdAt" DATETIME NOT NULL,

    PRIMARY KEY ("applicationId", "entityType", "key"),
    CONSTRAINT "AttributeDef_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "ProfileAttribute" (
    "userInternalId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "contentType" TEXT NOT NULL,
    "contentEncoding" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,

    PRIMARY KEY ("userInternalId", "key"),
    CONSTRAINT "ProfileAttribute_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

