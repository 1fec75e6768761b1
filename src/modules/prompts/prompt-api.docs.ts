import { Injectable } from '@nestjs/common';
import { OpenAPIObject } from '@nestjs/swagger';
import { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { PromptCatalogHolder } from 'src/modules/prompts/prompt-catalog.holder';
import { PromptSelector, PublishedPromptApi, VariableSpec } from 'src/modules/prompts/prompt.types';

const JSON_TYPE: Record<VariableSpec['type'], SchemaObject['type']> = {
  string: 'string',
  number: 'number',
  integer: 'integer',
  boolean: 'boolean',
};

/**
 * Published APIs are data, not code: one parameterised route (`POST /apis/{name}`) serves them all, and
 * this adds a concrete path per API, with its own request and response schema, to every `/openapi.json`.
 */
@Injectable()
export class PromptApiDocs {
  constructor(private readonly holder: PromptCatalogHolder) {}

  patch(document: OpenAPIObject): OpenAPIObject {
    const paths = { ...document.paths };
    for (const api of this.holder.current.apis.values()) {
      const requestSchema = this.requestSchema(api);
      if (!requestSchema) continue;
      paths[`/apis/${api.name}`] = {
        post: {
          tags: ['Prompt APIs'],
          operationId: `promptApi_${api.name}`,
          summary: api.description || `Prompt API '${api.name}' (template ${api.template})`,
          security: [{ bearer: [] }],
          requestBody: { required: true, content: { 'application/json': { schema: requestSchema } } },
          responses: {
            '200': {
              description: api.outputSchema
                ? 'The model output, validated against the schema'
                : 'The model output',
              content: {
                'application/json': {
                  schema: (api.outputSchema as SchemaObject | null) ?? {
                    type: 'object',
                    properties: { text: { type: 'string' } },
                    required: ['text'],
                  },
                },
              },
            },
            '400': { description: 'Invalid variables' },
            '502': { description: 'Upstream failure, or output that failed validation after one retry' },
          },
        },
      };
    }
    return { ...document, paths };
  }

  private requestSchema(api: PublishedPromptApi): SchemaObject | undefined {
    const selector: PromptSelector =
      api.version !== null
        ? { template: api.template, version: api.version }
        : { template: api.template, label: api.label ?? 'production' };
    const version = this.holder.current.resolve(selector);
    if (!version) return undefined;
    const properties: Record<string, SchemaObject> = {};
    for (const spec of version.variables) {
      properties[spec.name] = {
        type: JSON_TYPE[spec.type],
        ...(spec.description ? { description: spec.description } : {}),
        ...(spec.max_length !== undefined ? { maxLength: spec.max_length } : {}),
        ...(spec.enum ? { enum: spec.enum } : {}),
        ...(spec.default !== undefined ? { default: spec.default } : {}),
      };
    }
    const required = version.variables
      .filter((v) => v.required && v.default === undefined)
      .map((v) => v.name);
    return {
      type: 'object',
      properties,
      additionalProperties: false,
      ...(required.length > 0 ? { required } : {}),
    };
  }
}
