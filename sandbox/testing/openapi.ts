/**
 * Test support (never imported by product code): a validator for the subset
 * of OpenAPI 3.0 / JSON Schema that the platform's `gencove-openapi.json`
 * uses ($ref, allOf, oneOf, type, nullable, enum, format, properties,
 * required, additionalProperties, items, min/max, lengths, pattern).
 *
 * Where the recorded platform traffic disagrees with the SPEC, the recording
 * wins: `RECORDING_OVERRIDES` replaces those property schemas, each with the
 * cassette that shows the real shape.
 */
import fs from 'node:fs';
import path from 'node:path';

type Schema = Record<string, unknown>;

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        responses: Record<
          string,
          { content?: Record<string, { schema: Schema }> }
        >;
      }
    >
  >;
  components: { schemas: Record<string, Schema> };
}

/**
 * A property schema the recordings contradict, and the recording that says so.
 */
interface Override {
  schema: Schema;
  recording: string;
  /** Drop the property from `required` (the recording omits it). */
  optional?: boolean;
}

/**
 * RECORDING_OVERRIDES: `<SchemaName>.<property>` → the shape real responses
 * have. The SPEC types many server-computed fields as strings.
 */
export const RECORDING_OVERRIDES: Record<string, Override> = {
  'Project.sample_count': {
    schema: { type: 'integer' },
    recording: 'projects/test_list_projects.yaml',
  },
  'Project.hidden_sample_count': {
    schema: { type: 'integer' },
    recording: 'projects/test_list_projects.yaml',
  },
  'Project.roles': {
    schema: { type: 'object' },
    recording: 'projects/test_list_projects.yaml',
  },
  'ProjectDetail.sample_count': {
    schema: { type: 'integer' },
    recording: 'projects/test_list_projects.yaml (same object)',
  },
  'ProjectDetail.hidden_sample_count': {
    schema: { type: 'integer' },
    recording: 'projects/test_list_projects.yaml (same object)',
  },
  'ProjectDetail.roles': {
    schema: { type: 'object' },
    recording: 'projects/test_list_projects.yaml (same object)',
  },
  'User.uploads_enabled': {
    schema: { type: 'boolean' },
    recording: 'gencove-api.md section 0 (observed booleans)',
  },
  'User.explorer_enabled': {
    schema: { type: 'boolean' },
    recording: 'gencove-api.md section 0 (observed booleans)',
  },
  'PipelineCapabilities.modifications_enabled': {
    schema: { type: 'boolean' },
    recording: 'projects/test_list_projects_with_capabilities.yaml',
  },
  'PipelineCapabilities.description_markdown': {
    schema: { type: 'string', nullable: true },
    recording: 'projects/test_list_projects_with_capabilities.yaml',
  },
  'PipelineCapabilities.datasets': {
    schema: { nullable: true },
    recording: 'projects/test_list_projects_with_capabilities.yaml',
  },
  'PipelineCapabilities.steps': {
    schema: { nullable: true },
    recording: 'projects/test_list_projects_with_capabilities.yaml',
  },
  'SampleList.failed_qc': {
    schema: { type: 'array', items: { type: 'string' }, nullable: true },
    recording:
      'download/test_project_id_provided.yaml ("failed_qc": ["format"]), projects/test_list_project_samples_include_hidden.yaml (null)',
  },
  'QualityControlType.display_only_if_failed': {
    schema: { type: 'boolean' },
    recording: 'download/test_download_no_progress.yaml',
  },
  'SampleFileNested.download_url': {
    schema: { type: 'string', format: 'uri', nullable: true },
    recording:
      'download/test_download_not_working_because_archived.yaml (null when archived)',
  },
  'SampleSheet.fastq': {
    schema: {
      type: 'object',
      properties: {
        r1: { $ref: '#/components/schemas/UploadNestedList' },
        r2: { $ref: '#/components/schemas/UploadNestedList' },
      },
    },
    recording:
      'uploads/test_list_uploads.yaml (fastq is {r1, r2}, not one upload)',
  },
  'UploadNestedList.source_url': {
    schema: { type: 'string' },
    recording:
      'upload/test_upload_and_run_immediately.yaml (absent unless the upload is a URL import)',
    optional: true,
  },
  'SampleSheetCreate.fastq': {
    schema: {
      type: 'object',
      required: ['r1'],
      properties: {
        r1: {
          type: 'object',
          required: ['upload'],
          properties: { upload: { type: 'string', format: 'uuid' } },
        },
        r2: {
          type: 'object',
          nullable: true,
          required: ['upload'],
          properties: { upload: { type: 'string', format: 'uuid' } },
        },
      },
    },
    recording:
      'upload/test_upload_and_run_immediately.yaml ({"r1": {"upload": …}, "r2": null})',
  },
};

/**
 * STATUS_OVERRIDES: `<METHOD> <path>` → [status the platform really answers,
 * status whose SPEC schema describes that body].
 */
export const STATUS_OVERRIDES: Record<
  string,
  { status: string; specStatus: string; recording: string }
> = {
  'POST /api/v2/upload-credentials/': {
    status: '200',
    specStatus: '201',
    recording: 'upload/test_upload.yaml (200; the SPEC says 201)',
  },
};

/** One validation problem: where in the value, and what is wrong. */
export interface SchemaProblem {
  at: string;
  message: string;
}

/** OpenApiValidator checks response bodies against the SPEC's schemas. */
export class OpenApiValidator {
  private readonly doc: OpenApiDocument;

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
  }

  /** load reads `gencove-openapi.json` from the team's reference folder. */
  static load(referenceDir: string): OpenApiValidator {
    const text = fs.readFileSync(
      path.join(referenceDir, 'gencove-openapi.json'),
      'utf8',
    );
    return new OpenApiValidator(JSON.parse(text) as OpenApiDocument);
  }

  /**
   * responseSchema returns the SPEC schema for a response (after overrides).
   */
  responseSchema(
    method: string,
    specPath: string,
    status: number,
  ): Schema | null {
    const operation = this.doc.paths[specPath]?.[method.toLowerCase()];
    if (!operation) {
      throw new Error(`the SPEC has no ${method} ${specPath}`);
    }
    const override = STATUS_OVERRIDES[`${method.toUpperCase()} ${specPath}`];
    const key =
      override && override.status === String(status)
        ? override.specStatus
        : String(status);
    const response = operation.responses[key];
    if (!response) {
      throw new Error(
        `the SPEC has no ${status} response for ${method} ${specPath} (it lists ${Object.keys(operation.responses).join(', ')})`,
      );
    }
    const content = response.content
      ? Object.values(response.content)[0]
      : undefined;
    return content?.schema ?? null;
  }

  /**
   * validate returns every problem of `value` against `schema` (empty = valid).
   */
  validate(value: unknown, schema: Schema): SchemaProblem[] {
    const problems: SchemaProblem[] = [];
    this.check(value, schema, '$', problems, null);
    return problems;
  }

  /**
   * validateResponse validates a response body for an operation of the SPEC.
   */
  validateResponse(
    method: string,
    specPath: string,
    status: number,
    body: unknown,
  ): SchemaProblem[] {
    const schema = this.responseSchema(method, specPath, status);
    if (!schema) {
      return [];
    }
    return this.validate(body, schema);
  }

  private resolve(schema: Schema): { schema: Schema; name: string | null } {
    const ref = schema.$ref;
    if (typeof ref === 'string') {
      const name = ref.replace('#/components/schemas/', '');
      const target = this.doc.components.schemas[name];
      if (!target) {
        throw new Error(`unresolvable $ref ${ref}`);
      }
      return { schema: target, name };
    }
    return { schema, name: null };
  }

  private check(
    value: unknown,
    raw: Schema,
    at: string,
    problems: SchemaProblem[],
    name: string | null,
  ): void {
    const resolved = this.resolve(raw);
    const schema = resolved.schema;
    const schemaName = resolved.name ?? name;
    if (value === null) {
      const allowsNull =
        schema.nullable === true ||
        (Array.isArray(schema.enum) && schema.enum.includes(null)) ||
        (Array.isArray(schema.oneOf) &&
          schema.oneOf.some((s) => this.acceptsNull(s as Schema)));
      if (!allowsNull) {
        problems.push({
          at,
          message: 'is null but the schema is not nullable',
        });
      }
      return;
    }
    if (Array.isArray(schema.allOf)) {
      for (const part of schema.allOf as Schema[]) {
        this.check(value, part, at, problems, schemaName);
      }
    }
    if (Array.isArray(schema.oneOf)) {
      const matches = (schema.oneOf as Schema[]).filter(
        (s) => this.validate(value, s).length === 0,
      ).length;
      if (matches !== 1) {
        problems.push({
          at,
          message: `matches ${matches} of the oneOf alternatives (needs exactly 1)`,
        });
      }
    }
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
      problems.push({
        at,
        message: `${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`,
      });
    }
    const type = schema.type;
    if (typeof type === 'string' && !this.hasType(value, type)) {
      problems.push({
        at,
        message: `expected ${type}, got ${Array.isArray(value) ? 'array' : typeof value}`,
      });
      return;
    }
    if (typeof value === 'string') {
      this.checkString(value, schema, at, problems);
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) {
        problems.push({
          at,
          message: `${value} is below the minimum ${schema.minimum}`,
        });
      }
      if (typeof schema.maximum === 'number' && value > schema.maximum) {
        problems.push({
          at,
          message: `${value} is above the maximum ${schema.maximum}`,
        });
      }
    }
    if (Array.isArray(value)) {
      if (
        typeof schema.minItems === 'number' &&
        value.length < schema.minItems
      ) {
        problems.push({
          at,
          message: `has ${value.length} items, fewer than ${schema.minItems}`,
        });
      }
      if (
        typeof schema.maxItems === 'number' &&
        value.length > schema.maxItems
      ) {
        problems.push({
          at,
          message: `has ${value.length} items, more than ${schema.maxItems}`,
        });
      }
      if (schema.items) {
        value.forEach((item, i) =>
          this.check(
            item,
            schema.items as Schema,
            `${at}[${i}]`,
            problems,
            null,
          ),
        );
      }
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      this.checkObject(
        value as Record<string, unknown>,
        schema,
        at,
        problems,
        schemaName,
      );
    }
  }

  private checkObject(
    value: Record<string, unknown>,
    schema: Schema,
    at: string,
    problems: SchemaProblem[],
    schemaName: string | null,
  ): void {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = (schema.required ?? []) as string[];
    for (const key of required) {
      const override = schemaName
        ? RECORDING_OVERRIDES[`${schemaName}.${key}`]
        : undefined;
      const property = properties[key];
      // writeOnly properties are request-only; they never appear in responses.
      if (override?.optional || property?.writeOnly === true) {
        continue;
      }
      if (!(key in value)) {
        problems.push({ at, message: `lacks required property "${key}"` });
      }
    }
    for (const [key, item] of Object.entries(value)) {
      const override = schemaName
        ? RECORDING_OVERRIDES[`${schemaName}.${key}`]
        : undefined;
      const property = override?.schema ?? properties[key];
      if (property) {
        if (property.writeOnly === true) {
          problems.push({
            at: `${at}.${key}`,
            message: 'is writeOnly and must not be in a response',
          });
        }
        this.check(item, property, `${at}.${key}`, problems, null);
      } else if (
        schema.additionalProperties &&
        typeof schema.additionalProperties === 'object'
      ) {
        this.check(
          item,
          schema.additionalProperties as Schema,
          `${at}.${key}`,
          problems,
          null,
        );
      } else if (schema.additionalProperties === false) {
        problems.push({
          at: `${at}.${key}`,
          message: 'is not allowed (additionalProperties: false)',
        });
      }
    }
  }

  private checkString(
    value: string,
    schema: Schema,
    at: string,
    problems: SchemaProblem[],
  ): void {
    if (
      typeof schema.maxLength === 'number' &&
      value.length > schema.maxLength
    ) {
      problems.push({
        at,
        message: `is ${value.length} characters, more than ${schema.maxLength}`,
      });
    }
    if (
      typeof schema.minLength === 'number' &&
      value.length < schema.minLength
    ) {
      problems.push({
        at,
        message: `is ${value.length} characters, fewer than ${schema.minLength}`,
      });
    }
    if (
      typeof schema.pattern === 'string' &&
      !new RegExp(schema.pattern).test(value)
    ) {
      problems.push({ at, message: `does not match ${schema.pattern}` });
    }
    const format = schema.format;
    if (
      format === 'uuid' &&
      !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(
        value,
      )
    ) {
      problems.push({ at, message: `${JSON.stringify(value)} is not a UUID` });
    }
    if (format === 'date-time' && Number.isNaN(Date.parse(value))) {
      problems.push({
        at,
        message: `${JSON.stringify(value)} is not a date-time`,
      });
    }
    if (format === 'uri' && !URL.canParse(value)) {
      problems.push({ at, message: `${JSON.stringify(value)} is not a URI` });
    }
    if (format === 'email' && !/^[^@\s]+@[^@\s]+$/.test(value)) {
      problems.push({
        at,
        message: `${JSON.stringify(value)} is not an email address`,
      });
    }
  }

  private acceptsNull(raw: Schema): boolean {
    const { schema } = this.resolve(raw);
    return (
      schema.nullable === true ||
      (Array.isArray(schema.enum) && schema.enum.includes(null))
    );
  }

  private hasType(value: unknown, type: string): boolean {
    switch (type) {
      case 'object':
        return (
          typeof value === 'object' && value !== null && !Array.isArray(value)
        );
      case 'array':
        return Array.isArray(value);
      case 'string':
        return typeof value === 'string';
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value);
      case 'number':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      default:
        return true;
    }
  }
}
