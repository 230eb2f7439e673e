// Narrate: recalled memories woven into a chronological account, by the server alone (no
// model). Memories are ordered by when they were stored, grouped by day, and each day becomes
// a paragraph; the structured form carries the same events for a client to lay out itself.

export interface NarratedMemory {
  readonly id: string;
  readonly agentId: string | null;
  readonly content: string;
  readonly tags: readonly string[];
  readonly createdAt: Date;
  readonly score: number;
}

export interface Narrative {
  readonly topic: string;
  readonly text: string;
  /** Oldest first. */
  readonly events: readonly NarratedMemory[];
  readonly from: Date | null;
  readonly to: Date | null;
}

const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/** A memory as a sentence: trimmed, ending in a full stop unless it ends in punctuation. */
function sentence(content: string): string {
  const text = content.trim().replace(/\s+/g, ' ');
  return /[.!?…"')\]]$/u.test(text) ? text : `${text}.`;
}

export function narrate(topic: string, memories: readonly NarratedMemory[]): Narrative {
  const events = [...memories].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  if (events.length === 0) return { topic, text: `Nothing is remembered about ${topic}.`, events, from: null, to: null };
  const days = new Map<string, string[]>();
  for (const event of events) {
    const day = DAY.format(event.createdAt);
    days.set(day, [...(days.get(day) ?? []), sentence(event.content)]);
  }
  const paragraphs = [...days].map(([day, sentences], i) => `${i === 0 ? 'On' : 'Then, on'} ${day}: ${sentences.join(' ')}`);
  const first = events[0]!.createdAt;
  const last = events[events.length - 1]!.createdAt;
  const span = days.size === 1 ? `on ${DAY.format(first)}` : `between ${DAY.format(first)} and ${DAY.format(last)}`;
  const heading = `What is remembered about ${topic}: ${events.length} ${events.length === 1 ? 'memory' : 'memories'}, ${span}.`;
  return { topic, text: [heading, ...paragraphs].join('\n\n'), events, from: first, to: last };
}
