/** Plain records the auth module keeps in memory and hands between its layers (never entities). */
export interface TeamRecord {
  id: string;
  name: string;
  description: string;
  createdAt: Date;
}

export interface PrincipalRecord {
  id: string;
  kind: 'user' | 'service';
  name: string;
  teamId: string | null;
  roles: string[];
  issuer: string | null;
  subject: string | null;
  disabled: boolean;
  createdAt: Date;
}

export interface ApiKeyRecord {
  id: string;
  principalId: string;
  name: string;
  prefix: string;
  sha256: string;
  /** Narrows the owner's permissions; null = all of them. */
  permissions: string[] | null;
  /** Endpoint name patterns (`*` wildcard) the key may call; null = whatever the owner may. */
  endpoints: string[] | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

export interface GrantRecord {
  id: string;
  teamId: string | null;
  principalId: string | null;
  endpointPattern: string;
  /**
   * For traffic routes: the destination endpoints this grant reaches (e.g. only the champion, not the
   * challenger); null = all of them.
   */
  destinations: string[] | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface SubscriptionRecord {
  id: string;
  principalId: string;
  teamId: string | null;
  endpointPattern: string;
  reason: string;
  status: 'pending' | 'approved' | 'rejected';
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionNote: string | null;
  grantId: string | null;
  createdAt: Date;
}
