/** OpenAPI response schemas of the identity and access routes (the web console's typed client reads them). */

const nullableString = { type: 'string', nullable: true };

export const ME_VIEW = {
  type: 'object',
  required: ['id', 'kind', 'name', 'teamId', 'roles', 'permissions', 'apiKeyId'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['user', 'service'] },
    name: { type: 'string' },
    teamId: nullableString,
    roles: { type: 'array', items: { type: 'string' } },
    permissions: { type: 'array', items: { type: 'string' } },
    apiKeyId: nullableString,
  },
};

export const API_KEY_VIEW = {
  type: 'object',
  required: [
    'id',
    'principalId',
    'name',
    'prefix',
    'permissions',
    'endpoints',
    'expiresAt',
    'revokedAt',
    'createdAt',
  ],
  properties: {
    id: { type: 'string' },
    principalId: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    permissions: { type: 'array', items: { type: 'string' }, nullable: true },
    endpoints: { type: 'array', items: { type: 'string' }, nullable: true },
    expiresAt: nullableString,
    revokedAt: nullableString,
    createdAt: { type: 'string' },
  },
};

export const CREATED_KEY_VIEW = {
  ...API_KEY_VIEW,
  required: [...API_KEY_VIEW.required, 'key'],
  properties: {
    ...API_KEY_VIEW.properties,
    key: { type: 'string', description: 'The secret, shown once' },
  },
};

export const SUBSCRIPTION_VIEW = {
  type: 'object',
  required: [
    'id',
    'principalId',
    'teamId',
    'endpointPattern',
    'reason',
    'status',
    'decidedBy',
    'decidedAt',
    'decisionNote',
    'grantId',
    'createdAt',
  ],
  properties: {
    id: { type: 'string' },
    principalId: { type: 'string' },
    teamId: nullableString,
    endpointPattern: { type: 'string' },
    reason: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'approved', 'rejected'] },
    decidedBy: nullableString,
    decidedAt: nullableString,
    decisionNote: nullableString,
    grantId: nullableString,
    createdAt: { type: 'string' },
  },
};

export const TEAM_VIEW = {
  type: 'object',
  required: ['id', 'name', 'description', 'createdAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    createdAt: { type: 'string' },
  },
};

export const PRINCIPAL_VIEW = {
  type: 'object',
  required: ['id', 'kind', 'name', 'teamId', 'roles', 'issuer', 'subject', 'disabled', 'createdAt'],
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['user', 'service'] },
    name: { type: 'string' },
    teamId: nullableString,
    roles: { type: 'array', items: { type: 'string' } },
    issuer: nullableString,
    subject: nullableString,
    disabled: { type: 'boolean' },
    createdAt: { type: 'string' },
  },
};

export const GRANT_VIEW = {
  type: 'object',
  required: ['id', 'teamId', 'principalId', 'endpointPattern', 'destinations', 'createdBy', 'createdAt'],
  properties: {
    id: { type: 'string' },
    teamId: nullableString,
    principalId: nullableString,
    endpointPattern: { type: 'string' },
    destinations: { type: 'array', items: { type: 'string' }, nullable: true },
    createdBy: nullableString,
    createdAt: { type: 'string' },
  },
};
