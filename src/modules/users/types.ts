// A user and its locators as Locus stores them (the wire shape is src/wire/users.ts).

export interface StoredLocator {
  id: string;
  applicationId: string;
  /** Normalised `<type>:<value>`. */
  locator: string;
  verificationStatus: string;
}

export interface StoredUser {
  id: string;
  applicationId: string;
  userId: string;
  screenName: string;
  createdAt: Date;
  updatedAt: Date;
  /** Suspended by an operator (docs/social.md): the wire's `blocked`. */
  suspended: boolean;
  locators: StoredLocator[];
}
