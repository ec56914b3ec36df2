/**
 * Api function: API Gateway's Lambda proxy event (REST API) in, the router's answer out. The
 * local stack's loopback server builds the same event and calls the same handler.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createApiRouter, type ApiRequest, type ApiRouterDeps } from '../http/router.ts';
import { lambdaEntry } from '../root/lambda.ts';

export type ApiHandlerDeps = ApiRouterDeps;

export type ApiHandler = (event: APIGatewayProxyEvent, context?: Context) => Promise<APIGatewayProxyResult>;

/**
 * The request as the router reads it. The path is the resource path with the stage left out
 * (`event.path`, e.g. `/v1/groups/abc`); a header or parameter given twice keeps every value.
 */
export function requestFromEvent(event: APIGatewayProxyEvent): ApiRequest {
  const headers: Record<string, string> = {};
  const repeatedHeaders: string[] = [];
  const multi = event.multiValueHeaders ?? {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    const values = multi[name];
    if (values && values.length > 1) repeatedHeaders.push(name.toLowerCase());
    headers[name.toLowerCase()] = values && values.length > 1 ? values.join(', ') : value;
  }
  // requestContext.path is the caller's path (`/prod/v1/groups`), event.path the API's (`/v1/groups`).
  const callerPath = event.requestContext?.path;
  const prefix = callerPath && callerPath !== event.path && callerPath.endsWith(event.path) ? callerPath.slice(0, -event.path.length) : '';
  const query: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) if (values) query[name] = [...values];
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined && !query[name]) query[name] = [value];
  const body = event.body === null || event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const userArn = event.requestContext?.identity?.userArn;
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    query,
    headers,
    body,
    prefix,
    ...(repeatedHeaders.length ? { repeatedHeaders } : {}),
    ...(userArn ? { principal: `iam:${userArn}` } : {}),
    ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
  };
}

/** The handler around any use cases (tests inject their own). */
export function createHandler(deps: ApiHandlerDeps): ApiHandler {
  const route = createApiRouter(deps);
  return async (event) => {
    const answer = await route(requestFromEvent(event));
    return { statusCode: answer.status, headers: answer.headers, body: answer.body };
  };
}

export const handler: ApiHandler = lambdaEntry((scheduler) => createHandler(scheduler.api()));
