import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { EntityManager } from 'typeorm';
import { Principal } from 'src/common/auth/principal';
import { TenancyPolicy } from 'src/common/auth/tenancy.policy';
import { AuditService } from 'src/modules/audit/audit.service';
import { destinationsOf } from 'src/modules/routing/admin/config-entries';
import { ChangeActor, RoutingAdminService } from 'src/modules/routing/admin/routing-admin.service';
import { RoutingChangeNotifier } from 'src/modules/routing/admin/routing-change.notifier';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';
import { CreateRolloutInput, RolloutDto, toRolloutDto } from 'src/modules/rollouts/dto/rollout.dto';
import { emptyHistogram, addHistogram } from 'src/modules/rollouts/latency-histogram';
import { ArmStats, judge } from 'src/modules/rollouts/rollout-judge';
import { RolloutException } from 'src/modules/rollouts/rollout.exception';
import { Rollout, RolloutEvent, RolloutRepository, statsKey } from 'src/modules/rollouts/rollout.repository';
import { RolloutStatsCollector } from 'src/modules/rollouts/rollout-stats.collector';

export type RolloutControl = 'pause' | 'resume' | 'abort';

/**
 * Progressive rollouts: admin use cases (start, pause, resume, abort) and the leader's evaluation.
 * Weights move through RoutingAdminService, so every step is a numbered, audited revision of the route
 * that reaches every replica like any admin change.
 */
@Injectable()
export class RolloutsService {
  constructor(
    private readonly repository: RolloutRepository,
    private readonly admin: RoutingAdminService,
    private readonly holder: RouteTableHolder,
    private readonly notifier: RoutingChangeNotifier,
    private readonly audit: AuditService,
    private readonly collector: RolloutStatsCollector,
  ) {}

  /** A rollout belongs to its route's owner: shown to that team (and admins), global routes' to all. */
  async list(actor: Principal): Promise<RolloutDto[]> {
    const all = await this.repository.list(200);
    return TenancyPolicy.visible(actor, all, (r) => this.admin.ownerOf(r.route)).map(toRolloutDto);
  }

  async get(id: string, actor: Principal): Promise<RolloutDto> {
    const r = await this.find(id);
    if (!TenancyPolicy.canRead(actor, this.admin.ownerOf(r.route))) throw RolloutException.notFound(id);
    return toRolloutDto(r);
  }

  async create(input: CreateRolloutInput, request: FastifyRequest): Promise<RolloutDto> {
    if (this.admin.isFileManaged(input.route)) {
      throw RolloutException.conflict(
        `Route '${input.route}' is managed by the gateway config file; create the route through the admin API (or under another name) to roll out on it.`,
      );
    }
    const baseline = this.endpointType(input.baseline, 'baseline');
    const canary = this.endpointType(input.canary, 'canary');
    if (baseline !== canary) {
      throw RolloutException.invalid(
        `The baseline '${input.baseline}' (${baseline}) and the canary '${input.canary}' (${canary}) must have the same endpoint type.`,
      );
    }
    const id = randomUUID();
    const now = new Date();
    const rollout: Rollout = {
      id,
      route: input.route,
      baseline: input.baseline,
      canary: input.canary,
      plan: {
        steps: input.steps,
        holdSeconds: Array.isArray(input.hold_seconds)
          ? input.hold_seconds
          : input.steps.map(() => input.hold_seconds as number),
        maxErrorRateDelta: input.max_error_rate_delta,
        maxP95LatencyRatio: input.max_p95_latency_ratio,
        p95LatencySlackMs: input.p95_latency_slack_ms,
        minRequests: input.min_requests,
      },
      state: 'running',
      stepIndex: 0,
      stepStartedAt: now,
      reason: null,
      lastEvaluation: null,
      history: [],
      createdBy: request.principal?.name ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.repository.transaction(async (m) => {
      await this.admin.lock(m);
      const live = await this.repository.liveOnRoute(m, input.route);
      if (live)
        throw RolloutException.conflict(
          `Route '${input.route}' already has a ${live.state} rollout (${live.id}).`,
        );
      await this.repository.insert(m, rollout);
      const revision = await this.setWeights(
        m,
        rollout,
        input.steps[0],
        'rollout started',
        { request, auditedByCaller: true },
        baseline,
      );
      rollout.history.push(event(rollout, 'started', input.steps[0], revision, rollout.createdBy, null));
      await this.repository.update(m, id, rollout);
      await this.audit.change(
        request,
        { action: 'rollout.create', targetType: 'rollout', targetId: id, after: toRolloutDto(rollout) },
        m,
      );
    });
    await this.afterChange();
    return toRolloutDto(await this.find(id));
  }

  async control(id: string, action: RolloutControl, request: FastifyRequest): Promise<RolloutDto> {
    const actor = request.principal?.name ?? null;
    await this.repository.transaction(async (m) => {
      const r = await this.repository.get(id, m, true);
      if (!r) throw RolloutException.notFound(id);
      // Pausing or resuming moves no weight, so the route's ownership is checked here (abort checks it too).
      const principal = request.principal;
      if (!principal || !TenancyPolicy.canRead(principal, this.admin.ownerOf(r.route))) {
        throw RolloutException.notFound(id);
      }
      TenancyPolicy.assertChange(principal, this.admin.ownerOf(r.route), `rollout ${id}`);
      const before = toRolloutDto(r);
      const expected =
        action === 'resume' ? ['paused'] : action === 'pause' ? ['running'] : ['running', 'paused'];
      if (!expected.includes(r.state)) {
        throw RolloutException.conflict(`Rollout ${id} is ${r.state}; it cannot ${action}.`);
      }
      if (action === 'pause') {
        r.state = 'paused';
        r.history.push(event(r, 'paused', r.plan.steps[r.stepIndex], null, actor, null));
      } else if (action === 'resume') {
        r.state = 'running';
        // The hold restarts: the canary is watched for a full hold at this weight before advancing.
        r.stepStartedAt = new Date();
        r.history.push(event(r, 'resumed', r.plan.steps[r.stepIndex], null, actor, null));
      } else {
        await this.admin.lock(m);
        const revision = await this.setWeights(m, r, 0, `rollout aborted by ${actor ?? 'unknown'}`, {
          request,
          auditedByCaller: true,
        });
        r.state = 'aborted';
        r.reason = `aborted by ${actor ?? 'unknown'}`;
        r.history.push(event(r, 'aborted', 0, revision, actor, null));
      }
      await this.repository.update(m, id, r);
      await this.audit.change(
        request,
        { action: `rollout.${action}`, targetType: 'rollout', targetId: id, before, after: toRolloutDto(r) },
        m,
      );
      await this.notifier.publish(m);
    });
    await this.afterChange();
    return toRolloutDto(await this.find(id));
  }

  /**
   * One leader pass (the replica holding the advisory lock): judges each running rollout on every
   * replica's counts and advances, completes or rolls it back. Returns whether anything changed.
   */
  async evaluate(now = new Date()): Promise<boolean> {
    const changed = await this.repository.transaction(async (m) => {
      if (!(await this.repository.tryLead(m))) return false;
      let any = false;
      for (const r of await this.repository.live(m, true)) {
        if (r.state !== 'running') continue;
        if (await this.step(m, r, now)) any = true;
      }
      if (any) await this.notifier.publish(m);
      return any;
    });
    if (changed) await this.afterChange();
    return changed;
  }

  /** Re-reads the live rollouts into this replica's collector. */
  async reload(): Promise<void> {
    this.collector.watch(await this.repository.live());
  }

  private async step(m: EntityManager, r: Rollout, now: Date): Promise<boolean> {
    const sums = await this.repository.stats(m, r.id);
    const empty = (): ArmStats => ({ requests: 0, errors: 0, histogram: emptyHistogram() });
    const canary = sums.get(statsKey(r.stepIndex, r.canary)) ?? empty();
    const baseline = empty();
    for (let i = 0; i <= r.stepIndex; i++) {
      const s = sums.get(statsKey(i, r.baseline));
      if (!s) continue;
      baseline.requests += s.requests;
      baseline.errors += s.errors;
      addHistogram(baseline.histogram, s.histogram);
    }
    const verdict = judge({
      plan: r.plan,
      stepIndex: r.stepIndex,
      heldMs: now.getTime() - r.stepStartedAt.getTime(),
      canary,
      baseline,
    });
    r.lastEvaluation = { ...verdict, at: now.toISOString() };
    const actor = `rollout:${r.id}`;
    const total = r.plan.steps.length;
    if (verdict.decision === 'wait') {
      await this.repository.update(m, r.id, r);
      return false;
    }
    await this.admin.lock(m);
    if (verdict.decision === 'advance') {
      const next = r.stepIndex + 1;
      const pct = r.plan.steps[next];
      const note = `rollout step ${next + 1}/${total}: canary ${pct}% (${verdict.reason})`;
      const revision = await this.setWeights(m, r, pct, note, { system: actor });
      r.stepIndex = next;
      r.stepStartedAt = now;
      r.history.push(event(r, 'advanced', pct, revision, actor, verdict.reason));
    } else if (verdict.decision === 'complete') {
      r.state = 'completed';
      r.reason = verdict.reason;
      r.history.push(event(r, 'completed', 100, null, actor, verdict.reason));
      await this.audit.system(
        actor,
        { action: 'rollout.complete', targetType: 'rollout', targetId: r.id, after: toRolloutDto(r) },
        m,
      );
    } else {
      const revision = await this.setWeights(m, r, 0, `rollout rolled back: ${verdict.reason}`, {
        system: actor,
      });
      r.state = 'rolled_back';
      r.reason = verdict.reason;
      r.history.push(event(r, 'rolled_back', 0, revision, actor, verdict.reason));
    }
    await this.repository.update(m, r.id, r);
    return true;
  }

  /** Sets the route to baseline (100 − p) / canary (p): a `rollout` revision of the route, audited. */
  private async setWeights(
    m: EntityManager,
    r: Rollout,
    canaryPct: number,
    note: string,
    actor: ChangeActor,
    taskType?: string,
  ): Promise<number> {
    const destinations = [
      { name: r.baseline, traffic_percentage: 100 - canaryPct },
      { name: r.canary, traffic_percentage: canaryPct },
    ];
    const change = await this.admin.commitIn(
      m,
      'route',
      r.route,
      (current) => {
        if (!current) {
          return { next: { name: r.route, task_type: taskType, destinations }, action: 'rollout', note };
        }
        const foreign = destinationsOf(current.body).filter(
          (d) => d.percentage > 0 && d.name !== r.baseline && d.name !== r.canary,
        );
        if (foreign.length > 0) {
          throw RolloutException.conflict(
            `Route '${r.route}' also sends traffic to ${foreign.map((d) => `'${d.name}'`).join(', ')}; a rollout moves traffic between its baseline and canary only.`,
          );
        }
        return { next: { ...current.body, destinations }, action: 'rollout', note };
      },
      actor,
    );
    return change.revision;
  }

  /** An LLM endpoint's type, or `ml/v1/predict` for a predict endpoint the config declares. */
  private endpointType(name: string, role: string): string {
    const table = this.holder.current;
    const entry = table.get(name);
    if (entry?.kind === 'endpoint') return entry.endpointType;
    const model = table.getModel(name);
    if (model?.origin === 'config') return model.endpointType;
    const why = model
      ? ' (it is exposed by a registry tag; declare it in gateway.yaml or through the admin API to route traffic to it)'
      : '';
    throw RolloutException.invalid(
      `The ${role} '${name}' is not an endpoint of the running config${why}.`,
      role,
    );
  }

  private async find(id: string): Promise<Rollout> {
    const r = /^[0-9a-f-]{36}$/i.test(id) ? await this.repository.get(id) : undefined;
    if (!r) throw RolloutException.notFound(id);
    return r;
  }

  private async afterChange(): Promise<void> {
    await this.admin.applied();
    await this.reload();
  }
}

function event(
  r: Rollout,
  name: string,
  canaryPct: number,
  revision: number | null,
  actor: string | null,
  detail: string | null,
): RolloutEvent {
  return {
    at: new Date().toISOString(),
    event: name,
    step: r.stepIndex + 1,
    canary_percentage: canaryPct,
    route_revision: revision,
    actor,
    detail,
  };
}
