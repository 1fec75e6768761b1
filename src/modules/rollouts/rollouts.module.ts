import { Module } from '@nestjs/common';
import { AuditModule } from 'src/modules/audit/audit.module';
import { RoutingModule } from 'src/modules/routing/routing.module';
import { RolloutRepository } from 'src/modules/rollouts/rollout.repository';
import { RolloutRunner } from 'src/modules/rollouts/rollout-runner.service';
import { RolloutStatsCollector } from 'src/modules/rollouts/rollout-stats.collector';
import { RolloutsController } from 'src/modules/rollouts/rollouts.controller';
import { RolloutsService } from 'src/modules/rollouts/rollouts.service';

@Module({
  imports: [RoutingModule, AuditModule],
  controllers: [RolloutsController],
  providers: [RolloutRepository, RolloutStatsCollector, RolloutsService, RolloutRunner],
})
export class RolloutsModule {}
