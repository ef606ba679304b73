// Every check of the suite, in report order.
import type { Check } from '../lib/check.js';
import { daprChecks } from './dapr.js';
import { eventChecks } from './events.js';
import { exposureChecks } from './exposure.js';
import { frontendChecks } from './frontend.js';
import { healthChecks } from './health.js';
import { journeyChecks } from './journey.js';
import { kafkaChecks } from './kafka.js';
import { networkChecks } from './network.js';
import { performanceChecks } from './performance.js';
import { podChecks } from './pods.js';
import { resourceChecks } from './resources.js';
import { secretChecks } from './secrets.js';

export const allChecks: Check[] = [
  ...podChecks,
  ...daprChecks,
  ...frontendChecks,
  ...healthChecks,
  ...kafkaChecks,
  ...eventChecks,
  ...secretChecks,
  ...exposureChecks,
  ...networkChecks,
  ...resourceChecks,
  ...performanceChecks,
  ...journeyChecks,
];
