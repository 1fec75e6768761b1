import { Principal } from 'src/common/auth/principal';
import { EndpointEntry, TrafficRouteEntry } from 'src/modules/routing/route-table';
import { AccessService, matchesPattern } from 'src/modules/auth/access.service';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { GrantRecord } from 'src/modules/auth/auth.records';
import { principalFixture } from 'test/fixtures/principal.fixture';

const principal = (over: Partial<Principal> = {}): Principal =>
  principalFixture({
    kind: 'user',
    name: 'ana',
    teamId: 't1',
    roles: ['developer'],
    permissions: new Set(['inference.invoke']),
    ...over,
  });

const grant = (over: Partial<GrantRecord>): GrantRecord => ({
  id: 'g',
  teamId: null,
  principalId: null,
  endpointPattern: '*',
  destinations: null,
  createdBy: null,
  createdAt: new Date(),
  ...over,
});

function service(grants: GrantRecord[]): AccessService {
  const snapshot = { grants: () => grants } as unknown as AuthSnapshotService;
  return new AccessService(snapshot);
}

describe('matchesPattern', () => {
  it('treats * as a wildcard and everything else literally', () => {
    expect(matchesPattern('chat-*', 'chat-prod')).toBe(true);
    expect(matchesPattern('chat-*', 'xchat-prod')).toBe(false);
    expect(matchesPattern('a.b', 'a.b')).toBe(true);
    expect(matchesPattern('a.b', 'axb')).toBe(false);
    expect(matchesPattern('*', 'anything')).toBe(true);
  });
});

describe('AccessService.canInvoke', () => {
  it('allows admins everywhere and nobody without a principal', () => {
    const access = service([]);
    expect(access.canInvoke(principal({ permissions: new Set(['tenancy.all']) }), 'x')).toBe(true);
    expect(access.canInvoke(undefined, 'x')).toBe(false);
    expect(access.canInvoke(principal(), 'x')).toBe(false);
  });

  it('honours team and principal grants, not other teams', () => {
    const access = service([
      grant({ teamId: 't1', endpointPattern: 'team-*' }),
      grant({ principalId: 'p2', endpointPattern: 'solo' }),
      grant({ teamId: 't9', endpointPattern: '*' }),
    ]);
    expect(access.canInvoke(principal(), 'team-chat')).toBe(true);
    expect(access.canInvoke(principal(), 'solo')).toBe(false);
    expect(access.canInvoke(principal({ id: 'p2', teamId: null }), 'solo')).toBe(true);
    expect(access.canInvoke(principal({ id: 'p2', teamId: null }), 'team-chat')).toBe(false);
  });

  it("narrows by the API key's endpoint scope, even for admins", () => {
    const access = service([grant({ teamId: 't1' })]);
    expect(access.canInvoke(principal({ apiKeyEndpoints: ['chat'] }), 'chat')).toBe(true);
    expect(access.canInvoke(principal({ apiKeyEndpoints: ['chat'] }), 'embed')).toBe(false);
    const admin = principal({ permissions: new Set(['tenancy.all']), apiKeyEndpoints: ['chat'] });
    expect(access.canInvoke(admin, 'embed')).toBe(false);
  });
});

describe('AccessService.pick (traffic routes)', () => {
  const endpoint = (name: string) => ({ kind: 'endpoint', name }) as unknown as EndpointEntry;
  const route = {
    kind: 'route',
    name: 'ab',
    endpointType: 'llm/v1/chat',
    destinations: [
      { endpoint: endpoint('champion'), upTo: 80, percentage: 80 },
      { endpoint: endpoint('challenger'), upTo: 100, percentage: 20 },
    ],
  } as unknown as TrafficRouteEntry;
  const http = { headers: {} };
  const withGrants = (grants: GrantRecord[]) =>
    new AccessService({ grants: () => grants } as unknown as AuthSnapshotService);

  it('draws among all destinations for an unrestricted grant', () => {
    const access = withGrants([grant({ teamId: 't1', endpointPattern: 'ab' })]);
    expect(access.pickFrom(principal(), route, http, () => 0.5)?.name).toBe('champion');
    expect(access.pickFrom(principal(), route, http, () => 0.9)?.name).toBe('challenger');
  });

  it('renormalises over the destinations a restricted grant allows', () => {
    const champion = withGrants([grant({ teamId: 't1', endpointPattern: 'ab', destinations: ['champion'] })]);
    expect(champion.pickFrom(principal(), route, http, () => 0.99)?.name).toBe('champion');
    const challenger = withGrants([
      grant({ teamId: 't1', endpointPattern: 'ab', destinations: ['challenger'] }),
    ]);
    expect(challenger.pickFrom(principal(), route, http, () => 0)?.name).toBe('challenger');
  });

  it('reaches no destination when no grant allows one', () => {
    const none = withGrants([grant({ teamId: 't1', endpointPattern: 'ab', destinations: ['other'] })]);
    expect(none.pickFrom(principal(), route, http)).toBeUndefined();
  });
});
