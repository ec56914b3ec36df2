/**
 * The HTTP API of docs/api.md on API Gateway: a REST API whose every method is `AWS_IAM`-authorised
 * and proxied to the one `api` function, with a request validator, a stage with JSON access logs
 * and method throttling, and API Gateway's own errors shaped as RFC 9457 problem documents.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_SETTINGS } from '../../functions/shared/definitions.ts';

/** The routes of docs/api.md, under {@link API_SETTINGS.basePath}; nothing else is exposed (no ANY, no proxy). */
export const API_ROUTES = [
  { path: '/groups', methods: ['GET', 'POST'] },
  { path: '/groups/{id}', methods: ['GET', 'PATCH'] },
  { path: '/groups/{id}/cancel', methods: ['POST'] },
  { path: '/groups/{id}/retry', methods: ['POST'] },
  { path: '/groups/{id}/history', methods: ['GET'] },
  { path: '/dead-letters', methods: ['GET'] },
  { path: '/dead-letters/redrive', methods: ['POST'] },
  { path: '/lanes', methods: ['GET'] },
  { path: '/lanes/show', methods: ['GET'] },
  { path: '/lanes/pause', methods: ['POST'] },
  { path: '/lanes/resume', methods: ['POST'] },
  { path: '/lanes/set', methods: ['POST'] },
  { path: '/webhooks', methods: ['GET', 'POST'] },
  { path: '/webhooks/{id}', methods: ['GET', 'DELETE'] },
  { path: '/freezes', methods: ['GET', 'POST'] },
  { path: '/freezes/{id}', methods: ['GET', 'DELETE'] },
  { path: '/openapi.json', methods: ['GET'] },
] as const;

/** The query parameters of `GET /v1/groups` (docs/api.md, "Listing"); all optional. */
const LIST_QUERY = ['status', 'repository', 'targetBranch', 'dueAfter', 'dueBefore', 'limit', 'cursor'] as const;

/** The stage every route is deployed to: the `ApiUrl` output ends with it. */
export const API_STAGE_NAME = 'prod';

/** `type` of the problem documents API Gateway itself answers (the function answers its own). */
export const GATEWAY_PROBLEM_TYPE = 'urn:promotion-scheduler:problem:gateway';

/**
 * API Gateway's own errors this API can produce, with their status (the type's default, repeated
 * so the body can name it) and a title. The rest fall back to DEFAULT_4XX / DEFAULT_5XX.
 * With AWS_IAM on every method, an unsigned request and an unknown route both get
 * MISSING_AUTHENTICATION_TOKEN (403): API Gateway checks the route after the signature.
 */
const GATEWAY_ERRORS: readonly { type: apigateway.ResponseType; status: number; title: string }[] = [
  { type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, status: 403, title: 'The request is not signed, or there is no such route' },
  { type: apigateway.ResponseType.INVALID_SIGNATURE, status: 403, title: 'The request signature is not valid' },
  { type: apigateway.ResponseType.EXPIRED_TOKEN, status: 403, title: 'The credentials that signed the request have expired' },
  { type: apigateway.ResponseType.ACCESS_DENIED, status: 403, title: 'The caller may not invoke this method' },
  { type: apigateway.ResponseType.UNAUTHORIZED, status: 401, title: 'The caller is not authenticated' },
  { type: apigateway.ResponseType.BAD_REQUEST_PARAMETERS, status: 400, title: 'The request parameters are not valid' },
  { type: apigateway.ResponseType.BAD_REQUEST_BODY, status: 400, title: 'The request body is not valid' },
  { type: apigateway.ResponseType.REQUEST_TOO_LARGE, status: 413, title: 'The request is too large' },
  { type: apigateway.ResponseType.UNSUPPORTED_MEDIA_TYPE, status: 415, title: 'The media type is not supported' },
  { type: apigateway.ResponseType.THROTTLED, status: 429, title: 'Too many requests' },
  { type: apigateway.ResponseType.QUOTA_EXCEEDED, status: 429, title: 'The request quota is used up' },
  { type: apigateway.ResponseType.API_CONFIGURATION_ERROR, status: 500, title: 'The API is misconfigured' },
  { type: apigateway.ResponseType.INTEGRATION_FAILURE, status: 504, title: 'The API function failed' },
  { type: apigateway.ResponseType.INTEGRATION_TIMEOUT, status: 504, title: 'The API function did not answer in time' },
];

/**
 * A problem document as a gateway response template (simple `$context` substitution, no VTL).
 * `messageString` is the message as a quoted JSON string. A fallback (DEFAULT_4XX/5XX) carries no
 * `status`: API Gateway offers no variable for it, and RFC 9457 makes the member optional
 * (changing a fallback's status code would change every response inheriting from it).
 */
function problemTemplate(title: string, status?: number): string {
  return (
    `{"type":"${GATEWAY_PROBLEM_TYPE}","title":"${title}",${status === undefined ? '' : `"status":${status},`}` +
    '"detail":$context.error.messageString,"responseType":"$context.error.responseType","requestId":"$context.requestId"}'
  );
}

/** One JSON object per request; `$context.error.message` is quoted (it holds no quotes in practice). */
const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: apigateway.AccessLogField.contextRequestId(),
  extendedRequestId: apigateway.AccessLogField.contextExtendedRequestId(),
  requestTime: apigateway.AccessLogField.contextRequestTime(),
  ip: apigateway.AccessLogField.contextIdentitySourceIp(),
  caller: apigateway.AccessLogField.contextIdentityCaller(),
  user: apigateway.AccessLogField.contextIdentityUser(),
  userArn: apigateway.AccessLogField.contextIdentityUserArn(),
  userAgent: apigateway.AccessLogField.contextIdentityUserAgent(),
  httpMethod: apigateway.AccessLogField.contextHttpMethod(),
  resourcePath: apigateway.AccessLogField.contextResourcePath(),
  path: apigateway.AccessLogField.contextPath(),
  protocol: apigateway.AccessLogField.contextProtocol(),
  status: apigateway.AccessLogField.contextStatus(),
  responseLength: apigateway.AccessLogField.contextResponseLength(),
  responseLatency: apigateway.AccessLogField.contextResponseLatency(),
  integrationStatus: apigateway.AccessLogField.contextIntegrationStatus(),
  integrationLatency: apigateway.AccessLogField.contextIntegrationLatency(),
  errorMessage: apigateway.AccessLogField.contextErrorMessage(),
  errorResponseType: apigateway.AccessLogField.contextErrorResponseType(),
};
export const ACCESS_LOG_FORMAT = `{${Object.entries(ACCESS_LOG_FIELDS).map(([name, field]) => `"${name}":"${field}"`).join(',')}}`;

export interface SchedulerApiProps {
  /** The function behind every route (Lambda proxy integration). */
  handler: IFunction;
  /** Stage method throttling: steady requests per second, and the burst above it. */
  throttleRateLimit: number;
  throttleBurstLimit: number;
  /** Retention and removal policy of the access log group. */
  logRetentionDays: number;
  removalPolicy: RemovalPolicy;
}

/** The REST API, its `prod` stage and access log group. {@link SchedulerApi.url} is the stage URL. */
export class SchedulerApi extends Construct {
  readonly restApi: apigateway.RestApi;
  readonly stage: apigateway.Stage;
  readonly accessLogs: LogGroup;
  /** The stage's base URL, without a trailing slash (`https://<id>.execute-api.<region>.amazonaws.com/prod`). */
  readonly url: string;

  constructor(scope: Construct, id: string, props: SchedulerApiProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: props.removalPolicy,
    });

    this.restApi = new apigateway.RestApi(this, 'RestApi', {
      restApiName: `${stack.stackName}-api`,
      description: 'promotion-scheduler: create and steer promotion groups (docs/api.md)',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // RestApi's own deployment: its logical id hashes every method and gateway response, so any
      // change to them redeploys the stage.
      deployOptions: {
        stageName: API_STAGE_NAME,
        description: 'promotion-scheduler API',
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        // Execution logs for errors only, never request or response bodies.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
      },
      // API Gateway writes logs through one role per account and region (AWS::ApiGateway::Account).
      // Kept on destroy whatever removalPolicy says: other APIs in the account may log through it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
    });

    // Checks what a method declares (the path id). Bodies are checked only against a model, and
    // none is attached: the function validates every field and names each bad one (api.md, Errors).
    const validator = this.restApi.addRequestValidator('Validator', {
      requestValidatorName: 'parameters-and-body',
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integration = new apigateway.LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false });
    for (const route of API_ROUTES) {
      const resource = this.restApi.root.resourceForPath(`${API_SETTINGS.basePath}${route.path}`);
      for (const method of route.methods) {
        const requestParameters: Record<string, boolean> = {};
        if (route.path.includes('{id}')) requestParameters['method.request.path.id'] = true;
        if (route.path === '/groups' && method === 'GET') {
          for (const name of LIST_QUERY) requestParameters[`method.request.querystring.${name}`] = false;
        }
        if (route.path === '/dead-letters') requestParameters['method.request.querystring.limit'] = false;
        if (route.path === '/lanes') for (const name of ['limit', 'cursor']) requestParameters[`method.request.querystring.${name}`] = false;
        if (route.path === '/lanes/show') for (const name of ['repository', 'targetBranch']) requestParameters[`method.request.querystring.${name}`] = false;
        resource.addMethod(method, integration, {
          authorizationType: apigateway.AuthorizationType.IAM,
          requestValidator: validator,
          requestParameters,
        });
      }
    }

    const problemHeaders = { 'Content-Type': "'application/problem+json'" };
    for (const { type, status, title } of GATEWAY_ERRORS) {
      this.restApi.addGatewayResponse(type.responseType, {
        type,
        statusCode: String(status),
        responseHeaders: problemHeaders,
        templates: { 'application/json': problemTemplate(title, status) },
      });
    }
    for (const [type, title] of [
      [apigateway.ResponseType.DEFAULT_4XX, 'The API gateway refused the request'],
      [apigateway.ResponseType.DEFAULT_5XX, 'The API gateway failed to answer'],
    ] as const) {
      this.restApi.addGatewayResponse(type.responseType, {
        type,
        responseHeaders: problemHeaders,
        templates: { 'application/json': problemTemplate(title) },
      });
    }

    this.stage = this.restApi.deploymentStage;
    // The stack's ApiUrl output (no trailing slash) replaces the one RestApi adds (`…/prod/`).
    this.restApi.node.tryRemoveChild('Endpoint');
    this.url = `https://${this.restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}/${this.stage.stageName}`;

    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are services and operators with IAM roles, not Cognito users: every method is AWS_IAM-authorised (SigV4).',
    });
    Validations.of(this.stage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'An IAM-authenticated service-to-service API, throttled at the stage; whether to put AWS WAF in front of it is an account-level choice left to the deployer.',
    });
    Validations.of(this.restApi.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-wide logging role serves every REST API in the account and region, so it cannot be scoped to this API's log groups; AWS maintains this policy for exactly that role.",
    });
  }
}
