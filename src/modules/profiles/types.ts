// Profile attributes and attribute defs as Locus holds them (the wire shapes are src/wire/profiles.ts).

export interface StoredAttribute {
  key: string;
  contentType: string;
  contentEncoding: string;
  value: string;
}

export interface AttributeDefinition {
  key: string;
  allowedContentTypes: string[];
  allowedContentEncodings: string[];
  canBeEmpty: boolean;
  entityType: 'users';
}
