// MurmurHash3 (x86, 32-bit) of a string's UTF-8 bytes: the stable hash rollouts bucket by.
// Same input, same bucket, on every instance and after every restart.

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function scrambleTail(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function hashBytes(bytes: ArrayLike<number>, length: number, seed: number): number {
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mix(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = length & 3;
  let k = 0;
  if (rest === 3) k ^= bytes[blocks + 2]! << 16;
  if (rest >= 2) k ^= bytes[blocks + 1]! << 8;
  if (rest >= 1) h ^= scrambleTail(k ^ bytes[blocks]!);
  return finish(h, length);
}

/** ASCII strings (ids and keys) are hashed without encoding; anything else as UTF-8 bytes. */
export function murmur3(text: string, seed = 0): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      const bytes = Buffer.from(text, 'utf8');
      return hashBytes(bytes, bytes.length, seed);
    }
  }
  return hashAscii(text, seed);
}

function hashAscii(text: string, seed: number): number {
  let h = seed | 0;
  const length = text.length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    h = mix(h, text.charCodeAt(i) | (text.charCodeAt(i + 1) << 8) | (text.charCodeAt(i + 2) << 16) | (text.charCodeAt(i + 3) << 24));
  }
  const rest = length & 3;
  let k = 0;
  if (rest === 3) k ^= text.charCodeAt(blocks + 2) << 16;
  if (rest >= 2) k ^= text.charCodeAt(blocks + 1) << 8;
  if (rest >= 1) h ^= scrambleTail(k ^ text.charCodeAt(blocks));
  return finish(h, length);
}

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const COLON = 0x3a;

/** Character `i` of `head:tail`, read from the two parts. */
function joinedCharAt(head: string, tail: string, i: number): number {
  const n = head.length;
  return i < n ? head.charCodeAt(i) : i === n ? COLON : tail.charCodeAt(i - n - 1);
}

/**
 * murmur3(`${head}:${tail}`) without building that string: a rollout hashes one per
 * evaluation, and joining allocated it and made V8 flatten it before the first charCodeAt.
 * Read as ASCII while every character is; otherwise hashed from the UTF-8 of the join.
 */
function murmur3Joined(head: string, tail: string): number {
  let h = 0;
  let seen = 0;
  const length = head.length + 1 + tail.length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const c0 = joinedCharAt(head, tail, i);
    const c1 = joinedCharAt(head, tail, i + 1);
    const c2 = joinedCharAt(head, tail, i + 2);
    const c3 = joinedCharAt(head, tail, i + 3);
    seen |= c0 | c1 | c2 | c3;
    h = mix(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const rest = length & 3;
  let k = 0;
  for (let i = blocks + rest - 1; i >= blocks; i--) {
    const c = joinedCharAt(head, tail, i);
    seen |= c;
    k ^= c << ((i - blocks) * 8);
  }
  if (seen > 0x7f) return murmur3(`${head}:${tail}`);
  if (rest > 0) h ^= scrambleTail(k);
  return finish(h, length);
}

/** A rollout bucket in 0..9999 (hundredths of a percent) for `flagKey:attributeValue`. */
export function rolloutBucket(flagKey: string, attributeValue: string): number {
  return murmur3Joined(flagKey, attributeValue) % 10_000;
}
