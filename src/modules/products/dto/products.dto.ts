import { z } from 'zod';

export const PRODUCT_STATES = ['draft', 'published', 'deprecated', 'retired'] as const;
export type ProductState = (typeof PRODUCT_STATES)[number];

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes (at most 63)');

/** POST /admin/v1/products: a new product starts as a draft, visible to its owners only. */
export const CreateProductDto = z.strictObject({
  name: slug,
  title: z.string().min(1).max(200),
  description: z.string().max(10_000).default(''),
  /** An endpoint or traffic route name of the running configuration. */
  endpoint: z.string().min(1).max(256),
  /** Admins may name the owning team (default: global); others own what they create. */
  teamId: z.uuid().nullable().optional(),
  /** What a subscriber may expect, in words (e.g. "60 requests/minute, 100k tokens/day"). */
  limits: z.string().max(500).nullable().optional(),
  pricePer1kTokensUsd: z.number().min(0).max(1_000_000).nullable().optional(),
});
export type CreateProduct = z.infer<typeof CreateProductDto>;

/** POST /admin/v1/products/:name/deprecate: the date after which calls are refused (announced in Sunset). */
export const DeprecateProductDto = z.strictObject({
  sunset: z.iso.datetime({ offset: true }).or(z.iso.date()),
  note: z.string().max(1_000).optional(),
});
export type DeprecateProduct = z.infer<typeof DeprecateProductDto>;

export const SubscribeProductDto = z.strictObject({ reason: z.string().max(1_024).default('') });
export type SubscribeProduct = z.infer<typeof SubscribeProductDto>;

/** A product as the admin API and the portal show it. */
export interface ProductDto {
  id: string;
  name: string;
  title: string;
  description: string;
  teamId: string | null;
  endpoint: string;
  endpointType: string;
  limits: string | null;
  pricePer1kTokensUsd: number | null;
  state: ProductState;
  sunsetAt: string | null;
  deprecationNote: string | null;
  revision: number;
  updatedAt: string;
}

/** The public fields of a product (drops whatever else a row carries). */
export function toProductDto(p: ProductDto): ProductDto {
  return {
    id: p.id,
    name: p.name,
    title: p.title,
    description: p.description,
    teamId: p.teamId,
    endpoint: p.endpoint,
    endpointType: p.endpointType,
    limits: p.limits,
    pricePer1kTokensUsd: p.pricePer1kTokensUsd,
    state: p.state,
    sunsetAt: p.sunsetAt,
    deprecationNote: p.deprecationNote,
    revision: p.revision,
    updatedAt: p.updatedAt,
  };
}

export interface ProductRevisionDto {
  revision: number;
  action: string;
  state: ProductState;
  at: string;
  actor: { id: string | null; name: string | null };
  snapshot: ProductDto;
}

export const PRODUCT_VIEW = {
  type: 'object',
  required: [
    'id',
    'name',
    'title',
    'description',
    'teamId',
    'endpoint',
    'endpointType',
    'limits',
    'pricePer1kTokensUsd',
    'state',
    'sunsetAt',
    'deprecationNote',
    'revision',
    'updatedAt',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    teamId: { type: 'string', nullable: true },
    endpoint: { type: 'string' },
    endpointType: { type: 'string' },
    limits: { type: 'string', nullable: true },
    pricePer1kTokensUsd: { type: 'number', nullable: true },
    state: { type: 'string', enum: [...PRODUCT_STATES] },
    sunsetAt: { type: 'string', format: 'date-time', nullable: true },
    deprecationNote: { type: 'string', nullable: true },
    revision: { type: 'integer' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};

export const REVISION_VIEW = {
  type: 'object',
  required: ['revision', 'action', 'state', 'at', 'actor', 'snapshot'],
  properties: {
    revision: { type: 'integer' },
    action: { type: 'string' },
    state: { type: 'string', enum: [...PRODUCT_STATES] },
    at: { type: 'string', format: 'date-time' },
    actor: {
      type: 'object',
      required: ['id', 'name'],
      properties: { id: { type: 'string', nullable: true }, name: { type: 'string', nullable: true } },
    },
    snapshot: PRODUCT_VIEW,
  },
};
