import { PERMISSIONS, ROLE_PERMISSIONS, permissionsOf } from 'src/modules/auth/permissions';

describe('role → permission map', () => {
  it('nests viewer ⊂ developer ⊂ operator ⊂ admin', () => {
    const chain = ['viewer', 'developer', 'operator', 'admin'] as const;
    for (let i = 1; i < chain.length; i++) {
      for (const p of ROLE_PERMISSIONS[chain[i - 1]]) expect(ROLE_PERMISSIONS[chain[i]]).toContain(p);
      expect(ROLE_PERMISSIONS[chain[i]].length).toBeGreaterThan(ROLE_PERMISSIONS[chain[i - 1]].length);
    }
    expect(ROLE_PERMISSIONS.admin).toEqual(PERMISSIONS);
  });

  it('keeps cross-team and management rights with admin only', () => {
    for (const role of ['viewer', 'developer', 'operator'] as const) {
      for (const p of [
        'tenancy.all',
        'teams.write',
        'principals.write',
        'grants.write',
        'secrets.write',
        'moderation.admin',
      ]) {
        expect(ROLE_PERMISSIONS[role]).not.toContain(p);
      }
    }
    expect(ROLE_PERMISSIONS.viewer).not.toContain('inference.invoke');
  });

  it('ignores unknown roles', () => {
    expect([...permissionsOf(['root', 'superuser'])]).toEqual([]);
    expect(permissionsOf(['viewer', 'nope']).has('endpoints.read')).toBe(true);
  });
});
