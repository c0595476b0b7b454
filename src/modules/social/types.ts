// Privacy settings (docs/social.md): who sees a user's presence and last seen.
export const VISIBILITIES = ['everyone', 'contacts', 'nobody'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

export interface Privacy {
  presence: Visibility;
  lastSeen: Visibility;
}
