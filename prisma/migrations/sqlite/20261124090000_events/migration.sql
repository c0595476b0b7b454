-- CreateTable
CREATE TABLE "Event" (
    "applicationId" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "userId" TEXT,
    "occurredAtMs" BIGINT NOT NULL,
    "data" TEXT NOT NULL,

    PRIMARY KEY ("applicationId", "seq")
);

-- CreateTable
CREATE TABLE "EventSequence" (
    "applicationId" TEXT NOT NULL PRIMARY KEY,
    "last" BIGINT NOT NULL,
    "prunedThrough" BIGINT NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "Webhook" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "applicationId" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "types" TEXT,
    "secretSealed" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "cursor" BIGINT NOT NULL,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failedAttempts" BIGINT NOT NULL DEFAULT 0,
    "abandoned" BIGINT NOT NULL DEFAULT 0,
    "lastSuccessAt" DATETIME,
    "lastErrorAt" DATETIME,
    "lastError" TEXT
);

-- CreateIndex
CREATE INDEX "Event_applicationId_occurredAtMs_idx" ON "Event"("applicationId", "occurredAtMs");

-- CreateIndex
CREATE INDEX "Webhook_applicationId_idx" ON "Webhook"("applicationId");

