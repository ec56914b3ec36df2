/**
 * Logger and Metrics, configured once for every function (manual instrumentation, no middy).
 * Service name and namespace come from telemetry-names.ts unless the environment sets
 * POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE. Locally and in tests,
 * POWERTOOLS_METRICS_DISABLED=true keeps EMF lines off the terminal.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SchedulerObserver } from '../core/observer.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from './telemetry-names.ts';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
export { MetricUnit };

/** The parts of Logger and Metrics the handlers use (so tests can pass spies). */
export type LoggerLike = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
export interface MetricsLike {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): void;
}

/** A logger that drops everything (local tools and tests that print their own lines). */
export const silentLogger: LoggerLike = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** Metrics that go nowhere. */
export const noMetrics: MetricsLike = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

/** One structured log line per transition (`groupId`, `from`, `to`, `attempt`, `lateMs`, `reason`). */
export function loggingObserver(log: LoggerLike = logger): SchedulerObserver {
  return {
    transition: (event) => log.info('transition', { ...event }),
    notice: (message, context) => log.warn(message, context),
  };
}
