// bench:serialization — writing the JSON of GET /v1/tasks?limit=50 (50 tasks and a cursor):
// fast-json-stringify on the response schema as written (what Fastify does by default) against
// the same schema rewritten for output (src/http/serialization.ts), alternating rounds in one
// process. Both must write the same bytes; the bench refuses to run otherwise.

import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import { Type } from 'typebox';
import { TaskView } from '../src/domain/tasks/tasks.schemas.js';
import { NextCursor } from '../src/http/page.schemas.js';
import { forOutput } from '../src/http/serialization.js';
import { machine, median } from './support/bench-harness.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const RESPONSES_PER_ROUND = 20_000;
const STATUSES = ['todo', 'in_progress', 'done'] as const;

const schema = Type.Object({ data: Type.Array(TaskView), nextCursor: NextCursor }) as unknown as Schema;
// As the list route sends it: every other task unassigned, a third of them done, a cursor.
const page = {
  data: Array.from({ length: 50 }, (_, n) => ({
    id: randomUUID(),
    projectId: randomUUID(),
    title: `Task ${n}`,
    description: `Description of task ${n} of tenant 5`,
    status: STATUSES[n % 3]!,
    assigneeId: n % 2 === 0 ? randomUUID() : null,
    createdBy: randomUUID(),
    createdAt: new Date(Date.now() - n * 60_000).toISOString(),
    updatedAt: new Date(Date.now() - n * 60_000).toISOString(),
  })),
  nextCursor: Buffer.from(JSON.stringify(['2026-12-03T10:27:18.123456Z', randomUUID(), 'desc'])).toString('base64url'),
};

const sides = { asWritten: fastJsonStringify(schema), forOutput: fastJsonStringify(forOutput(schema) as Schema) };
if (sides.asWritten(page) !== sides.forOutput(page)) throw new Error('the two serializers write different JSON');

function microsecondsPerResponse(serialize: (value: unknown) => string): number {
  const started = performance.now();
  for (let i = 0; i < RESPONSES_PER_ROUND; i++) serialize(page);
  return ((performance.now() - started) * 1000) / RESPONSES_PER_ROUND;
}

for (const serialize of Object.values(sides)) microsecondsPerResponse(serialize); // warm-up: both optimized

const rounds: Array<{ round: number; asWritten: number; forOutput: number; loadAverage: number }> = [];
for (let round = 1; round <= ROUNDS; round++) {
  // Alternating which goes first, so neither always runs on the warmer machine.
  const first = round % 2 === 1 ? 'asWritten' : 'forOutput';
  const second = first === 'asWritten' ? 'forOutput' : 'asWritten';
  const times = { [first]: microsecondsPerResponse(sides[first]), [second]: microsecondsPerResponse(sides[second]) } as Record<keyof typeof sides, number>;
  rounds.push({ round, asWritten: times.asWritten, forOutput: times.forOutput, loadAverage: loadavg()[0]! });
  console.log(`round ${round}: as written ${times.asWritten.toFixed(1)} µs, for output ${times.forOutput.toFixed(1)} µs per response`);
}

const result = {
  benchmark: 'serialization',
  date: new Date().toISOString(),
  machine: machine(),
  setup: { response: 'GET /v1/tasks?limit=50: 50 tasks and a cursor', bytes: Buffer.byteLength(sides.forOutput(page)), rounds: ROUNDS, responsesPerRound: RESPONSES_PER_ROUND },
  microsecondsPerResponse: { asWritten: median(rounds.map((r) => r.asWritten)), forOutput: median(rounds.map((r) => r.forOutput)) },
  forOutputToAsWritten: median(rounds.map((r) => r.forOutput / r.asWritten)),
  rounds,
};
console.log(
  `median: as written ${result.microsecondsPerResponse.asWritten.toFixed(1)} µs, for output ${result.microsecondsPerResponse.forOutput.toFixed(1)} µs ` +
    `(${result.forOutputToAsWritten.toFixed(2)}×), load ${rounds.map((r) => r.loadAverage.toFixed(1)).join(' ')}`,
);
await writeFile(new URL('./results/serialization.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
