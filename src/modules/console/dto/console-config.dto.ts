/** What the console needs to start OIDC sign-in; public, so it holds nothing but public identifiers. */
export interface ConsoleConfigDto {
  oidc: { issuer: string; clientId: string; scopes: string[] } | null;
}

export const CONSOLE_CONFIG_VIEW = {
  type: 'object',
  required: ['oidc'],
  properties: {
    oidc: {
      type: 'object',
      nullable: true,
      description:
        'Absent (null) unless CONSOLE_OIDC_CLIENT_ID is set: then sign-in with the provider is offered',
      required: ['issuer', 'clientId', 'scopes'],
      properties: {
        issuer: { type: 'string', description: 'AUTH_OIDC_ISSUER' },
        clientId: { type: 'string', description: 'CONSOLE_OIDC_CLIENT_ID (a public client using PKCE)' },
        scopes: { type: 'array', items: { type: 'string' }, description: 'CONSOLE_OIDC_SCOPES' },
      },
    },
  },
};
