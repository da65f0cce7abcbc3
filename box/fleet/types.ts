/** Config types the fleet box reads (from the environment schema, so they follow it). */
import type { EnvironmentConfig } from '../../config/schema.js';

/** `loadBalancer.healthCheck`: path, interval, response timeout, thresholds. */
export type HealthCheckConfig = EnvironmentConfig['loadBalancer']['healthCheck'];
