// The process's Prometheus registry (prom-client's default one), served at GET /metrics.
// Modules register their gauges and counters on it; nothing here knows what they measure.

import { register } from 'prom-client';

export const metricsRegistry = register;
