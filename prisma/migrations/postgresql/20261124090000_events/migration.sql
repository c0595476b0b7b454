-- CreateTable
CREATE TABLE "Event" (
    "applicationId" VARCHAR(23) NOT NULL,
    "seq" BIGINT NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "userId" VARCHAR(72),
    "occurredAtMs" BIGINT NOT NULL,
    "data" TEXT NOT NULL,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("applicationId","seq")
);

-- CreateTable
CREATE TABLE "EventSequence" (
    "applicationId" VARCHAR(23) NOT NULL,
    "last" BIGINT NOT NULL,
    "prunedThrough" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "EventSequence_pkey" PRIMARY KEY ("applicationId")
);

-- CreateTable
CREATE TABLE "Webhook" (
    "id" VARCHAR(23) NOT NULL,
    "applicationId" VARCHAR(23) NOT NULL,
    "url" TEXT NOT NULL,
    "types" TEXT,
    "secretSealed" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "cursor" BIGINT NOT NULL,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failedAttempts" BIGINT NOT NULL DEFAULT 0,
    "abandoned" BIGINT NOT NULL DEFAULT 0,
    "lastSuccessAt" TIMESTAMPTZ(3),
    "lastErrorAt" TIMESTAMPTZ(3),
    "lastError" TEXT,

    CONSTRAINT "Webhook_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Event_applicationId_occurredAtMs_idx" ON "Event"("applicationId", "occurredAtMs");

-- CreateIndex
CREATE INDEX "Webhook_applicationId_idx" ON "Webhook"("applicationId");

