-- CreateTable
CREATE TABLE "UserPresence" (
    "applicationId" VARCHAR(23) NOT NULL,
    "userId" VARCHAR(72) NOT NULL,
    "state" TEXT NOT NULL,

    CONSTRAINT "UserPresence_pkey" PRIMARY KEY ("applicationId","userId")
);

-- AddForeignKey
ALTER TABLE "UserPresence" ADD CONSTRAINT "UserPresence_applicationId_userId_fkey" FOREIGN KEY ("applicationId", "userId") REFERENCES "User"("applicationId", "userId") ON DELETE CASCADE ON UPDATE CASCADE;

