/**
 * The HTTP API as a caller meets it, for the integration tests: the real api handler
 * (`createHandler` over `buildScheduler(...).api()`) on a DynamoDbGroupStore over a fresh table of
 * DynamoDB Local, an SqsDeadLetterQueue over fresh fauxqs queues, webhook subscriptions in a
 * DynamoDbWebhookRegistry on that table with the local stack's secret store (in memory), and freeze
 * windows in a DynamoDbFreezeRegistry on that table, served by the local stack's
 * loopback server (`startApiServer`); a raw HTTP client (node:http, so a test can send any method,
 * repeated headers and any body); and the
 * OpenAPI document the server itself serves, turned into JSON-schema validators (ajv, draft
 * 2020-12 as OpenAPI 3.1 uses) that every answer is checked against.
 */
import { request as httpRequest, Agent, type OutgoingHttpHeaders } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { startApiServer } from '../../cli/local/api-server.ts';
import { LocalSecretStore } from '../../cli/local/local-secret-store.ts';
import { DynamoDbFreezeRegistry } from '../../functions/adapters/dynamodb-freeze-registry.ts';
import { DynamoDbGroupStore } from '../../functions/adapters/dynamodb-group-store.ts';
import { DynamoDbWebhookRegistry } from '../../functions/adapters/dynamodb-webhook-registry.ts';
import { SqsDeadLetterQueue } from '../../functions/adapters/sqs-dead-letter-queue.ts';
import { SqsWorkQueue } from '../../functions/adapters/sqs-work-queue.ts';
import { DEFAULT_SCHEDULER_CONFIG } from '../../functions/core/config.ts';
import type { Clock } from '../../functions/core/ports.ts';
import { createHandler } from '../../functions/handlers/api.ts';
import { buildScheduler } from '../../functions/root/scheduler.ts';
import { silentLogger } from '../../functions/shared/powertools.ts';
import { createTestQueues, createTestTable, localAws, type TestQueues } from './emulators.ts';

/**
 * The one Secrets Manager ARN the harness's secret store takes (as if the stack could read it);
 * any other ARN is refused as the local stack refuses them.
 */
export const HARNESS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:contract/hooks-AbCdEf';
/** The name prefix of the secrets the harness keeps for subscriptions given a secret's value. */
export const HARNESS_SECRET_PREFIX = 'contract/webhooks/';

// ajv-formats is CommonJS with `exports.default`: under NodeNext the default import is the module.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** An answer as it came over the wire. */
export interface WireResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON (`undefined` when empty or not JSON). */
  body: unknown;
}

export interface WireRequest {
  method: string;
  /** Sent as is (percent-encoding included), query string included. */
  path: string;
  /** A value array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  /** Text or bytes sent as they are. */
  raw?: string | Buffer;
  /** Sent as JSON with `Content-Type: application/json` (unless `headers` names another). */
  json?: unknown;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** One request to `baseUrl` over node:http (no fetch: it would refuse some of what tests send). */
export function send(baseUrl: string, req: WireRequest): Promise<WireResponse> {
  const url = new URL(baseUrl);
  const headers: OutgoingHttpHeaders = {};
  let body: Buffer | undefined;
  if (req.json !== undefined) {
    body = Buffer.from(JSON.stringify(req.json));
    headers['content-type'] = 'application/json';
  } else if (req.raw !== undefined) {
    body = Buffer.isBuffer(req.raw) ? req.raw : Buffer.from(req.raw);
  }
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  if (body !== undefined) headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch {
          parsed = undefined;
        }
        resolve({ status: incoming.statusCode ?? 0, headers: out, text, body: parsed });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

interface Operation {
  operationId: string;
  requestBody?: { content?: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, unknown> }>;
}

/** The OpenAPI document's operations and schemas as validators. */
export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: { pattern: RegExp; template: string; methods: Record<string, Operation> }[];
  static readonly DOCUMENT_ID = 'urn:promotion-scheduler:openapi';

  constructor(readonly document: { paths: Record<string, Record<string, unknown>>; components: Record<string, unknown> }) {
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(this.ajv);
    // The schemas live at #/components/schemas/… of the document: add it as a schema under its own id.
    this.ajv.addKeyword('components');
    this.ajv.addSchema({ $id: OpenApiContract.DOCUMENT_ID, components: document.components });
    this.routes = Object.entries(document.paths).map(([template, item]) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      methods: Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'parameters').map(([m, op]) => [m.toUpperCase(), op as Operation])),
    }));
  }

  /** A validator of `schema` (a `$ref` into the document is resolved against it). */
  validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      const rebased = JSON.parse(key.replaceAll('"#/components/', `"${OpenApiContract.DOCUMENT_ID}#/components/`)) as object;
      validate = this.ajv.compile(rebased);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** The errors of `value` against `#/components/schemas/<name>`, `[]` when valid. */
  errorsOf(name: string, value: unknown): string[] {
    return this.check(this.validator({ $ref: `#/components/schemas/${name}` }), value);
  }

  private check(validate: ValidateFunction, value: unknown): string[] {
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }

  /** The documented operation of a method and path (query string ignored), if any. */
  operation(method: string, path: string): Operation | undefined {
    const bare = path.split('?')[0]!;
    return this.routes.find((r) => r.pattern.test(bare))?.methods[method.toUpperCase()];
  }

  /**
   * What is wrong with `response` to `method path` by the document, `[]` when nothing: the status
   * is one the operation declares, the Content-Type is the declared media type and the body
   * validates against its schema. An answer outside any operation (no such route or method) must
   * be a problem document.
   */
  responseErrors(method: string, path: string, response: WireResponse): string[] {
    const op = this.operation(method, path);
    const type = response.headers['content-type']?.split(';')[0]?.trim();
    if (!op) {
      if (type !== 'application/problem+json') return [`no operation ${method} ${path}, and the answer is ${type}, not a problem document`];
      return this.errorsOf('Problem', response.body).concat(response.status >= 400 && response.status < 500 ? [] : [`status ${response.status}`]);
    }
    const declared = op.responses[String(response.status)];
    if (!declared) return [`${op.operationId} does not declare status ${response.status} (declared: ${Object.keys(op.responses).join(', ')}): ${response.text.slice(0, 300)}`];
    if (!declared.content) return response.text === '' ? [] : [`${op.operationId} ${response.status} declares no body, got ${response.text.slice(0, 100)}`];
    const media = type === undefined ? undefined : declared.content[type];
    if (!media) return [`${op.operationId} ${response.status}: Content-Type ${type}, declared ${Object.keys(declared.content).join(', ')}`];
    const errors = this.check(this.validator(media.schema), response.body).map((e) => `${op.operationId} ${response.status}: ${e}`);
    for (const header of Object.keys(declared.headers ?? {})) {
      // ETag is on every group answer; the others only when they apply.
      if (header === 'ETag' && response.headers['etag'] === undefined) errors.push(`${op.operationId} ${response.status}: no ETag`);
    }
    return errors;
  }

  /** What is wrong with a request body by the operation's schema, `[]` when it validates. */
  requestErrors(method: string, path: string, body: unknown): string[] {
    const schema = this.operation(method, path)?.requestBody?.content?.['application/json']?.schema;
    return schema === undefined ? [`no request body schema for ${method} ${path}`] : this.check(this.validator(schema), body);
  }
}

export interface ApiHarness {
  url: string;
  store: DynamoDbGroupStore;
  tableName: string;
  /** The work queue and the dead-letter queue behind `/v1/dead-letters`. */
  queues: TestQueues;
  /** The subscriptions behind `/v1/webhooks` (on the table) and where their secrets are kept. */
  webhooks: { registry: DynamoDbWebhookRegistry; secrets: LocalSecretStore };
  /** The freeze windows behind `/v1/freezes` (the table's `#freezes` item). */
  freezes: DynamoDbFreezeRegistry;
  contract: OpenApiContract;
  /** What the handler logged as a bug (`api request failed`) or the server caught: none, ever. */
  failures: unknown[];
  /** Every item of the table, sorted by id (what "nothing written" compares). */
  scanAll(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/**
 * The api handler over a fresh test table, on a loopback server; the contract fetched from that
 * server's own `GET /v1/openapi.json`.
 */
export async function startApiHarness(options: { clock: Clock; prefix?: string; shardCount?: number }): Promise<ApiHarness> {
  const aws = localAws();
  const tableName = await createTestTable(options.prefix ?? 'api');
  const shardCount = options.shardCount ?? 2;
  const store = new DynamoDbGroupStore({ client: aws.dynamo, tableName, shardCount });
  const queues = await createTestQueues({ maxReceiveCount: 3, visibilityTimeoutSeconds: 30, prefix: options.prefix ?? 'api' });
  const notUsed = (): never => {
    throw new Error('the api function uses neither the visibility of a delivery nor the services directly');
  };
  const webhookRegistry = new DynamoDbWebhookRegistry({ client: aws.dynamo, tableName });
  const secrets = new LocalSecretStore({ fixed: new Map([[HARNESS_SECRET_ARN, 'the-secret-the-caller-keeps']]) });
  const freezeRegistry = new DynamoDbFreezeRegistry({ client: aws.dynamo, tableName });
  const notDelivering = (): never => {
    throw new Error('not used by the API: it keeps the subscriptions, the publisher and the deliver function send');
  };
  const failures: unknown[] = [];
  const logger = { ...silentLogger, error: (_message: string, ...rest: unknown[]) => void failures.push(rest) };
  const scheduler = buildScheduler({
    logger: logger as typeof silentLogger,
    config: { ...DEFAULT_SCHEDULER_CONFIG, shardCount },
    store,
    clock: options.clock,
    // Pre-flight checks of creates and edits are sent at once (and a lane's hand-on on cancel).
    workQueue: () => new SqsWorkQueue({ client: aws.sqs, queueUrl: queues.workQueueUrl }),
    visibility: notUsed,
    services: notUsed,
    // No long polls: an empty receive answers at once.
    freezes: () => freezeRegistry,
    deadLetterInbox: () => new SqsDeadLetterQueue({ client: aws.sqs, deadLetterQueueUrl: queues.deadLetterQueueUrl, workQueueUrl: queues.workQueueUrl, waitTimeSeconds: 0 }),
    webhooks: {
      registry: () => webhookRegistry,
      secrets: () => secrets,
      secretPrefix: () => HARNESS_SECRET_PREFIX,
      deliveryQueue: notDelivering,
      deliveryVisibility: notDelivering,
      sender: notDelivering,
      // The local stack's API: receivers on 127.0.0.1 are receivers.
      allowLoopbackHttp: true,
    },
  });
  const server = await startApiServer({ handler: createHandler(scheduler.api()), onError: (error) => failures.push(error) });
  const openapi = await send(server.url, { method: 'GET', path: '/v1/openapi.json' });
  if (openapi.status !== 200) throw new Error(`GET /v1/openapi.json answered ${openapi.status}: ${openapi.text}`);
  const contract = new OpenApiContract(openapi.body as ConstructorParameters<typeof OpenApiContract>[0]);
  return {
    url: server.url,
    store,
    tableName,
    queues,
    webhooks: { registry: webhookRegistry, secrets },
    freezes: freezeRegistry,
    contract,
    failures,
    async scanAll() {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await aws.doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return items.sort((a, b) => String(a['id']).localeCompare(String(b['id'])));
    },
    stop: () => server.stop(),
  };
}
