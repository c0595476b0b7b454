-- CreateTable
CREATE TABLE "UserPresence" (
    "applicationId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "state" TEXT NOT NULL,

    PRIMARY KEY ("applicationId", "userId"),
    CONSTRAINT "UserPresence_applicationId_userId_fkey" FOREIGN KEY ("applicationId", "userId") REFERENCES "User" ("applicationId", "userId") ON DELETE CASCADE ON UPDATE CASCADE
);

