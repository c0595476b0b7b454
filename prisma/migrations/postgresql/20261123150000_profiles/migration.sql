-- CreateTable
CREATE TABLE "AttributeDef" (
    "applicationId" VARCHAR(23) NOT NULL,
    "entityType" VARCHAR(16) NOT NULL,
    "key" VARCHAR(128) NOT NULL,
    "allowedContentTypes" TEXT NOT NULL,
    "allowedContentEncodings" TEXT NOT NULL,
    "canBeEmpty" BOOLEAN NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "AttributeDef_pkey" PRIMARY KEY ("applicationId","entityType","key")
);

-- CreateTable
CREATE TABLE "ProfileAttribute" (
    "userInternalId" VARCHAR(36) NOT NULL,
    "key" VARCHAR(128) NOT NULL,
    "contentType" VARCHAR(128) NOT NULL,
    "contentEncoding" VARCHAR(64) NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ProfileAttribute_pkey" PRIMARY KEY ("userInternalId","key")
);

-- AddForeignKey
ALTER TABLE "AttributeDef" ADD CONSTRAINT "AttributeDef_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProfileAttribute" ADD CONSTRAINT "ProfileAttribute_userInternalId_fkey" FOREIGN KEY ("userInternalId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

