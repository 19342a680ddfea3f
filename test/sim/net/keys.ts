// Seeded node identities: the same seed and label give the same Ed25519 key, so the same peer IDs,
// in every run of a seed (peer IDs end up in traces, orders and messages).
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { ed25519KeyFromSeed } from '../../../node/identity/keys.ts';
import type { SimRandom } from '../random.ts';

/** The Ed25519 key of `label` under `rand` (32 seed bytes from the fork `key:<label>`). */
export async function seededEd25519Key(rand: SimRandom, label: string): Promise<Ed25519PrivateKey> {
  return ed25519KeyFromSeed(rand.fork(`key:${label}`).bytes(32));
}
