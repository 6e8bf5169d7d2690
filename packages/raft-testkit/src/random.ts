const twoTo32 = 0x1_0000_0000;
/** An odd constant near 2^32 / φ: stepping by it visits every 32-bit state before repeating. */
const weylStep = 0x9e37_79b9;

/** A 32-bit avalanche mix: every input bit flips about half of the output bits. */
function mix32(x: number): number {
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small deterministic source of uniform numbers in [0, 1), for `Config.random`, the `Network`'s
 * drop decisions and randomized tests: the same seed always gives the same sequence, so a failing
 * run can be replayed from its seed. Not for cryptography.
 *
 * A counter advanced by a fixed odd step, passed through an avalanche mix, so that nearby seeds
 * (`seed + id`) still give unrelated sequences.
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  // Fold the high bits in, so that seeds differing only above 2^32 differ too.
  const high = Math.floor(seed / twoTo32);
  let state = mix32((seed >>> 0) ^ mix32(high >>> 0));
  return () => {
    state = (state + weylStep) >>> 0;
    return mix32(state) / twoTo32;
  };
}
