import { applyDecorators, Controller, Get, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RequirePermission } from 'src/common/auth/auth.decorators';
import { AuditQueryService } from 'src/modules/audit/audit-query.service';
import { AUDIT_PAGE_VIEW, AUDIT_QUERY_PARAMS, AuditQueryDto } from 'src/modules/audit/dto/audit-query.dto';
import { ZodPipe } from 'src/common/validation/zod.pipe';

@ApiTags('Admin: audit')
@ApiBearerAuth()
@Controller('admin/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditQueryService) {}

  @Get()
  @RequirePermission('audit.read')
  @ApiOperation({
    summary:
      'Audit entries, newest first. Filters: actorId, teamId, action, outcome, targetType, targetId, requestId, since, until; page with before=<id of the last entry>',
  })
  @applyDecorators(...AUDIT_QUERY_PARAMS.map((p) => ApiQuery(p)))
  @ApiOkResponse({ schema: AUDIT_PAGE_VIEW })
  list(
    @Req() request: FastifyRequest,
    @Query(new ZodPipe(AuditQueryDto)) query: z.infer<typeof AuditQueryDto>,
  ) {
    return this.audit.list(request, query);
  }
}
