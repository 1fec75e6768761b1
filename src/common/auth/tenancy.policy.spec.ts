import { Principal } from 'src/common/auth/principal';
import { isTeamId, REDACTED, TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { GatewayException } from 'src/common/errors/gateway.exception';
import { permissionsOf } from 'src/modules/auth/permissions';
import { principalFixture } from 'test/fixtures/principal.fixture';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

const principal = (role: string, teamId: string | null): Principal =>
  principalFixture({
    id: `${role}-${teamId ?? 'none'}`,
    kind: 'user',
    name: role,
    teamId,
    roles: [role],
    permissions: permissionsOf([role]),
  });

/** The status a policy call answers with: 'ok', or the GatewayException's status. */
function outcome(run: () => unknown): 'ok' | number {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (error instanceof GatewayException) return error.status;
    throw error;
  }
}

describe('TenancyPolicy', () => {
  const admin = principal('admin', null);
  const operatorA = principal('operator', A);
  const teamless = principal('operator', null);

  it('reads: admins all, others their team and global objects, other teams 404', () => {
    expect([A, B, null].map((owner) => outcome(() => TenancyPolicy.assertRead(admin, owner, 'x')))).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    expect(
      [A, B, null].map((owner) => outcome(() => TenancyPolicy.assertRead(operatorA, owner, 'x'))),
    ).toEqual(['ok', 404, 'ok']);
    expect([A, null].map((owner) => TenancyPolicy.canReadPrivate(operatorA, owner))).toEqual([true, false]);
  });

  it('changes: own team ok, global 403, another team 404; teamless principals own nothing', () => {
    expect(
      [A, B, null].map((owner) => outcome(() => TenancyPolicy.assertChange(operatorA, owner, 'x'))),
    ).toEqual(['ok', 404, 403]);
    expect([A, null].map((owner) => outcome(() => TenancyPolicy.assertChange(teamless, owner, 'x')))).toEqual(
      [404, 403],
    );
    expect([A, B, null].map((owner) => outcome(() => TenancyPolicy.assertChange(admin, owner, 'x')))).toEqual(
      ['ok', 'ok', 'ok'],
    );
  });

  it('new objects: a non-admin creates for its own team only; an admin for any team or globally', () => {
    expect(TenancyPolicy.ownerForNew(operatorA)).toBe(A);
    expect(TenancyPolicy.ownerForNew(operatorA, A)).toBe(A);
    expect(outcome(() => TenancyPolicy.ownerForNew(operatorA, B))).toBe(403);
    expect(outcome(() => TenancyPolicy.ownerForNew(operatorA, null))).toBe(403);
    expect(outcome(() => TenancyPolicy.ownerForNew(teamless))).toBe(403);
    expect(TenancyPolicy.ownerForNew(admin)).toBeNull();
    expect(TenancyPolicy.ownerForNew(admin, B)).toBe(B);
  });

  it('admin-only settings, filtered lists and secrets shown to admins only', () => {
    expect(outcome(() => TenancyPolicy.assertAdminOnly(operatorA, 'scope: global'))).toBe(403);
    expect(outcome(() => TenancyPolicy.assertAdminOnly(admin, 'scope: global'))).toBe('ok');
    const items = [{ t: A }, { t: B }, { t: null }];
    expect(TenancyPolicy.visible(operatorA, items, (i) => i.t)).toEqual([{ t: A }, { t: null }]);
    expect(TenancyPolicy.visible(admin, items, (i) => i.t)).toHaveLength(3);
    expect(TenancyPolicy.secretFor(operatorA, 'https://hooks.example.com/x')).toBe(REDACTED);
    expect(TenancyPolicy.secretFor(operatorA, null)).toBeNull();
    expect(TenancyPolicy.secretFor(admin, 'https://hooks.example.com/x')).toBe('https://hooks.example.com/x');
    expect([A, 'payments', null, undefined].map(isTeamId)).toEqual([true, false, false, false]);
  });
});
