// Preloaded (`node --import`) into a bench's server processes when their garbage collection is
// measured: over the IPC channel the bench sends "start" when a load begins and "stop" when it
// ends, and gets back what V8's collector did in between (v8.GCProfiler, one record per
// collection with the heap's spaces before and after). Minor collections (scavenges) are the
// ones a request server lives with; how much each promotes to the old generation, and how big
// the young generation was when it ran, tell whether a request's objects die young.

import { GCProfiler } from 'node:v8';

const MB = 2 ** 20;

/** @param {readonly { spaceName: string; spaceSize: number; spaceUsedSize: number }[]} spaces */
function space(spaces, name) {
  return spaces.find((entry) => entry.spaceName === name) ?? { spaceSize: 0, spaceUsedSize: 0 };
}

/** @param {{ statistics: readonly any[] }} profile */
export function summarizeGc(profile) {
  const scavenges = profile.statistics.filter((gc) => gc.gcType === 'Scavenge');
  const majors = profile.statistics.filter((gc) => gc.gcType === 'MarkSweepCompact');
  const promoted = scavenges.map((gc) => {
    const before = space(gc.beforeGC.heapSpaceStatistics, 'old_space').spaceUsedSize;
    return Math.max(0, space(gc.afterGC.heapSpaceStatistics, 'old_space').spaceUsedSize - before);
  });
  const newSpaceSizes = scavenges.map((gc) => space(gc.beforeGC.heapSpaceStatistics, 'new_space').spaceSize).sort((a, b) => a - b);
  const sum = (values) => values.reduce((total, value) => total + value, 0);
  return {
    scavenges: scavenges.length,
    // GCProfiler's cost is in microseconds.
    scavengeMs: sum(scavenges.map((gc) => gc.cost)) / 1000,
    promotedMB: sum(promoted) / MB,
    /** The young generation's size at the median scavenge: V8 shrinks it after an idle spell. */
    newSpaceMB: newSpaceSizes.length ? newSpaceSizes[Math.floor(newSpaceSizes.length / 2)] / MB : 0,
    markCompacts: majors.length,
    markCompactMs: sum(majors.map((gc) => gc.cost)) / 1000,
  };
}

if (process.send) {
  let profiler;
  process.on('message', (message) => {
    if (message?.gcMeter === 'start') {
      profiler = new GCProfiler();
      profiler.start();
    } else if (message?.gcMeter === 'stop' && profiler) {
      const profile = profiler.stop();
      profiler = undefined;
      process.send({ gcMeter: summarizeGc(profile) });
    }
  });
  // The channel must not keep a server alive that has been told to stop.
  process.channel?.unref();
}
